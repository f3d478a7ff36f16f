// Sharing the build cache between engines (docs/cache.md): exporting the
// results of a build as a cache (cache_config.h) to a registry or a local
// OCI layout, and importing such caches so that a later build, on another
// $KILN_ROOT or machine, reuses results instead of running their ops.
//
// Specs use buildctl's --export-cache/--import-cache syntax:
//   type=registry,ref=HOST/REPO:TAG[,mode=min|max][,compression=gzip|zstd|uncompressed]
//   type=local,dest=DIR[,tag=TAG][,mode=…][,compression=…]     (export)
//   type=inline                      (export: embedded in the exported image)
//   type=registry,ref=HOST/REPO:TAG | type=local,src=DIR[,tag=TAG]  (import;
//   a registry ref naming an image reads the image's inline cache)
// mode=min (the default, as BuildKit's) exports the records whose outputs
// are all in the exported result's snapshot chain (of one of its
// platforms); mode=max every exec,
// file, merge and diff result of the build. Layer blobs are the blobs image
// exports use (LayerCache, layer_diff.h): a cached result and an exported
// image share them.
//
// Thread safety: CacheRecorder and ImportedCache may be used from many
// threads; ExportCache and ImportedCache::Load may run concurrently.
#ifndef KILN_SOLVER_BUILD_CACHE_H_
#define KILN_SOLVER_BUILD_CACHE_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/cache_config.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/layer.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver {

struct CacheSpec {
  std::string type;  // registry, local
  std::map<std::string, std::string> attrs;
};

// Parses "type=T,key=value,…" (CSV; a value may be quoted). A spec without
// any '=' is docker's `--cache-from REF`: type=registry,ref=REF.
// InvalidArgument for an empty spec, a field without '=', an empty or
// repeated key, a missing type or an unterminated quote.
Result<CacheSpec> ParseCacheSpec(std::string_view spec);

// Checks a spec of --export-cache (ValidateCacheExport) or --import-cache
// (ValidateCacheImport): a known type with its required attrs and known
// attr values. InvalidArgument naming the problem; for other types
// (gha, s3, azblob…) "cache type T is not supported by kiln (supported:
// registry, local, inline)"; inline is an export type only.
Status ValidateCacheExport(const CacheSpec& spec);
Status ValidateCacheImport(const CacheSpec& spec);

// A short name of a spec for messages: the ref, or the directory.
std::string CacheSpecName(const CacheSpec& spec);

// Collects, over all solves of a build, each exec/file/merge/diff vertex's
// cache key and output snapshots (executed or answered from a cache): the
// input of ExportCache. Thread-safe.
class CacheRecorder {
 public:
  struct Entry {
    Digest key;
    std::vector<std::string> outputs;  // committed snapshots; "" = empty
  };
  void Add(const Digest& key, std::vector<std::string> outputs);
  // Every entry, by key.
  std::vector<Entry> Entries() const;

 private:
  mutable std::mutex mu_;
  std::map<Digest, std::vector<std::string>> entries_;  // guarded by mu_
};

// What ExportCache and ImportedCache use; borrowed, must outlive the call.
struct CacheServices {
  Snapshotter* snapshots = nullptr;    // export
  ContentStore* content = nullptr;     // both
  LayerCache* layers = nullptr;        // export (may be null)
  RegistryClient* registry = nullptr;  // type=registry
};

// Writes the cache of `recorded` (mode per spec, relative to the result
// snapshots `results`, one per platform, "" = empty filesystem) to the
// spec's destination:
// layer blobs and config into services.content, then pushed (registry) or
// written into the OCI layout DIR, blobs first and index.json last by
// rename, so an interrupted export never leaves an index naming missing
// blobs. Records whose snapshots went missing are left out. Returns the
// cache manifest's descriptor. Errors: InvalidArgument for a bad spec;
// FailedPrecondition for a missing service; layer, registry and file system
// errors with context.
Result<oci::Descriptor> ExportCache(const CacheSpec& spec,
                                    const CacheRecorder& recorded,
                                    const std::vector<std::string>& results,
                                    const CacheServices& services);

// type=inline (BuildKit's inline cache): the cache config JSON
// (cache_config.h) to embed in the image exported from the result snapshot
// `result`: the records of `recorded` whose outputs are all in the
// result's chain, its layers the image's own layers in order (made with
// `compression` and remembered in services.layers, so the image export
// reuses exactly these blobs). Errors: layer and snapshot errors.
Result<std::string> InlineCacheConfig(const CacheRecorder& recorded,
                                      const std::string& result,
                                      const CacheServices& services,
                                      oci::Compression compression);

// The image config JSON `image_config` with `cache_config` added under
// "moby.buildkit.cache.v0" (base64, as BuildKit stores it); other fields
// keep their order. InvalidArgument when image_config is not a JSON object.
Result<std::string> EmbedInlineCache(std::string_view image_config,
                                     std::string_view cache_config);

// The name of the image config field holding an inline cache.
inline constexpr std::string_view kInlineCacheField = "moby.buildkit.cache.v0";

// An imported cache: its records, with layer blobs fetched only when a
// result is used (Fetch).
class ImportedCache {
 public:
  // Reads the cache manifest and config the spec names (small documents;
  // no layer is fetched); a registry ref naming an image manifest reads the
  // inline cache in its config. Errors: InvalidArgument for a bad spec;
  // NotFound when the ref, tag or layout is missing; FailedPrecondition for a
  // cache written by another builder or a ref naming an image or index rather
  // than a kiln cache manifest; DataLoss/InvalidArgument for a corrupt one;
  // registry errors. Errors name the cache.
  static Result<std::unique_ptr<ImportedCache>> Load(
      const CacheSpec& spec, const CacheServices& services);
  // A cache of a parsed config; Fetch gets blobs from where `spec` says.
  ImportedCache(std::string name, CacheConfig config, CacheSpec spec,
                const CacheServices& services);

  const std::string& name() const { return name_; }
  size_t size() const { return by_key_.size(); }
  // The layer chain (bottom first) of each output of `key`; nullopt when
  // the cache has no record of it.
  std::optional<std::vector<std::vector<LayerBlob>>> Find(
      const Digest& key) const;
  // Makes `blob` present in `content` (verified against its digest).
  // NotFound when the cache lacks it; DataLoss when its bytes do not match.
  Status Fetch(const oci::Descriptor& blob, ContentStore& content) const;

 private:
  std::string name_;
  CacheConfig config_;
  CacheSpec spec_;
  CacheServices services_;
  std::map<Digest, size_t> by_key_;  // key → index into config_.records
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_BUILD_CACHE_H_
