#include "kiln/solver/image_store.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "image_document.h"
#include "image_store_layout.h"
#include "kiln/llb/reference.h"

namespace kiln::solver {
namespace {

using internal::IndexLock;
using internal::ReadImageDocument;
using internal::ReadIndex;
using internal::WriteIndex;

constexpr int kMaxNesting = 8;  // index → index → … depth we follow

Result<std::string> NormalizeName(std::string_view name) {
  auto ref = llb::ParseImageReference(name);
  if (!ref.ok()) return ref.status().WithContext("image store");
  return llb::TagNameOnly(*ref).String();
}

const std::string* RefName(const oci::Descriptor& d) {
  auto it = d.annotations.find(std::string(oci::kAnnotationRefName));
  return it == d.annotations.end() ? nullptr : &it->second;
}

// FailedPrecondition unless `d` and everything it needs is in the store.
Status CheckComplete(const ContentStore& content, const oci::Descriptor& d,
                     int depth) {
  if (depth > kMaxNesting)
    return InvalidArgumentError("indexes nested too deeply");
  if (!content.Has(d.digest)) {
    return FailedPreconditionError("blob " + d.digest.str() +
                                   " is not in the content store");
  }
  KILN_ASSIGN_OR_RETURN(internal::ImageDocument doc,
                        ReadImageDocument(content, d));
  if (oci::IsManifestMediaType(doc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(doc.bytes));
    std::vector<const oci::Descriptor*> needed = {&m.config};
    for (const auto& layer : m.layers) needed.push_back(&layer);
    for (const auto* blob : needed) {
      if (!content.Has(blob->digest)) {
        return FailedPreconditionError("manifest " + d.digest.str() +
                                       ": blob " + blob->digest.str() +
                                       " is not in the content store");
      }
    }
    return Status::Ok();
  }
  if (!oci::IsIndexMediaType(doc.media_type))
    return internal::NotAnImageError(d.digest, doc.media_type);
  KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(doc.bytes));
  int usable = 0;
  for (const auto& child : index.manifests) {
    if (!content.Has(child.digest)) continue;
    if (!oci::IsManifestMediaType(child.media_type) &&
        !oci::IsIndexMediaType(child.media_type)) {
      continue;  // attestations and other artifacts are not images
    }
    Status s = CheckComplete(content, child, depth + 1);
    if (!s.ok()) return s.WithContext("index " + d.digest.str());
    ++usable;
  }
  if (usable == 0) {
    return FailedPreconditionError(
        "index " + d.digest.str() +
        ": none of its manifests is in the content store");
  }
  return Status::Ok();
}

Status ClosureInto(const ContentStore& content, const oci::Descriptor& d,
                   int depth, std::set<Digest>* seen, std::vector<Digest>* out,
                   std::vector<Digest>* missing) {
  if (!seen->insert(d.digest).second) return Status::Ok();
  out->push_back(d.digest);
  if (!content.Has(d.digest)) {
    if (missing != nullptr) missing->push_back(d.digest);
    return Status::Ok();
  }
  if (depth > kMaxNesting)
    return InvalidArgumentError("indexes nested too deeply");
  if (!internal::MayBeImageDocument(d.media_type))
    return Status::Ok();  // a layer, config or other leaf
  KILN_ASSIGN_OR_RETURN(internal::ImageDocument doc,
                        ReadImageDocument(content, d));
  if (oci::IsManifestMediaType(doc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(doc.bytes));
    KILN_RETURN_IF_ERROR(
        ClosureInto(content, m.config, depth + 1, seen, out, missing));
    for (const auto& layer : m.layers) {
      KILN_RETURN_IF_ERROR(
          ClosureInto(content, layer, depth + 1, seen, out, missing));
    }
  } else if (oci::IsIndexMediaType(doc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(doc.bytes));
    for (const auto& child : index.manifests) {
      KILN_RETURN_IF_ERROR(
          ClosureInto(content, child, depth + 1, seen, out, missing));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::Open(const std::string& dir,
                                                     ContentStore* content) {
  KILN_RETURN_IF_ERROR(internal::InitLayout(dir, *content));
  return std::unique_ptr<ImageStore>(new ImageStore(dir, content));
}

Result<std::vector<ImageRecord>> ImageStore::List() const {
  KILN_ASSIGN_OR_RETURN(oci::Index index, ReadIndex(dir_));
  std::vector<ImageRecord> out;
  for (const auto& d : index.manifests) {
    const std::string* name = RefName(d);
    if (name != nullptr) out.push_back(ImageRecord{*name, d});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ImageRecord& a, const ImageRecord& b) {
                     return a.name < b.name;
                   });
  return out;
}

Result<ImageRecord> ImageStore::Get(std::string_view name) const {
  KILN_ASSIGN_OR_RETURN(std::string full, NormalizeName(name));
  KILN_ASSIGN_OR_RETURN(auto records, List());
  for (auto& r : records) {
    if (r.name == full) return std::move(r);
  }
  return NotFoundError("image \"" + full + "\" not found");
}

Status ImageStore::Put(std::string_view name, const oci::Descriptor& target) {
  KILN_ASSIGN_OR_RETURN(std::string full, NormalizeName(name));
  oci::Descriptor entry = target;
  entry.annotations[std::string(oci::kAnnotationRefName)] = full;
  entry.annotations[std::string(oci::kAnnotationImageName)] = full;
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Acquire(dir_));
  // Checked under the lock: a concurrent Remove() cannot delete what we name.
  Status complete = CheckComplete(*content_, target, 0);
  if (!complete.ok()) return complete.WithContext("tagging " + full);
  KILN_ASSIGN_OR_RETURN(oci::Index index, ReadIndex(dir_));
  bool replaced = false;
  std::vector<oci::Descriptor> kept;
  for (auto& d : index.manifests) {
    const std::string* ref = RefName(d);
    if (ref == nullptr || *ref != full) {
      kept.push_back(std::move(d));
    } else if (!replaced) {
      kept.push_back(entry);
      replaced = true;
    }
  }
  if (!replaced) kept.push_back(entry);
  index.manifests = std::move(kept);
  if (index.media_type.empty())
    index.media_type = std::string(oci::kMediaTypeImageIndex);
  return WriteIndex(dir_, index);
}

Status ImageStore::Remove(std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::string full, NormalizeName(name));
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Acquire(dir_));
  KILN_ASSIGN_OR_RETURN(oci::Index index, ReadIndex(dir_));
  std::vector<oci::Descriptor> kept, removed;
  for (auto& d : index.manifests) {
    const std::string* ref = RefName(d);
    (ref != nullptr && *ref == full ? removed : kept).push_back(std::move(d));
  }
  if (removed.empty()) return NotFoundError("image \"" + full + "\" not found");
  index.manifests = std::move(kept);
  KILN_RETURN_IF_ERROR(WriteIndex(dir_, index));

  // Garbage: blobs of the removed image that no remaining entry reaches.
  // Blobs that no image ever named (build cache, ingest) are not ours to drop.
  // Leases held elsewhere may be using some of them: then sweep nothing.
  KILN_ASSIGN_OR_RETURN(internal::UniqueFd sweep, internal::LockGc(dir_, true));
  if (!sweep.valid()) return Status::Ok();
  std::set<Digest> live;
  for (const auto& d : index.manifests) {
    KILN_ASSIGN_OR_RETURN(auto closure, Closure(d));
    live.insert(closure.begin(), closure.end());
  }
  for (const auto& d : removed) {
    KILN_ASSIGN_OR_RETURN(auto closure, Closure(d));
    for (const auto& digest : closure) {
      if (live.count(digest) != 0 || !content_->Has(digest)) continue;
      Status s = content_->Delete(digest);
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        return s.WithContext("removing " + full);
      }
    }
  }
  return Status::Ok();
}

BlobLease& BlobLease::operator=(BlobLease&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

BlobLease::~BlobLease() {
  if (fd_ >= 0) close(fd_);
}

Result<BlobLease> ImageStore::HoldBlobs() const {
  KILN_ASSIGN_OR_RETURN(internal::UniqueFd fd, internal::LockGc(dir_, false));
  return BlobLease(fd.Release());
}

Result<ResolvedImage> ImageStore::Resolve(const oci::Descriptor& target,
                                          const llb::Platform& platform) const {
  oci::Descriptor current = target;
  for (int depth = 0; depth <= kMaxNesting; ++depth) {
    KILN_ASSIGN_OR_RETURN(internal::ImageDocument doc,
                          ReadImageDocument(*content_, current));
    if (oci::IsIndexMediaType(doc.media_type)) {
      KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(doc.bytes));
      KILN_ASSIGN_OR_RETURN(current, oci::SelectManifest(index, platform));
      continue;
    }
    if (!oci::IsManifestMediaType(doc.media_type))
      return internal::NotAnImageError(current.digest, doc.media_type);
    ResolvedImage out;
    KILN_ASSIGN_OR_RETURN(out.manifest, oci::ParseManifest(doc.bytes));
    KILN_ASSIGN_OR_RETURN(out.config_bytes,
                          content_->ReadAll(out.manifest.config.digest));
    KILN_ASSIGN_OR_RETURN(out.config, oci::ParseImageConfig(out.config_bytes));
    out.manifest_descriptor = std::move(current);
    return out;
  }
  return InvalidArgumentError("image " + target.digest.str() +
                              ": indexes nested too deeply");
}

Result<std::vector<Digest>> ImageStore::Closure(
    const oci::Descriptor& target, std::vector<Digest>* missing) const {
  std::set<Digest> seen;
  std::vector<Digest> out;
  KILN_RETURN_IF_ERROR(ClosureInto(*content_, target, 0, &seen, &out, missing));
  return out;
}

}  // namespace kiln::solver
