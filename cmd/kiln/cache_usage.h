// Where `kiln du` and `kiln prune` get and remove cache records: the
// embedded engine of a state root, or kilnd's DiskUsage / Prune (remote
// mode, remote_cache.cc).
#ifndef KILN_CMD_KILN_CACHE_USAGE_H_
#define KILN_CMD_KILN_CACHE_USAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/gc.h"

namespace kiln::cli {

class Root;
struct RemoteOptions;

class CacheUsage {
 public:
  virtual ~CacheUsage() = default;
  virtual Result<std::vector<solver::UsageRecord>> DiskUsage(
      const std::vector<std::string>& filters) = 0;
  virtual Result<std::vector<solver::UsageRecord>> Prune(
      const solver::PruneOptions& options) = 0;
  // Bytes of the disk holding the cache, for sizes given as a percentage;
  // 0 when unknown (a daemon's disk): percentages are refused then.
  virtual int64_t DiskBytes() = 0;
};

// The state root's solver (borrowed; must outlive the result).
std::unique_ptr<CacheUsage> LocalCacheUsage(Root& root);
// kilnd at options.addr. Errors: a bad address or TLS files.
Result<std::unique_ptr<CacheUsage>> RemoteCacheUsage(
    const RemoteOptions& options);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_CACHE_USAGE_H_
