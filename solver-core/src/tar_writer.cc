#include "tar_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <memory>

#include "archive_error.h"
#include "sha256_hasher.h"

namespace kiln::solver::internal {
namespace {

// The archives of the pipeline: tar bytes are hashed (diff_id) and fed to a
// raw compressing archive (or straight to `out` when uncompressed) whose
// output goes to `out`.
struct Pipeline {
  Sha256Hasher diff_id;
  archive* gz = nullptr;  // null: no compression
  const DataSink* out = nullptr;
  Status error;
};

la_ssize_t SinkOutput(archive* /*a*/, void* ctx, const void* buf, size_t n) {
  auto* p = static_cast<Pipeline*>(ctx);
  Status s = (*p->out)(std::string_view(static_cast<const char*>(buf), n));
  if (!s.ok()) {
    if (p->error.ok()) p->error = s;
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

la_ssize_t TarOutput(archive* a, void* ctx, const void* buf, size_t n) {
  auto* p = static_cast<Pipeline*>(ctx);
  p->diff_id.Update(std::string_view(static_cast<const char*>(buf), n));
  if (p->gz == nullptr) return SinkOutput(a, ctx, buf, n);
  la_ssize_t written = archive_write_data(p->gz, buf, n);
  if (written < 0) {
    if (p->error.ok())
      p->error = InternalError("compressing: " + ArchiveErrorText(p->gz));
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Status ArchiveError(const Pipeline& p, archive* a, std::string_view what) {
  if (!p.error.ok()) return p.error.WithContext(what);
  return InternalError(std::string(what) + ": " + ArchiveErrorText(a));
}

std::unique_ptr<archive_entry, EntryDeleter> MakeEntry(const LayerEntry& in) {
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry* a = e.get();
  archive_entry_copy_pathname(a, in.path.c_str());
  archive_entry_set_perm(a, in.mode & 07777);
  archive_entry_set_uid(a, in.uid);
  archive_entry_set_gid(a, in.gid);
  archive_entry_set_mtime(a, in.mtime, 0);
  archive_entry_set_size(a, 0);
  switch (in.type) {
    case EntryType::kFile:
      archive_entry_set_filetype(a, AE_IFREG);
      archive_entry_set_size(a, in.size);
      break;
    case EntryType::kDir:
      archive_entry_set_filetype(a, AE_IFDIR);
      break;
    case EntryType::kSymlink:
      archive_entry_set_filetype(a, AE_IFLNK);
      archive_entry_copy_symlink(a, in.link.c_str());
      break;
    case EntryType::kHardlink:
      archive_entry_set_filetype(a, AE_IFREG);
      archive_entry_copy_hardlink(a, in.link.c_str());
      break;
    case EntryType::kCharDevice:
    case EntryType::kBlockDevice:
      archive_entry_set_filetype(
          a, in.type == EntryType::kCharDevice ? AE_IFCHR : AE_IFBLK);
      archive_entry_set_rdevmajor(a, in.dev_major);
      archive_entry_set_rdevminor(a, in.dev_minor);
      break;
    case EntryType::kFifo:
      archive_entry_set_filetype(a, AE_IFIFO);
      break;
  }
  for (const auto& [name, value] : in.xattrs) {
    archive_entry_xattr_add_entry(a, name.c_str(), value.data(), value.size());
  }
  return e;
}

Status WriteEntries(archive* tar, Pipeline& p,
                    const std::vector<LayerEntry>& entries,
                    const DataSource& data) {
  for (const auto& entry : entries) {
    auto e = MakeEntry(entry);
    if (archive_write_header(tar, e.get()) < ARCHIVE_WARN) {
      return ArchiveError(p, tar, "writing tar header of " + entry.path);
    }
    if (entry.type != EntryType::kFile || entry.size == 0) continue;
    int64_t total = 0;
    Status s = data(entry, [&](std::string_view chunk) -> Status {
      total += static_cast<int64_t>(chunk.size());
      if (total > entry.size) {
        return InternalError(entry.path + ": more than " +
                             std::to_string(entry.size) +
                             " bytes (file changed during import?)");
      }
      if (archive_write_data(tar, chunk.data(), chunk.size()) < 0) {
        return ArchiveError(p, tar, "writing tar data of " + entry.path);
      }
      return Status::Ok();
    });
    KILN_RETURN_IF_ERROR(s);
    if (total != entry.size) {
      return InternalError(entry.path + ": expected " +
                           std::to_string(entry.size) + " bytes, read " +
                           std::to_string(total) +
                           " (file changed during import?)");
    }
  }
  return Status::Ok();
}

}  // namespace

bool KeepXattr(std::string_view name) {
  return name != "security.selinux" && name.substr(0, 7) != "system.";
}

bool PathLess(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

void FinalizeEntries(std::vector<LayerEntry>* entries) {
  std::stable_sort(entries->begin(), entries->end(),
                   [](const LayerEntry& a, const LayerEntry& b) {
                     return PathLess(a.path, b.path);
                   });
  std::map<int64_t, int> uses;
  for (const auto& e : *entries) {
    if (e.type == EntryType::kFile && e.data_id >= 0) ++uses[e.data_id];
  }
  std::map<int64_t, std::string> first;
  for (auto& e : *entries) {
    if (e.type != EntryType::kFile || e.data_id < 0 || uses[e.data_id] < 2)
      continue;
    auto [it, inserted] = first.emplace(e.data_id, e.path);
    if (inserted) continue;
    e.type = EntryType::kHardlink;
    e.link = it->second;
    e.size = 0;
  }
}

Status WriteTarStream(const std::vector<LayerEntry>& entries,
                      const DataSource& data, oci::Compression compression,
                      const DataSink& out, Digest* diff_id) {
  Pipeline p;
  p.out = &out;

  ArchivePtr gz;
  if (compression != oci::Compression::kNone) {
    gz.reset(archive_write_new());
    p.gz = gz.get();
    archive_write_set_format_raw(gz.get());
    bool configured = false;
    if (compression == oci::Compression::kGzip) {
      // No mtime in the gzip header (libarchive writes no file name).
      configured = archive_write_add_filter_gzip(gz.get()) == ARCHIVE_OK &&
                   archive_write_set_filter_option(
                       gz.get(), "gzip", "timestamp", nullptr) == ARCHIVE_OK;
    } else {
      configured = archive_write_add_filter_zstd(gz.get()) == ARCHIVE_OK;
    }
    // Output is not padded to a block, so the blob ends with the trailer.
    if (!configured ||
        archive_write_set_bytes_per_block(gz.get(), 0) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(gz.get(), 1) != ARCHIVE_OK) {
      return ArchiveError(p, gz.get(), "configuring compression");
    }
    if (archive_write_open(gz.get(), &p, nullptr, SinkOutput, nullptr) !=
        ARCHIVE_OK) {
      return ArchiveError(p, gz.get(), "starting compression");
    }
    std::unique_ptr<archive_entry, EntryDeleter> raw(archive_entry_new());
    archive_entry_copy_pathname(raw.get(), "layer.tar");
    archive_entry_set_filetype(raw.get(), AE_IFREG);
    if (archive_write_header(gz.get(), raw.get()) != ARCHIVE_OK) {
      return ArchiveError(p, gz.get(), "starting compression");
    }
  }

  ArchivePtr tar(archive_write_new());
  archive_write_set_format_pax_restricted(tar.get());
  // SCHILY.xattr records only, as Go's archive/tar writes them.
  if (archive_write_set_format_option(tar.get(), "pax", "xattrheader",
                                      "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(tar.get(), 1) != ARCHIVE_OK) {
    return ArchiveError(p, tar.get(), "configuring tar");
  }
  if (archive_write_open(tar.get(), &p, nullptr, TarOutput, nullptr) !=
      ARCHIVE_OK) {
    return ArchiveError(p, tar.get(), "starting tar");
  }
  KILN_RETURN_IF_ERROR(WriteEntries(tar.get(), p, entries, data));
  if (archive_write_close(tar.get()) != ARCHIVE_OK)
    return ArchiveError(p, tar.get(), "closing tar");
  if (gz != nullptr && archive_write_close(gz.get()) != ARCHIVE_OK)
    return ArchiveError(p, gz.get(), "closing compression");
  if (!p.error.ok()) return p.error;
  if (diff_id != nullptr) *diff_id = p.diff_id.Finish();
  return Status::Ok();
}

Result<LayerBlob> WriteLayer(ContentStore& content,
                             const std::vector<LayerEntry>& entries,
                             const DataSource& data,
                             oci::Compression compression) {
  KILN_ASSIGN_OR_RETURN(auto out, content.WriterForUnknown());
  DataSink sink = [&](std::string_view chunk) { return out->Write(chunk); };
  LayerBlob blob;
  KILN_RETURN_IF_ERROR(
      WriteTarStream(entries, data, compression, sink, &blob.diff_id));
  KILN_RETURN_IF_ERROR(out->Commit());
  blob.digest = ContentStore::CommittedDigest(*out);
  blob.size = out->written();
  return blob;
}

Result<LayerBlob> WriteGzipLayer(ContentStore& content,
                                 const std::vector<LayerEntry>& entries,
                                 const DataSource& data) {
  return WriteLayer(content, entries, data, oci::Compression::kGzip);
}

}  // namespace kiln::solver::internal
