// kiln du: the build cache's disk usage, as `buildctl du`.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cache_usage.h"
#include "cli_util.h"
#include "commands.h"
#include "flags.h"
#include "state_root.h"
#include "usage_print.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kDuUsage = R"(Usage: kiln du [OPTIONS]

Show what the build cache holds and how much disk each record takes: one
row per record (an op's snapshot, a cache mount, a synced local source, a
git mirror, a download), then what could be reclaimed and the total.
Sizes count each byte once: a record's size is what removing it frees.

Columns: ID (a "*" marks a mutable record), RECLAIMABLE (false while a
build uses it), SIZE (a "*" marks bytes shared with another record), LAST
ACCESSED.

Options:
  --filter FILTER   Only records matching FILTER (repeatable; all must
                    match): type==regular, type==exec.cachemount,
                    type==source.local, type==source.git.checkout,
                    id==ID, description~=REGEX, until=DURATION (not used
                    within that long, e.g. 24h)
  -v, --verbose     One block per record with every detail (parents,
                    creation time, usage count, type, description)
  -h, --help        Show this help
)";

}  // namespace

int RunDu(CacheUsage& cache, const std::vector<std::string>& args) {
  Flags flags;
  flags.Value("filter").Bool("verbose", 'v');
  if (!flags.Parse(args))
    return UsageError(kDuUsage, "kiln du: " + flags.error());
  if (flags.help()) return PrintUsage(kDuUsage);
  if (!flags.positional().empty()) {
    return UsageError(kDuUsage, "kiln du: unexpected argument \"" +
                                    flags.positional()[0] + "\"");
  }
  KILN_CLI_ASSIGN(std::vector<solver::UsageRecord> records,
                  cache.DiskUsage(flags.All("filter")), "kiln du");
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string out =
      FormatDiskUsage(std::move(records), flags.Has("verbose"), now);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace kiln::cli
