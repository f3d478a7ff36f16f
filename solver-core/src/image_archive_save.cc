// SaveImages, the OCI archive plan and the writing of any plan.
#include <utility>

#include "image_archive_io.h"
#include "image_archive_plan.h"
#include "image_document.h"
#include "kiln/solver/image_archive.h"
#include "sha256_hasher.h"

namespace kiln::solver {
namespace internal {
namespace {

constexpr int kMaxNesting = 8;  // index → index → … depth we follow

constexpr std::string_view kOciLayout = R"({"imageLayoutVersion":"1.0.0"})";

// Adds `d` and what it references. Children of an index that the store does
// not hold are skipped (a single-platform pull keeps one child); anything
// else must be present.
Status AddTree(const ContentStore& content, const oci::Descriptor& d,
               bool document, int depth, ArchivePlan* plan) {
  if (depth > kMaxNesting)
    return InvalidArgumentError("indexes nested too deeply");
  KILN_RETURN_IF_ERROR(AddStoredBlob(content, d.digest, d.size, plan));
  if (!document) return Status::Ok();
  if (!MayBeImageDocument(d.media_type))
    return Status::Ok();  // an artifact blob: a leaf
  KILN_ASSIGN_OR_RETURN(ImageDocument doc, ReadImageDocument(content, d));
  if (oci::IsManifestMediaType(doc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(doc.bytes));
    KILN_RETURN_IF_ERROR(AddTree(content, m.config, false, depth + 1, plan));
    for (const oci::Descriptor& layer : m.layers) {
      KILN_RETURN_IF_ERROR(AddTree(content, layer, false, depth + 1, plan));
    }
    return Status::Ok();
  }
  if (!oci::IsIndexMediaType(doc.media_type)) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(doc.bytes));
  int present = 0;
  for (const oci::Descriptor& child : index.manifests) {
    if (!content.Has(child.digest)) continue;
    Status s = AddTree(content, child, true, depth + 1, plan);
    if (!s.ok()) return s.WithContext("index " + d.digest.str());
    ++present;
  }
  if (present == 0) {
    return NotFoundError("index " + d.digest.str() +
                         ": none of its manifests is in the content store");
  }
  return Status::Ok();
}

}  // namespace

std::string BlobPath(const Digest& digest) {
  return "blobs/" + std::string(digest.algorithm()) + "/" +
         std::string(digest.hex());
}

void AddDirectories(ArchivePlan* plan) {
  (*plan)["blobs"] = ArchiveRecord{};
  (*plan)["blobs/sha256"] = ArchiveRecord{};
}

void AddBytes(ArchivePlan* plan, const std::string& path, std::string bytes) {
  ArchiveRecord r;
  r.kind = ArchiveRecord::Kind::kBytes;
  r.bytes = std::move(bytes);
  (*plan)[path] = std::move(r);
}

oci::Descriptor AddDocument(ArchivePlan* plan, std::string_view media_type,
                            std::string bytes) {
  oci::Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = Digest::FromBytes(bytes);
  d.size = static_cast<int64_t>(bytes.size());
  AddBytes(plan, BlobPath(d.digest), std::move(bytes));
  return d;
}

Status AddStoredBlob(const ContentStore& content, const Digest& digest,
                     int64_t want_size, ArchivePlan* plan) {
  auto info = content.Info(digest);
  if (!info.ok())
    return NotFoundError("blob " + digest.str() +
                         " is not in the content store");
  if (want_size >= 0 && info->size != want_size) {
    return DataLossError("blob " + digest.str() + " is " +
                         std::to_string(info->size) +
                         " bytes in the content store, its descriptor says " +
                         std::to_string(want_size));
  }
  ArchiveRecord r;
  r.kind = ArchiveRecord::Kind::kBlob;
  r.blob = digest;
  r.size = info->size;
  r.content = digest;
  (*plan)[BlobPath(digest)] = std::move(r);
  return Status::Ok();
}

std::string OciRefName(const llb::ImageReference& ref) {
  std::string out = ref.tag;
  if (!ref.digest.empty()) out += "@" + ref.digest;
  return out;
}

oci::Descriptor NamedDescriptor(oci::Descriptor target,
                                const llb::ImageReference& ref) {
  target.annotations[std::string(oci::kAnnotationImageName)] = ref.String();
  target.annotations[std::string(oci::kAnnotationRefName)] = OciRefName(ref);
  return target;
}

Result<ResolvedImage> ResolveForSave(const ImageStore& store,
                                     const SavedName& name,
                                     const SaveOptions& options) {
  const llb::Platform& want =
      options.platform ? *options.platform : llb::HostPlatform();
  KILN_ASSIGN_OR_RETURN(ResolvedImage image,
                        store.Resolve(name.record.target, want));
  // A single-platform image resolves to itself: only an explicit platform
  // has to match it (docker saves foreign single-platform images too).
  llb::Platform have = image.config.platform();
  if (options.platform && !oci::PlatformMatches(want, have)) {
    return NotFoundError("image is " + llb::FormatPlatform(have) + ", not " +
                         llb::FormatPlatform(llb::NormalizePlatform(want)));
  }
  return image;
}

Status PlanOciArchive(const ImageStore& store,
                      const std::vector<SavedName>& names,
                      const SaveOptions& options, ArchivePlan* plan) {
  oci::Index index;
  index.media_type = std::string(oci::kMediaTypeImageIndex);
  for (const SavedName& n : names) {
    oci::Descriptor target = n.record.target;
    if (options.platform) {
      auto resolved = ResolveForSave(store, n, options);
      if (!resolved.ok())
        return resolved.status().WithContext("saving " + n.record.name);
      target = resolved->manifest_descriptor;
    }
    Status s = AddTree(store.content(), target, true, 0, plan);
    if (!s.ok()) return s.WithContext("saving " + n.record.name);
    index.manifests.push_back(NamedDescriptor(std::move(target), n.ref));
  }
  AddBytes(plan, "index.json", oci::ToJson(index));
  AddBytes(plan, "oci-layout", std::string(kOciLayout));
  return Status::Ok();
}

Status WritePlan(const ContentStore& content, const ArchivePlan& plan,
                 TarWriter* tar) {
  for (const auto& [path, r] : plan) {
    if (r.kind == ArchiveRecord::Kind::kDirectory) {
      KILN_RETURN_IF_ERROR(tar->AddDirectory(path));
      continue;
    }
    if (r.kind == ArchiveRecord::Kind::kBytes) {
      KILN_RETURN_IF_ERROR(tar->AddFile(path, r.bytes));
      continue;
    }
    KILN_ASSIGN_OR_RETURN(
        auto reader, BlobReader::Open(content.BlobPath(r.blob), r.compression));
    KILN_RETURN_IF_ERROR(tar->BeginFile(path, r.size));
    Sha256Hasher hasher;
    for (;;) {
      KILN_ASSIGN_OR_RETURN(std::string_view chunk, reader->Read());
      if (chunk.empty()) break;
      hasher.Update(chunk);
      KILN_RETURN_IF_ERROR(tar->Write(chunk));
    }
    KILN_RETURN_IF_ERROR(tar->FinishFile());
    Digest got = hasher.Finish();
    if (got != r.content) {
      return DataLossError(
          "blob " + r.blob.str() + " in the content store does not match " +
          r.content.str() + " (its bytes hash to " + got.str() + ")");
    }
  }
  return Status::Ok();
}

}  // namespace internal

Status SaveImages(const ImageStore& store,
                  const std::vector<std::string>& names, ArchiveFormat format,
                  const std::string& out_path, const SaveOptions& options) {
  std::string label = out_path == "-" ? "standard output" : out_path;
  if (names.empty())
    return InvalidArgumentError("saving " + label + ": no image names given");
  std::vector<internal::SavedName> saved;
  for (const std::string& name : names) {
    auto record = store.Get(name);
    if (!record.ok()) return record.status().WithContext("saving " + label);
    bool seen = false;
    for (const auto& s : saved) seen = seen || s.record.name == record->name;
    if (seen) continue;
    auto ref = llb::ParseImageReference(record->name);
    if (!ref.ok()) return ref.status().WithContext("saving " + label);
    saved.push_back(internal::SavedName{std::move(*record), std::move(*ref)});
  }

  internal::ArchivePlan plan;
  internal::AddDirectories(&plan);
  Status planned =
      format == ArchiveFormat::kOci
          ? internal::PlanOciArchive(store, saved, options, &plan)
          : internal::PlanDockerArchive(store, saved, options, &plan);
  if (!planned.ok()) return planned.WithContext("saving " + label);

  auto out = internal::ArchiveOutput::Create(out_path);
  if (!out.ok()) return out.status().WithContext("saving " + label);
  auto tar = internal::TarWriter::Open((*out)->fd(), label);
  if (!tar.ok()) return tar.status().WithContext("saving " + label);
  Status s = internal::WritePlan(store.content(), plan, tar->get());
  if (s.ok()) s = (*tar)->Close();
  if (!s.ok()) return s.WithContext("saving " + label);
  tar->reset();
  s = (*out)->Commit();
  if (!s.ok()) return s.WithContext("saving " + label);
  return Status::Ok();
}

}  // namespace kiln::solver
