// kiln prune: removes build cache, as `buildctl prune`.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cache_usage.h"
#include "cli_util.h"
#include "commands.h"
#include "flags.h"
#include "gc_config.h"
#include "state_root.h"
#include "usage_print.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kPruneUsage = R"(Usage: kiln prune [OPTIONS]

Remove build cache. Records a build is using are never removed; a removed
op simply runs again the next time a build needs it. Images named in the
image store are not cache (see `kiln image rm`).

Without --all, records used within --keep-duration and records sharing
their bytes with others are kept. With none of the size options every
selected record goes; with them, the least recently used go first until
the cache fits.

Options:
  -a, --all                 Also prune shared records
  --filter FILTER           Only records matching FILTER (repeatable; see
                            `kiln du --help`)
  --keep-duration DURATION  Keep records used within DURATION (e.g. 24h)
  --keep-storage SIZE       Keep at least SIZE of cache (e.g. 10GB; alias
                            --reserved-space)
  --max-used-space SIZE     Prune until the cache is at most SIZE
  --min-free-space SIZE     Prune until the disk has SIZE free
  -v, --verbose             One block per removed record
  -h, --help                Show this help

Sizes: bytes, or a number with a unit (512MB, 10GB: powers of 1024), or a
percentage of the disk (10%).
)";

}  // namespace

int RunPrune(CacheUsage& cache, const std::vector<std::string>& args) {
  Flags flags;
  flags.Bool("all", 'a')
      .Value("filter")
      .Value("keep-duration")
      .Value("keep-storage")
      .Value("reserved-space")
      .Value("max-used-space")
      .Value("min-free-space")
      .Bool("verbose", 'v');
  if (!flags.Parse(args)) {
    return UsageError(kPruneUsage, "kiln prune: " + flags.error());
  }
  if (flags.help()) return PrintUsage(kPruneUsage);
  if (!flags.positional().empty()) {
    return UsageError(kPruneUsage, "kiln prune: unexpected argument \"" +
                                       flags.positional()[0] + "\"");
  }
  solver::PruneOptions options;
  options.all = flags.Has("all");
  options.filters = flags.All("filter");
  if (auto d = flags.Get("keep-duration")) {
    auto parsed = solver::ParseGcDuration(*d);
    if (!parsed.ok()) {
      return UsageError(kPruneUsage, "kiln prune: --keep-duration: " +
                                         parsed.status().message());
    }
    options.keep_duration_ns = *parsed;
  }
  // Percentages are of the disk holding the cache (unknown for a daemon).
  const int64_t disk = cache.DiskBytes();
  struct SizeFlag {
    const char* name;
    int64_t* field;
  } sizes[] = {{"keep-storage", &options.reserved_space},
               {"reserved-space", &options.reserved_space},
               {"max-used-space", &options.max_used_space},
               {"min-free-space", &options.min_free_space}};
  for (const SizeFlag& f : sizes) {
    auto value = flags.Get(f.name);
    if (!value) continue;
    if (disk == 0 && value->ends_with("%")) {
      return UsageError(kPruneUsage, std::string("kiln prune: --") + f.name +
                                         ": a percentage of the daemon's "
                                         "disk is not supported with --addr");
    }
    auto parsed = ParseByteSize(*value, disk);
    if (!parsed.ok()) {
      return UsageError(kPruneUsage, std::string("kiln prune: --") + f.name +
                                         ": " + parsed.status().message());
    }
    *f.field = *parsed;
  }
  KILN_CLI_ASSIGN(std::vector<solver::UsageRecord> removed,
                  cache.Prune(options), "kiln prune");
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string out = FormatPruned(removed, flags.Has("verbose"), now);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace kiln::cli
