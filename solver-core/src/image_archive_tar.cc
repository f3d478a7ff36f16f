// Tar in and out for the image archives, through libarchive.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "archive_error.h"
#include "image_archive_io.h"
#include "path_util.h"

namespace kiln::solver::internal {
namespace {

// The target of symlink `path` -> `target`, relative to the archive root.
Result<std::string> ResolveSymlink(const std::string& path,
                                   std::string_view target) {
  auto escape = [&] {
    return InvalidArgumentError("archive entry \"" + path +
                                "\": link target \"" + std::string(target) +
                                "\" escapes the archive");
  };
  if (target.empty() || target.front() == '/') return escape();
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
  auto resolved = CleanPath(dir + "/" + std::string(target));
  if (!resolved) return escape();
  return JoinPath(*resolved);
}

}  // namespace

Result<std::string> CleanArchivePath(std::string_view raw) {
  if (!raw.empty() && raw.front() == '/') {
    return InvalidArgumentError("archive entry \"" + std::string(raw) +
                                "\" has an absolute path");
  }
  std::optional<std::string> clean = CleanPathWithoutDotDot(raw);
  if (!clean) {
    return InvalidArgumentError("archive entry \"" + std::string(raw) +
                                "\" escapes the archive");
  }
  return *std::move(clean);
}

// --- TarWriter
// ----------------------------------------------------------------

Result<std::unique_ptr<TarWriter>> TarWriter::Open(int fd, std::string label) {
  struct archive* a = archive_write_new();
  KILN_CHECK(a != nullptr, "archive_write_new failed");
  auto writer = std::unique_ptr<TarWriter>(new TarWriter(a, std::move(label)));
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_add_filter_none(a) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    return writer->Error("opening");
  }
  return writer;
}

TarWriter::~TarWriter() {
  // An unfinished archive must not get end-of-archive blocks: it is broken.
  if (!closed_) archive_write_fail(archive_);
  archive_write_free(archive_);
}

Status TarWriter::Error(std::string_view what) const {
  return InternalError("writing " + label_ + ": " + std::string(what) + " " +
                       current_ + ": " + ArchiveErrorText(archive_));
}

Status TarWriter::Header(const std::string& name, bool directory,
                         int64_t size) {
  if (remaining_ != 0 || closed_) {
    return InternalError("writing " + label_ + ": " + current_ +
                         " is unfinished");
  }
  current_ = name;
  struct archive_entry* e = archive_entry_new();
  KILN_CHECK(e != nullptr, "archive_entry_new failed");
  archive_entry_set_pathname(e,
                             directory ? (name + "/").c_str() : name.c_str());
  archive_entry_set_filetype(e, directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, directory ? 0755 : 0644);
  archive_entry_set_size(e, directory ? 0 : size);
  archive_entry_set_mtime(e, 0, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  int rc = archive_write_header(archive_, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return Error("writing the header of");
  remaining_ = directory ? 0 : size;
  return Status::Ok();
}

Status TarWriter::AddDirectory(const std::string& name) {
  KILN_RETURN_IF_ERROR(Header(name, /*directory=*/true, 0));
  return FinishFile();
}

Status TarWriter::BeginFile(const std::string& name, int64_t size) {
  return Header(name, /*directory=*/false, size);
}

Status TarWriter::Write(std::string_view data) {
  if (static_cast<int64_t>(data.size()) > remaining_) {
    return DataLossError("writing " + label_ + ": " + current_ +
                         " has more than its " + "expected size");
  }
  while (!data.empty()) {
    la_ssize_t n = archive_write_data(archive_, data.data(), data.size());
    if (n <= 0) return Error("writing");
    data.remove_prefix(static_cast<size_t>(n));
    remaining_ -= n;
  }
  return Status::Ok();
}

Status TarWriter::FinishFile() {
  if (remaining_ != 0) {
    return DataLossError("writing " + label_ + ": " + current_ + " is " +
                         std::to_string(remaining_) +
                         " bytes shorter than expected");
  }
  if (archive_write_finish_entry(archive_) != ARCHIVE_OK)
    return Error("finishing");
  return Status::Ok();
}

Status TarWriter::AddFile(const std::string& name, std::string_view data) {
  KILN_RETURN_IF_ERROR(BeginFile(name, static_cast<int64_t>(data.size())));
  KILN_RETURN_IF_ERROR(Write(data));
  return FinishFile();
}

Status TarWriter::Close() {
  if (remaining_ != 0) return FinishFile();
  current_ = "the end of the archive";
  if (archive_write_close(archive_) != ARCHIVE_OK) return Error("writing");
  closed_ = true;
  return Status::Ok();
}

// --- TarReader
// ----------------------------------------------------------------

Result<std::unique_ptr<TarReader>> TarReader::Open(const std::string& path) {
  struct archive* a = archive_read_new();
  KILN_CHECK(a != nullptr, "archive_read_new failed");
  std::string label = path == "-" ? "standard input" : path;
  auto reader = std::unique_ptr<TarReader>(new TarReader(a, label));
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  int rc = path == "-"
               ? archive_read_open_fd(a, 0, kArchiveChunk)
               : archive_read_open_filename(a, path.c_str(), kArchiveChunk);
  if (rc == ARCHIVE_OK) return reader;
  int err = archive_errno(a);
  if (err == ENOENT) return NotFoundError("archive " + label + " not found");
  if (err == EACCES || err == EISDIR || err == EIO) {
    return InternalError("opening archive " + label + ": " +
                         std::strerror(err));
  }
  return InvalidArgumentError("reading archive " + label +
                              ": not a tar archive: " + ArchiveErrorText(a));
}

TarReader::~TarReader() { archive_read_free(archive_); }

Result<bool> TarReader::Next(TarEntry* entry) {
  struct archive_entry* e = nullptr;
  int rc = archive_read_next_header(archive_, &e);
  if (rc == ARCHIVE_EOF) return false;
  if (rc < ARCHIVE_WARN) {
    return DataLossError(
        "reading archive " + label_ + " after " +
        (current_.empty() ? std::string("its start") : current_) + ": " +
        ArchiveErrorText(archive_));
  }
  const char* name = archive_entry_pathname(e);
  if (name == nullptr) {
    return InvalidArgumentError("reading archive " + label_ +
                                ": an entry has no usable name");
  }
  current_ = name;
  TarEntry out;
  KILN_ASSIGN_OR_RETURN(out.path, CleanArchivePath(name));
  out.size = archive_entry_size(e);
  const char* hardlink = archive_entry_hardlink(e);
  if (hardlink != nullptr) {
    out.type = TarEntry::Type::kHardlink;
    KILN_ASSIGN_OR_RETURN(out.link, CleanArchivePath(hardlink));
  } else if (archive_entry_filetype(e) == AE_IFREG) {
    out.type = TarEntry::Type::kFile;
  } else if (archive_entry_filetype(e) == AE_IFDIR) {
    out.type = TarEntry::Type::kDirectory;
  } else if (archive_entry_filetype(e) == AE_IFLNK) {
    out.type = TarEntry::Type::kSymlink;
    const char* target = archive_entry_symlink(e);
    KILN_ASSIGN_OR_RETURN(out.link,
                          ResolveSymlink(out.path, target ? target : ""));
  }
  *entry = std::move(out);
  return true;
}

Result<std::string_view> TarReader::Read() {
  la_ssize_t n = archive_read_data(archive_, buffer_.data(), buffer_.size());
  if (n < 0) {
    return DataLossError("reading archive " + label_ + ": entry " + current_ +
                         ": " + ArchiveErrorText(archive_));
  }
  return std::string_view(buffer_.data(), static_cast<size_t>(n));
}

}  // namespace kiln::solver::internal
