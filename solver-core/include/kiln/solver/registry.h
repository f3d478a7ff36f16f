// An OCI distribution (v2) registry client: resolves references, pulls images
// into the content store and pushes images from it, as BuildKit does through
// containerd's remotes/docker resolver.
//
// What it speaks:
// - OCI image index/manifest and Docker manifest list/schema 2 manifests;
//   layers of any media type (gzip, zstd, uncompressed), stored as they come.
// - Authentication: Bearer tokens (realm/service/scope, cached per scope) and
//   Basic, with credentials from the docker CLI config (registry_config.h).
// - Mirrors for pulls (tried in order before the origin), plain http and
//   TLS settings only for hosts the RegistryConfig lists.
// - Retries with exponential backoff and jitter on connection errors, 429
//   and 5xx, for idempotent requests (GET, HEAD, manifest PUT, token
//   fetches); never on other 4xx. Blob uploads are never re-sent blindly: a
//   failed upload restarts from HEAD with a new session.
// - Credentials go only to the registry's own host: a Location or redirect
//   to another host gets none, and its own transport settings; https is
//   never downgraded to http. URLs in errors lose their query strings.
//
// Every blob and manifest is verified against its digest before it is stored
// (content_store.h writes nothing under a digest its bytes do not match).
// Errors name the reference, the registry and, for blobs, the digest, with
// the HTTP status or curl error; codes: NotFound (unknown reference, blob or
// platform), Unauthenticated (missing or rejected credentials),
// PermissionDenied (authenticated but refused), DataLoss (content does not
// match its digest), Unavailable (network, 5xx after retries),
// FailedPrecondition (TLS failures, content missing locally for a push).
//
// Thread safety: a RegistryClient may be used from many threads at once.
// Ownership: the ContentStore is borrowed and must outlive the client.
#ifndef KILN_SOLVER_REGISTRY_H_
#define KILN_SOLVER_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "kiln/llb/digest.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/registry_config.h"

namespace kiln::solver {

namespace internal {
class RegistryTransport;
}  // namespace internal

// Progress of one blob (a layer or config) being pulled or pushed.
struct BlobProgress {
  Digest digest;
  int64_t done = 0;   // bytes transferred so far
  int64_t total = 0;  // the blob's size
  bool complete = false;
  bool cached = false;   // nothing transferred: already in the store (pull)
                         // or in the registry (push)
  bool mounted = false;  // push: mounted from another repository
};
using PullProgress = BlobProgress;
using PushProgress = BlobProgress;

struct PullOptions {
  // The platform whose manifest is taken from an index.
  llb::Platform platform = llb::HostPlatform();
  // Called for each blob as bytes arrive and once with complete = true
  // (also for blobs already present). Calls are serialized but may come from
  // several threads.
  std::function<void(const PullProgress&)> progress;
};

struct PulledImage {
  // What the reference names: an index or a manifest, pinned by digest.
  oci::Descriptor root;
  // The platform's manifest (== root when the reference names a manifest).
  oci::Descriptor manifest;
  oci::Manifest parsed_manifest;
  oci::ImageConfig config;
  std::string config_bytes;
};

struct PushOptions {
  // Blobs larger than this go up in PATCH chunks of this size; 0 sends each
  // blob in one PUT.
  int64_t chunk_size = 0;
  // Called for each blob as it is checked, mounted or uploaded; serialized.
  std::function<void(const PushProgress&)> progress;
};

class RegistryClient {
 public:
  RegistryClient(RegistryConfig config, ContentStore* store);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // The descriptor (media type, digest, size) of what `ref` names, by tag or
  // by digest (a reference without either means "latest"). Uses HEAD and
  // falls back to GET (verifying the registry's Docker-Content-Digest against
  // the bytes) when HEAD gives no digest or media type. Tries mirrors first.
  Result<oci::Descriptor> Resolve(const llb::ImageReference& ref);

  // Pulls `ref` (by digest when ref.digest is set, else by tag) into the
  // content store: the root index or manifest, the platform's manifest, the
  // config and every layer, skipping blobs already present and downloading
  // up to RegistryConfig::max_concurrent_downloads layers at once. Errors as
  // in the file comment; NotFound for a platform the index lacks lists the
  // platforms it offers. Blobs stored before an error stay (all verified).
  Result<PulledImage> Pull(const llb::ImageReference& ref,
                           const PullOptions& options = {});

  // Pushes the image `root` (an index or manifest whose blobs are in the
  // content store) to `dest`: blobs the registry lacks are mounted from
  // another repository of the same registry when known to be there (see
  // AddBlobSource; pulls and pushes record it), else uploaded; then
  // manifests, children before the index, and finally the root under
  // dest.tag (or by digest when dest has no tag). dest.digest, when set, must
  // equal root.digest. Never uses mirrors.
  Status Push(const llb::ImageReference& dest, const oci::Descriptor& root,
              const PushOptions& options = {});

  // Fetches the manifest or index `ref` names (by digest, else by tag, else
  // "latest") as it is, without choosing a platform, stores it in the
  // content store and returns its descriptor (media type from the registry,
  // or sniffed). At most 4 MiB. Errors as Pull's.
  Result<oci::Descriptor> FetchManifest(const llb::ImageReference& ref);
  // Fetches the blob `blob` of the repository `ref` names (its domain and
  // path) into the content store, unless present; verified against
  // blob.digest and blob.size. Errors as Pull's.
  Status FetchBlob(const llb::ImageReference& ref, const oci::Descriptor& blob);

  // Records that `digest` exists in the repository `ref` names (its domain
  // and path), so a later push to another repository of that registry can
  // mount it instead of uploading it.
  void AddBlobSource(const Digest& digest, const llb::ImageReference& ref);

 private:
  // The path of another repository on `domain` known to hold `digest`, or
  // empty.
  std::string MountSource(const Digest& digest, const std::string& domain,
                          const std::string& path) const;
  void AddBlobSource(const Digest& digest, const std::string& domain,
                     const std::string& path);

  std::unique_ptr<internal::RegistryTransport> transport_;
  ContentStore* store_;
  mutable std::mutex sources_mu_;
  std::map<Digest, std::set<std::string>>
      sources_;  // guarded by sources_mu_: digest → domain/path
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_REGISTRY_H_
