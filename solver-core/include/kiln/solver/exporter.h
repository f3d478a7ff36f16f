// Exporters: what a build's result becomes, named and configured as
// BuildKit's `--output type=…,key=value` (buildctl) exporters are.
//
//   local   dest=DIR: the result tree copied into DIR (created when
//           missing; existing entries of the same name are replaced), with
//           modes, owners (when privileged), times, xattrs and hardlinks;
//           symlinks copied as they are. With source-date-epoch, every
//           copied entry's mtime is set to it (BuildKit's local exporter).
//   tar     dest=FILE or "-" (stdout): an uncompressed tar of the tree
//           (sorted, numeric owners, no atime/ctime); with
//           source-date-epoch every entry's mtime is the epoch.
//   oci     dest=FILE or "-": an OCI image layout tar (image_archive.h's
//           format); tar=false: dest is a directory to write the layout into.
//           name=a,b names the index entries.
//   docker  dest=FILE or "-": a `docker load` archive; name=… (needed: the
//           archive's RepoTags).
//   image   name=a,b: named in the image store (ImageStore), labelled with
//           the platform; push=true also pushes each name (RegistryClient).
//           unpack=true is Unimplemented. registry.insecure is ignored (the
//           RegistryConfig decides). "registry" is image with push=true.
//
// Images (oci, docker, image): one layer per snapshot of the result's chain
// (layer_diff.h; reused from the LayerCache when it holds a blob of the
// requested compression, and recorded there when made), base first. Layers
// with no changes are left out and get a history entry with empty_layer.
// The config is ExportSource::image_config (or a minimal one of the
// platform) with rootfs.diff_ids replaced by the chain's and history
// normalized as BuildKit does: base entries kept; when they account for fewer
// layers than the chain has, one entry is appended per further snapshot
// (created_by from ExportSource::created_by, comment "kiln", created now or
// at source-date-epoch); when they account for more, the extra entries from
// the bottom are marked empty_layer. With source-date-epoch (BuildKit's
// semantics): config created is the epoch, and every history entry after
// those repeating base_image_config's that has no time or a later one gets
// the epoch. Unknown fields of image_config are
// dropped (it is parsed into oci::ImageConfig).
//
// Image attrs (BuildKit's names): compression=gzip|uncompressed|zstd (gzip);
// oci-mediatypes=false for Docker schema 2 media types (zstd keeps OCI
// types, as BuildKit forces them); source-date-epoch=SECONDS (created times);
// rewrite-timestamp=true (needs source-date-epoch: layer mtimes newer than
// it are clamped to it, older ones kept; the LayerCache is bypassed then).
// Unknown attrs are ignored.
//
// Multi-platform results (ExportPlatforms, one source per platform in the
// frontend's refs.platforms order), as BuildKit exports them:
//   oci, image  an image index (OCI index; a Docker manifest list with
//               oci-mediatypes=false) with one manifest per platform, its
//               descriptor's platform set (variant included), then the
//               attestation manifests; oci's index.json names the index.
//               One platform without attestations keeps the plain manifest.
//   docker      refused: a docker archive cannot hold a manifest list.
//   local, tar  platform-split (default: true with several platforms): one
//               directory per platform named after it with '/' as '_'
//               ("linux_amd64", "linux_arm_v7"). local with
//               platform-split=false merges the trees into dest and refuses
//               a file path two platforms both hold; tar always splits.
//
// Thread safety: Export may run concurrently (stores are thread-safe); each
// call uses its own scratch entries under ExportEnv::work_dir.
#ifndef KILN_SOLVER_EXPORTER_H_
#define KILN_SOLVER_EXPORTER_H_

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/layer.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver {

struct ExportRequest {
  std::string type;  // local, tar, oci, docker, image
  std::map<std::string, std::string> attrs;
};

// Parses buildctl's --output syntax: "type=local,dest=out" (CSV; a value may
// be quoted, `name="a,b"` or `"name=a,b"`, with "" for a quote inside). A
// field without '=' is a key with an empty value; "registry" becomes type
// image with push=true. Errors: InvalidArgument for a spec without type (a
// bare "dest=out"), an unknown type (listing the known ones), an empty key,
// a repeated key or an unterminated quote.
Result<ExportRequest> ParseOutputSpec(std::string_view spec);

// An in-toto attestation for one platform's image, attached as BuildKit
// does: an attestation manifest (platform unknown/unknown, annotations
// vnd.docker.reference.type=attestation-manifest and
// vnd.docker.reference.digest=<image manifest>) in the exported index, one
// application/vnd.in-toto+json layer per attestation holding the in-toto
// Statement whose subject the exporter fills with the image manifest it
// wrote. Only the oci and image exporters attach attestations; the others
// refuse a source that carries any.
struct Attestation {
  std::string predicate_type;  // e.g. "https://slsa.dev/provenance/v0.2"
  std::string predicate_json;  // the predicate object (JSON)
};

struct ExportSource {
  std::string snapshot;  // committed result; "" = empty filesystem
  llb::Platform platform;
  // JSON of a base config (the frontend's containerimage.config); "" =
  // minimal.
  std::string image_config;
  std::map<std::string, std::string> created_by;  // snapshot -> created_by
  std::vector<Attestation> attestations;
  // The platform's ID in the frontend's refs.platforms ("" =
  // FormatPlatform(platform)): as BuildKit, a platform-split directory is
  // named after it with '/' as '_', and conflicts name it. InvalidArgument
  // when that name is empty, "." or "..", or holds a NUL.
  std::string id;
  // JSON of the base image's config (the frontend's
  // containerimage.base.config); "" = unknown. With source-date-epoch, the
  // history entries that repeat the base's keep their times.
  std::string base_image_config;
  // Images: a cache config (build_cache.h InlineCacheConfig) embedded in the
  // image config as BuildKit's inline cache; "" = none.
  std::string inline_cache;
};

// Borrowed services; each must outlive the call. Which are needed depends on
// the type: snapshots always (unless snapshot is ""), content for images,
// images for `image` and `docker`, registry for push=true, layers optional.
struct ExportEnv {
  Snapshotter* snapshots = nullptr;
  ContentStore* content = nullptr;
  ImageStore* images = nullptr;
  RegistryClient* registry = nullptr;
  LayerCache* layers = nullptr;
  std::string work_dir;  // scratch space (view mounts, temp dirs); must exist
};

// Runs the exporter. Returns BuildKit-style response keys where they apply:
// "containerimage.digest" (manifest digest), "containerimage.config.digest",
// "containerimage.descriptor" (base64 of the manifest descriptor's JSON) and
// "image.name" (the names, comma-joined), for oci, docker and image; an
// empty map for local and tar.
// Errors: InvalidArgument for an unknown type, a missing dest or name, a bad
// attr value or base config; FailedPrecondition for a missing service;
// Unimplemented for unpack=true; errors of the stores, the layer diff, the
// file system (naming the path) and the registry, with context.
Result<std::map<std::string, std::string>> Export(const ExportRequest& request,
                                                  const ExportSource& source,
                                                  const ExportEnv& env);

// Runs the exporter on a multi-platform result (see the file comment):
// `sources` holds one source per platform, in the order the index lists
// them. One source is exactly Export(request, sources[0], env). With an
// index, "containerimage.digest" and "containerimage.descriptor" describe
// the index and "containerimage.config.digest" is absent.
// Errors: Export's; InvalidArgument for no sources, two sources of one
// platform, platform-split=false with conflicting files (local) or with
// several platforms (tar), an attestation whose predicate is not a JSON
// object, or attestations given to docker, local or tar; FailedPrecondition
// for several platforms to docker.
Result<std::map<std::string, std::string>> ExportPlatforms(
    const ExportRequest& request, std::span<const ExportSource> sources,
    const ExportEnv& env);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_EXPORTER_H_
