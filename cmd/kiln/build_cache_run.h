// Cache import and export around a build (solver/build_cache.h), shared by
// `kiln build` (embedded) and kilnd's Control.Solve: specs parsed and
// checked before the build, imports loaded before it (a cache that cannot
// be read is a warning, never a failed build, as with BuildKit), exports
// run after the image export (a failure is a build error naming the cache).
#ifndef KILN_CMD_KILN_BUILD_CACHE_RUN_H_
#define KILN_CMD_KILN_BUILD_CACHE_RUN_H_

#include <memory>
#include <string>
#include <vector>

#include "build_frontend.h"
#include "kiln/llb/status.h"
#include "kiln/solver/build_cache.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/progress.h"
#include "state_root.h"

namespace kiln::cli {

struct CacheSpecs {
  std::vector<solver::CacheSpec> exports;
  std::vector<solver::CacheSpec> imports;
};

// Parses and checks --export-cache/--cache-to and --import-cache/
// --cache-from values (build_cache.h syntax; a bare REF is a registry
// ref). InvalidArgument naming the flag value.
Result<CacheSpecs> ParseCacheSpecs(const std::vector<std::string>& exports,
                                   const std::vector<std::string>& imports);

// The imported caches of one build. Owns them; Pointers() is what
// SolveRequest::cache_imports takes.
struct LoadedCaches {
  std::vector<std::unique_ptr<solver::ImportedCache>> caches;
  std::vector<std::string> warnings;  // caches that could not be read
  std::vector<const solver::ImportedCache*> Pointers() const;
};

// Loads each import, reporting an "importing cache manifest from NAME"
// vertex on `progress` (may be null). A cache that cannot be loaded is
// skipped with a warning (in the result, and as the vertex's error log).
LoadedCaches LoadCacheImports(Root& root,
                              const std::vector<solver::CacheSpec>& imports,
                              solver::ProgressSink* progress);

// Before a build: the image output a type=inline export goes into (null
// without an inline spec). InvalidArgument when there is no image, oci or
// docker output, or it rewrites timestamps (its layers would not be the
// cache's).
Result<const solver::ExportRequest*> CheckInlineCache(
    const std::vector<solver::CacheSpec>& exports,
    const std::vector<solver::ExportRequest>& outputs);

// For a type=inline export: sets each platform's inline_cache to the cache
// config the image exporters embed, made with the compression of the first
// image, oci or docker output (whose layers it then shares). Nothing without an
// inline spec. Errors of CheckInlineCache, and of reading the layers.
Status PrepareInlineCache(Root& root,
                          const std::vector<solver::CacheSpec>& exports,
                          const solver::CacheRecorder& recorded,
                          const std::vector<solver::ExportRequest>& outputs,
                          BuildOutput& output);

// Exports `recorded` to each spec (type=inline specs are skipped: the image
// exporters wrote them) (an "exporting cache to NAME" vertex on
// `progress`, may be null), relative to the result `output`.
// Returns the manifest digest per export. Errors name the cache; an export
// with ignore-error=true only warns (its entry is then "").
Result<std::vector<std::string>> ExportCaches(
    Root& root, const std::vector<solver::CacheSpec>& exports,
    const solver::CacheRecorder& recorded, const BuildOutput& output,
    solver::ProgressSink* progress, std::vector<std::string>* warnings);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_CACHE_RUN_H_
