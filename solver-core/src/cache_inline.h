// Reading an inline cache (build_cache.h, type=inline) from an image.
// Private to solver-core.
#ifndef KILN_SOLVER_SRC_CACHE_INLINE_H_
#define KILN_SOLVER_SRC_CACHE_INLINE_H_

#include <string_view>

#include "kiln/llb/status.h"
#include "kiln/solver/cache_config.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {

// The cache embedded in the config JSON of the image `image`. Errors:
// FailedPrecondition when the config has none, or one written by another
// builder (ParseCacheManifest's); InvalidArgument when it is malformed.
Result<CacheConfig> ParseInlineCache(const oci::Manifest& image,
                                     std::string_view image_config);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_CACHE_INLINE_H_
