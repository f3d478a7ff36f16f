// Resolving LLB image sources — `docker-image://REF` and
// `oci-layout://NAME@DIGEST` — to images in the embedded store, unpacked into
// snapshots, and BuildKit's ResolveImageConfig for the gateway.
//
// Resolve modes (the `image.resolvemode` attr / ResolveImageConfig's mode):
//   default  the embedded store first, the registry when the store lacks the
//            image. This differs on purpose from BuildKit, whose default asks
//            the registry every time: kiln is meant for air-gapped sites,
//            where images are imported or loaded into the store and the
//            registry is unreachable. Use `pull` to always check the registry.
//   pull     always resolve with the registry (blobs already stored are not
//            downloaded again), then name the result in the store.
//   local    the embedded store only; NotFound when it lacks the image.
// A reference pinned by digest is satisfied from the content store whenever
// its blobs are there, in every mode.
//
// oci-layout sources name an OCI image layout directory through their
// `oci.store` attr (a store id). In BuildKit the client serves that store over
// its session; kiln's embedded engine maps store ids to local directories
// (ImageSourceOptions::oci_layouts). Blobs are copied into the content store,
// verified, before use.
//
// Thread safety: all methods may be called concurrently; the stores and the
// registry client must outlive the ImageSource.
#ifndef KILN_SOLVER_IMAGE_SOURCE_H_
#define KILN_SOLVER_IMAGE_SOURCE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/snapshotter.h"
#include "solver/pb/ops.pb.h"

namespace kiln::solver {

enum class ResolveMode { kDefault, kForcePull, kPreferLocal };

// "" and "default" → kDefault, "pull" → kForcePull, "local" → kPreferLocal.
// InvalidArgument otherwise.
Result<ResolveMode> ParseResolveMode(std::string_view mode);

struct ImageSourceOptions {
  // oci-layout store id → OCI image layout directory.
  std::map<std::string, std::string> oci_layouts;
  // Byte progress of registry pulls (PullOptions::progress); may be empty.
  std::function<void(const PullProgress&)> pull_progress;
};

// What ResolveImageConfig answers (gateway ResolveImageConfigResponse).
struct ImageConfigResolution {
  std::string ref;     // the reference resolved, normalized (no digest added)
  Digest digest;       // digest of what `ref` names: an index or a manifest
  std::string config;  // the platform's image config, bytes as stored
};

// An image source op, ready to be the root of an exec or a file op.
struct SourceImage {
  std::string ref;       // normalized name@digest of the resolved root
  ResolvedImage image;   // the platform's manifest and config
  std::string snapshot;  // top committed snapshot (chain ID); empty: no layers
};

class ImageSource {
 public:
  // `registry` may be null: registry access then fails with Unavailable.
  ImageSource(ImageStore* store, RegistryClient* registry,
              Snapshotter* snapshots, ImageSourceOptions options = {});

  // BuildKit's ResolveImageConfig for a registry reference ("alpine",
  // "host:5000/app:1@sha256:…"). Errors: InvalidArgument for a bad reference;
  // NotFound (local mode, or an image without the platform, naming what it
  // offers); registry errors with the reference as context.
  Result<ImageConfigResolution> ResolveImageConfig(
      std::string_view ref, const llb::Platform& platform, ResolveMode mode);

  // The same for an image in an oci-layout store: `ref` is NAME[:TAG][@DIGEST]
  // as in `oci-layout://`; without a digest the layout's index.json entry
  // whose ref.name is the tag (default "latest") is used.
  Result<ImageConfigResolution> ResolveOciLayoutConfig(
      std::string_view store_id, std::string_view ref,
      const llb::Platform& platform);

  // Loads the image a `docker-image://` or `oci-layout://` source op names for
  // `platform` (its op platform), honouring image.resolvemode,
  // image.layerlimit, image.checksum (the resolved manifest's digest must
  // match), oci.store and oci.layerlimit, and unpacks it into snapshots.
  // Errors name the op's identifier: InvalidArgument for an unsupported
  // scheme or a bad attr, FailedPrecondition for a checksum mismatch or an
  // unknown oci store, NotFound / registry / unpack errors with context.
  Result<SourceImage> Load(const pb::SourceOp& op,
                           const llb::Platform& platform);

 private:
  struct Root {
    std::string name;  // normalized, tag or digest included
    oci::Descriptor descriptor;
  };
  // True when the store holds everything `target` needs on `platform`.
  bool CompleteFor(const oci::Descriptor& target,
                   const llb::Platform& platform) const;
  Result<Root> ResolveRoot(std::string_view ref, const llb::Platform& platform,
                           ResolveMode mode);
  Result<Root> ResolveOciLayoutRoot(std::string_view store_id,
                                    std::string_view ref,
                                    const llb::Platform& platform);

  ImageStore* store_;
  RegistryClient* registry_;
  Snapshotter* snapshots_;
  ImageSourceOptions options_;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_IMAGE_SOURCE_H_
