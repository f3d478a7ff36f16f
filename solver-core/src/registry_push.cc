// RegistryClient::Push: blobs first (several at a time), then manifests
// children-first, the root last under its tag.
#include <set>
#include <vector>

#include "kiln/solver/registry.h"
#include "registry_fetch.h"
#include "registry_transport.h"
#include "registry_upload.h"

namespace kiln::solver {
namespace {

struct PushPlan {
  std::vector<std::pair<oci::Descriptor, std::string>>
      manifests;                       // children first
  std::vector<oci::Descriptor> blobs;  // configs and layers
  std::set<Digest> seen;
};

std::string Describe(const oci::Descriptor& d) {
  std::string s = d.digest.str();
  if (!d.media_type.empty()) s += " (" + d.media_type + ")";
  if (d.platform) s += " for " + llb::FormatPlatform(*d.platform);
  return s;
}

// Walks an index or manifest in the store, collecting what must be pushed.
Status Plan(ContentStore* store, oci::Descriptor desc, int depth,
            PushPlan* plan) {
  if (!plan->seen.insert(desc.digest).second) return Status::Ok();
  if (depth > 4)
    return InvalidArgumentError("indexes nested deeper than 4 levels");
  Result<std::string> bytes = store->ReadAll(desc.digest);
  if (!bytes.ok()) {
    return FailedPreconditionError(Describe(desc) +
                                   " is not in the content store (" +
                                   bytes.status().message() + ")");
  }
  if (desc.media_type.empty())
    desc.media_type = internal::SniffManifestMediaType(*bytes);
  if (oci::IsIndexMediaType(desc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(*bytes));
    for (const oci::Descriptor& child : index.manifests) {
      KILN_RETURN_IF_ERROR(Plan(store, child, depth + 1, plan)
                               .WithContext("index " + desc.digest.str()));
    }
  } else if (oci::IsManifestMediaType(desc.media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(*bytes));
    std::vector<oci::Descriptor> blobs = {manifest.config};
    blobs.insert(blobs.end(), manifest.layers.begin(), manifest.layers.end());
    for (const oci::Descriptor& blob : blobs) {
      if (plan->seen.insert(blob.digest).second) plan->blobs.push_back(blob);
    }
  } else {
    return UnimplementedError(Describe(desc) +
                              " is not an image index or manifest");
  }
  plan->manifests.emplace_back(std::move(desc), std::move(*bytes));
  return Status::Ok();
}

}  // namespace

Status RegistryClient::Push(const llb::ImageReference& dest,
                            const oci::Descriptor& root,
                            const PushOptions& options) {
  const std::string context =
      "pushing " + root.digest.str() + " to " + dest.String();
  if (!dest.digest.empty() && dest.digest != root.digest.str()) {
    return InvalidArgumentError(context +
                                ": the reference's digest is not the image's");
  }
  PushPlan plan;
  KILN_RETURN_IF_ERROR(Plan(store_, root, 0, &plan).WithContext(context));

  const internal::Endpoint endpoint =
      transport_->Endpoints(dest.domain, /*pull=*/false).back();
  std::mutex progress_mu;
  auto report = [&](const BlobProgress& p) {
    if (!options.progress) return;
    std::lock_guard<std::mutex> lock(progress_mu);
    options.progress(p);
  };
  Status uploaded = internal::ForEachBounded(
      plan.blobs.size(), transport_->config().max_concurrent_downloads,
      [&](size_t i) -> Status {
        const oci::Descriptor& blob = plan.blobs[i];
        BlobProgress p{.digest = blob.digest, .total = blob.size};
        internal::BlobUpload upload{
            .endpoint = &endpoint,
            .path = dest.path,
            .blob = blob,
            .mount_from = MountSource(blob.digest, dest.domain, dest.path),
            .chunk_size = options.chunk_size,
            .progress = [&](int64_t done) {
              p.done = done;
              report(p);
            }};
        KILN_ASSIGN_OR_RETURN(
            internal::BlobOutcome outcome,
            internal::UploadBlob(*transport_, store_, upload));
        p.done = blob.size;
        p.complete = true;
        p.cached = outcome == internal::BlobOutcome::kExisted;
        p.mounted = outcome == internal::BlobOutcome::kMounted;
        report(p);
        AddBlobSource(blob.digest, dest.domain, dest.path);
        return Status::Ok();
      });
  KILN_RETURN_IF_ERROR(uploaded.WithContext(context));

  for (size_t i = 0; i < plan.manifests.size(); ++i) {
    const auto& [desc, bytes] = plan.manifests[i];
    const bool is_root = i + 1 == plan.manifests.size();
    const std::string reference =
        is_root && !dest.tag.empty() ? dest.tag : desc.digest.str();
    KILN_RETURN_IF_ERROR(internal::PutManifest(*transport_, endpoint, dest.path,
                                               reference, desc.media_type,
                                               bytes, desc.digest)
                             .WithContext(context));
    AddBlobSource(desc.digest, dest.domain, dest.path);
  }
  return Status::Ok();
}

}  // namespace kiln::solver
