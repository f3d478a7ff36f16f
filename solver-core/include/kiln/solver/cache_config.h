// The container format of an exported build cache (docs/cache.md): BuildKit's
// "image-manifest" cache layout carrying kiln's own cache keys.
//
// A cache is an OCI image manifest whose config has the media type
// kCacheConfigMediaType and whose layers are layer blobs (the same blobs as
// image layers, annotated "containerd.io/uncompressed" = diff_id, as BuildKit
// does). The config JSON (keys sorted, no timestamps):
//
//   {"kiln":{"keys":"kiln-cachekey-v2","version":1},
//    "layers":[{"blob":"sha256:…","parent":-1},
//    {"blob":"sha256:…","parent":0}], "records":[{"digest":"<cache
//    key>","results":[1]}]}
//
// layers[i].blob names manifest.layers[i]; parent is the index of the layer
// below it (-1: the bottom of a chain), always smaller than i. A record maps
// a vertex cache key (cache_key.h) to one entry per output: the index of its
// top layer, or -1 for the empty filesystem. A result's content is its layer
// chain applied bottom up, so a result is named by its chain IDs
// (layer_unpack.h) wherever it is unpacked.
//
// Keys are kiln's, not BuildKit's: a cache without the "kiln" marker, or
// with another key version, was written by another builder and is refused
// (FailedPrecondition), never misread.
//
// Thread safety: pure functions on values.
#ifndef KILN_SOLVER_CACHE_CONFIG_H_
#define KILN_SOLVER_CACHE_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/layer.h"
#include "kiln/solver/oci.h"

namespace kiln::solver {

inline constexpr std::string_view kCacheConfigMediaType =
    "application/vnd.buildkit.cacheconfig.v0";
// The annotation of a layer descriptor holding its diff_id.
inline constexpr std::string_view kAnnotationUncompressed =
    "containerd.io/uncompressed";
// The version of the "kiln" marker object this build writes and reads.
inline constexpr int kCacheConfigVersion = 1;

struct CacheLayer {
  LayerBlob blob;   // descriptor as in the manifest, and its diff_id
  int parent = -1;  // index of the layer below, or -1
};

struct CacheResultRecord {
  Digest key;                // vertex cache key
  std::vector<int> results;  // per output: top layer index, or -1 (empty)
};

struct CacheConfig {
  std::vector<CacheLayer> layers;
  std::vector<CacheResultRecord> records;

  // The layers of the result whose top layer is `top`, bottom first (empty
  // for -1). Precondition: the config is valid (as ParseCacheManifest
  // returns it) and top < layers.size().
  std::vector<LayerBlob> Chain(int top) const;
};

// The config JSON of `config` (see the file comment).
std::string CacheConfigJson(const CacheConfig& config);

// The manifest of `config`, whose config blob (CacheConfigJson) has
// `config_digest` and `config_size`.
oci::Manifest CacheManifest(const CacheConfig& config,
                            const Digest& config_digest, int64_t config_size);

// Reads a cache back from its manifest and config JSON. Errors:
// FailedPrecondition when it is not a kiln cache (no marker, another key
// version or marker version: "written by another builder"); InvalidArgument
// for a malformed config (bad JSON, an index out of range, a parent not
// below its layer, a blob the manifest lacks or a layer without its
// containerd.io/uncompressed annotation).
Result<CacheConfig> ParseCacheManifest(const oci::Manifest& manifest,
                                       std::string_view config_json);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_CACHE_CONFIG_H_
