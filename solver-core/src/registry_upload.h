// Writing to a registry: blobs (existence check, cross-repository mount,
// monolithic or chunked upload) and manifests.
#ifndef KILN_SOLVER_SRC_REGISTRY_UPLOAD_H_
#define KILN_SOLVER_SRC_REGISTRY_UPLOAD_H_

#include <cstdint>
#include <functional>
#include <string>

#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"
#include "registry_transport.h"

namespace kiln::solver::internal {

enum class BlobOutcome { kExisted, kMounted, kUploaded };

struct BlobUpload {
  const Endpoint* endpoint = nullptr;
  std::string path;  // repository (before the endpoint's prefix)
  oci::Descriptor blob;
  std::string
      mount_from;  // another repository of the registry holding it, or empty
  int64_t chunk_size = 0;  // 0: one PUT
  std::function<void(int64_t done)> progress;
};

// Makes `blob` exist in the repository: HEAD; else mount from `mount_from`;
// else upload it from `store`. FailedPrecondition when it must be uploaded
// but the store lacks it.
Result<BlobOutcome> UploadBlob(RegistryTransport& transport,
                               ContentStore* store, const BlobUpload& upload);

// PUTs a manifest under `reference` (tag or digest) with `media_type` as its
// Content-Type, checking the registry's Docker-Content-Digest.
Status PutManifest(RegistryTransport& transport, const Endpoint& endpoint,
                   const std::string& path, const std::string& reference,
                   const std::string& media_type, const std::string& bytes,
                   const Digest& digest);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_REGISTRY_UPLOAD_H_
