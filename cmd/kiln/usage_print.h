// Printing cache usage records (solver/gc.h) as buildctl does: `buildctl
// du` (a table or, verbose, one block per record, then the summary) and
// `buildctl prune` (what was removed, then the total). For `kiln du` /
// `kiln prune` and any client that gets records from kilnd.
//
// Thread safety: pure functions.
#ifndef KILN_CMD_KILN_USAGE_PRINT_H_
#define KILN_CMD_KILN_USAGE_PRINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/solver/gc.h"

namespace kiln::cli {

// Docker's units.HumanSize: 4 significant digits and decimal units ("512B",
// "4.096kB", "10MB", "1.5GB").
std::string HumanSize(int64_t bytes);
// Docker's units.HumanDuration ("Less than a second", "5 minutes",
// "About an hour", "3 days").
std::string HumanDuration(int64_t ns);

// The ID / RECLAIMABLE / SIZE / LAST ACCESSED table (a mutable record's ID
// and a shared record's size marked with "*"), or with `verbose` one block
// of "Key: value" lines per record. Times relative to `now_ns`.
std::string FormatUsageRecords(const std::vector<solver::UsageRecord>& records,
                               bool verbose, int64_t now_ns);
// The summary under `du`: "Shared:" and "Private:" (when something is
// shared), "Reclaimable:" (what is not in use) and "Total:".
std::string FormatUsageSummary(const std::vector<solver::UsageRecord>& records);
// `du`'s whole output: records (largest first) then the summary.
std::string FormatDiskUsage(std::vector<solver::UsageRecord> records,
                            bool verbose, int64_t now_ns);
// `prune`'s output: the removed records, then "Total: <freed>".
std::string FormatPruned(const std::vector<solver::UsageRecord>& removed,
                         bool verbose, int64_t now_ns);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_USAGE_PRINT_H_
