// LoadImages: streams the archive's entries into the content store
// (verified), then reads it as an OCI layout or a Docker archive and names
// the images once all of them checked out.
#include "image_archive_load.h"

#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "image_archive_io.h"
#include "image_document.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/image_archive.h"
#include "sha256_hasher.h"

namespace kiln::solver {
namespace internal {
namespace {

constexpr int64_t kMaxDocument = 20 << 20;  // as containerd's importer
constexpr int kMaxNesting = 8;
constexpr int kMaxLinkHops = 16;

bool IsDocument(const std::string& path) {
  return path == "oci-layout" || path == "index.json" ||
         path == "manifest.json" || path == "repositories";
}

// Old docker archives' per-layer v1 metadata: nothing kiln needs.
bool IsLegacyMetadata(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || path.rfind("blobs/", 0) == 0) return false;
  std::string base = path.substr(slash + 1);
  return base == "json" || base == "VERSION";
}

// The digest a blobs/<alg>/<hex> path names; invalid for other paths, and
// `skip` for blobs of algorithms the store cannot verify.
Digest NamedDigest(const std::string& path, bool* skip) {
  *skip = false;
  if (path.rfind("blobs/", 0) != 0) return Digest();
  std::string rest = path.substr(6);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return Digest();
  if (rest.substr(0, slash) != "sha256") {
    *skip = true;
    return Digest();
  }
  auto d = Digest::Parse(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
  return d.ok() ? *d : Digest();
}

oci::Compression Sniff(std::string_view head) {
  if (head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b')
    return oci::Compression::kGzip;
  if (head.size() >= 4 &&
      head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4)) {
    return oci::Compression::kZstd;
  }
  return oci::Compression::kNone;
}

// Streams the current entry into the store (or, when the named blob is
// already there, only hashes it: the archive must still be intact).
Status StageFile(ContentStore& content, TarReader& reader, const TarEntry& e,
                 const Digest& expected, StagedArchive* staged) {
  std::string head;
  StagedFile file;
  if (expected.valid() && content.Has(expected)) {
    Sha256Hasher hasher;
    for (;;) {
      KILN_ASSIGN_OR_RETURN(std::string_view chunk, reader.Read());
      if (chunk.empty()) break;
      if (head.size() < 4) head.append(chunk.substr(0, 4 - head.size()));
      hasher.Update(chunk);
      file.size += static_cast<int64_t>(chunk.size());
    }
    Digest got = hasher.Finish();
    if (got != expected) {
      return DataLossError("archive entry " + e.path +
                           ": digest mismatch: got " + got.str());
    }
    file.digest = expected;
  } else {
    auto writer = expected.valid() ? content.Writer(expected, e.size)
                                   : content.WriterForUnknown();
    if (!writer.ok())
      return writer.status().WithContext("archive entry " + e.path);
    for (;;) {
      KILN_ASSIGN_OR_RETURN(std::string_view chunk, reader.Read());
      if (chunk.empty()) break;
      if (head.size() < 4) head.append(chunk.substr(0, 4 - head.size()));
      Status s = (*writer)->Write(chunk);
      if (!s.ok()) return s.WithContext("archive entry " + e.path);
    }
    file.size = (*writer)->written();
    Status s = (*writer)->Commit();
    if (!s.ok()) return s.WithContext("archive entry " + e.path);
    file.digest =
        expected.valid() ? expected : ContentStore::CommittedDigest(**writer);
  }
  file.compression = Sniff(head);
  staged->links.erase(e.path);
  staged->files[e.path] = std::move(file);
  return Status::Ok();
}

Status Stage(ContentStore& content, TarReader& reader, StagedArchive* staged) {
  TarEntry e;
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool more, reader.Next(&e));
    if (!more) return Status::Ok();
    if (e.path.empty()) continue;
    if (e.type == TarEntry::Type::kSymlink ||
        e.type == TarEntry::Type::kHardlink) {
      staged->links[e.path] = e.link;
      continue;
    }
    if (e.type != TarEntry::Type::kFile || IsLegacyMetadata(e.path)) continue;
    if (IsDocument(e.path)) {
      if (e.size > kMaxDocument) {
        return InvalidArgumentError("archive entry " + e.path +
                                    " is too large (" + std::to_string(e.size) +
                                    " bytes)");
      }
      std::string data;
      for (;;) {
        KILN_ASSIGN_OR_RETURN(std::string_view chunk, reader.Read());
        if (chunk.empty()) break;
        data.append(chunk);
      }
      staged->documents[e.path] = std::move(data);
      continue;
    }
    bool skip = false;
    Digest expected = NamedDigest(e.path, &skip);
    if (!skip)
      KILN_RETURN_IF_ERROR(StageFile(content, reader, e, expected, staged));
  }
}

// DataLoss unless `d` and what it needs are in the store, by digest and size.
// Index children the archive leaves out are allowed (one-platform copies),
// as long as one is there.
Status CheckImage(const ContentStore& content, const oci::Descriptor& d,
                  bool document, int depth) {
  if (depth > kMaxNesting)
    return InvalidArgumentError("indexes nested too deeply");
  auto info = content.Info(d.digest);
  if (!info.ok())
    return DataLossError("blob " + d.digest.str() +
                         " is missing from the archive");
  if (info->size != d.size) {
    return DataLossError(
        "blob " + d.digest.str() + " is " + std::to_string(info->size) +
        " bytes, its descriptor says " + std::to_string(d.size));
  }
  if (!document) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(ImageDocument doc, ReadImageDocument(content, d));
  if (oci::IsManifestMediaType(doc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(doc.bytes));
    KILN_RETURN_IF_ERROR(CheckImage(content, m.config, false, depth + 1));
    for (const oci::Descriptor& layer : m.layers) {
      KILN_RETURN_IF_ERROR(CheckImage(content, layer, false, depth + 1));
    }
    return Status::Ok();
  }
  if (!oci::IsIndexMediaType(doc.media_type))
    return NotAnImageError(d.digest, doc.media_type);
  KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(doc.bytes));
  int present = 0;
  for (const oci::Descriptor& child : index.manifests) {
    if (!content.Has(child.digest)) continue;
    Status s = CheckImage(content, child, MayBeImageDocument(child.media_type),
                          depth + 1);
    if (!s.ok()) return s.WithContext("index " + d.digest.str());
    ++present;
  }
  if (present == 0) {
    return DataLossError("index " + d.digest.str() +
                         ": none of its manifests is in the archive");
  }
  return Status::Ok();
}

std::string Annotation(const oci::Descriptor& d, std::string_view key) {
  auto it = d.annotations.find(std::string(key));
  return it == d.annotations.end() ? std::string() : it->second;
}

Result<std::vector<NamedTarget>> OciArchiveTargets(const ContentStore& content,
                                                   const StagedArchive& staged,
                                                   const oci::Index& index,
                                                   const LoadOptions& options) {
  auto layout =
      nlohmann::json::parse(*staged.Document("oci-layout"), nullptr, false);
  if (!layout.is_object() || !layout.contains("imageLayoutVersion") ||
      !layout["imageLayoutVersion"].is_string()) {
    return InvalidArgumentError("oci-layout: not an OCI image layout file");
  }
  std::vector<NamedTarget> out;
  for (size_t i = 0; i < index.manifests.size(); ++i) {
    const oci::Descriptor& d = index.manifests[i];
    std::string what = "index.json entry " + std::to_string(i);
    Status s = CheckImage(content, d, true, 0);
    if (!s.ok()) return s.WithContext(what);
    KILN_ASSIGN_OR_RETURN(
        std::string name,
        EntryName(Annotation(d, oci::kAnnotationImageName),
                  Annotation(d, oci::kAnnotationRefName), options, what));
    out.push_back(NamedTarget{std::move(name), d});
  }
  return out;
}

Result<std::vector<NamedTarget>> ArchiveTargets(ContentStore& content,
                                                const StagedArchive& staged,
                                                const LoadOptions& options) {
  const std::string* index_json = staged.Document("index.json");
  bool oci = staged.Document("oci-layout") != nullptr && index_json != nullptr;
  bool docker = staged.Document("manifest.json") != nullptr;
  if (oci) {
    auto index = oci::ParseIndex(*index_json);
    if (!index.ok()) return index.status().WithContext("index.json");
    // A docker 25 archive of untagged images names them in manifest.json only.
    if (!index->manifests.empty() || !docker) {
      return OciArchiveTargets(content, staged, *index, options);
    }
  }
  if (docker) return DockerArchiveTargets(content, staged, options);
  return InvalidArgumentError(
      "not an image archive: it has neither oci-layout and index.json nor "
      "manifest.json");
}

}  // namespace

const StagedFile* StagedArchive::Find(const std::string& path) const {
  auto cleaned = CleanArchivePath(path);
  if (!cleaned.ok()) return nullptr;
  std::string current = *cleaned;
  for (int hop = 0; hop <= kMaxLinkHops; ++hop) {
    if (auto it = files.find(current); it != files.end()) return &it->second;
    auto link = links.find(current);
    if (link == links.end()) return nullptr;
    current = link->second;
  }
  return nullptr;
}

const std::string* StagedArchive::Document(const std::string& name) const {
  auto it = documents.find(name);
  return it == documents.end() ? nullptr : &it->second;
}

Result<std::string> EntryName(const std::string& image_name,
                              const std::string& ref_name,
                              const LoadOptions& options,
                              const std::string& what) {
  std::string name = image_name;
  bool bare_tag = false;
  if (name.empty() && ref_name.find_first_of(":/@") != std::string::npos)
    name = ref_name;
  if (name.empty() && !ref_name.empty()) bare_tag = true;
  if (name.empty()) {
    if (options.name.empty()) {
      std::string has = bare_tag ? " names only the tag \"" + ref_name + "\""
                                 : " has no name";
      return InvalidArgumentError(
          what + has + "; give a name to load it under (e.g. example.com/app)");
    }
    auto base = llb::ParseImageReference(options.name);
    if (!base.ok()) return base.status().WithContext("load name");
    name = options.name;
    if (bare_tag && base->tag.empty() && base->digest.empty())
      name += ":" + ref_name;
  }
  auto ref = llb::ParseImageReference(name);
  if (!ref.ok()) return ref.status().WithContext(what);
  return llb::TagNameOnly(*ref).String();
}

}  // namespace internal

Result<std::vector<ImageRecord>> LoadImages(ImageStore& store,
                                            const std::string& in_path,
                                            const LoadOptions& options) {
  std::string label = in_path == "-" ? "standard input" : in_path;
  std::string context = "loading " + label;
  // The loaded blobs are unnamed until the end: keep image removal off them.
  KILN_ASSIGN_OR_RETURN(BlobLease lease, store.HoldBlobs());
  auto reader = internal::TarReader::Open(in_path);
  if (!reader.ok()) return reader.status().WithContext(context);
  internal::StagedArchive staged;
  Status staged_ok = internal::Stage(store.content(), **reader, &staged);
  if (!staged_ok.ok()) return staged_ok.WithContext(context);
  reader->reset();

  auto targets = internal::ArchiveTargets(store.content(), staged, options);
  if (!targets.ok()) return targets.status().WithContext(context);
  if (targets->empty())
    return InvalidArgumentError(context + ": the archive holds no images");
  std::map<std::string, Digest> named;
  std::vector<const internal::NamedTarget*> unique;
  for (const internal::NamedTarget& t : *targets) {
    auto [it, inserted] = named.emplace(t.name, t.target.digest);
    if (inserted) {
      unique.push_back(&t);
    } else if (it->second != t.target.digest) {
      return InvalidArgumentError(context +
                                  ": two different images are named " + t.name);
    }
  }
  // Every image checked out: name them.
  std::vector<ImageRecord> out;
  for (const internal::NamedTarget* t : unique) {
    Status s = store.Put(t->name, t->target);
    if (!s.ok()) return s.WithContext(context);
    auto record = store.Get(t->name);
    if (!record.ok()) return record.status().WithContext(context);
    out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace kiln::solver
