// buildctl's du and prune output (usage_print.h).
#include "usage_print.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace kiln::cli {
namespace {

using Row = std::vector<std::string>;

// Columns separated by at least two spaces (buildctl uses a tabwriter).
std::string Table(const std::vector<Row>& rows) {
  std::vector<size_t> widths;
  for (const Row& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line.append(row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.append(line).append("\n");
  }
  return out;
}

std::string Ago(int64_t at_ns, int64_t now_ns) {
  if (at_ns == 0) return "";
  return HumanDuration(now_ns - at_ns) + " ago";
}

// Go's default time format, in UTC.
std::string Timestamp(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string Verbose(const solver::UsageRecord& r, int64_t now_ns) {
  std::vector<Row> rows;
  rows.push_back({"ID:", r.id});
  if (!r.parents.empty()) {
    std::string parents;
    for (const std::string& p : r.parents) {
      if (!parents.empty()) parents += ";";
      parents += p;
    }
    rows.push_back({"Parents:", parents});
  }
  rows.push_back({"Created at:", Timestamp(r.created_at_ns)});
  rows.push_back({"Mutable:", Bool(r.is_mutable)});
  rows.push_back({"Reclaimable:", Bool(!r.in_use)});
  rows.push_back({"Shared:", Bool(r.shared)});
  rows.push_back({"Size:", HumanSize(r.size)});
  if (!r.description.empty()) rows.push_back({"Description:", r.description});
  rows.push_back({"Usage count:", std::to_string(r.usage_count)});
  if (r.last_used_at_ns != 0) {
    rows.push_back({"Last used:", Ago(r.last_used_at_ns, now_ns)});
  }
  if (!r.type.empty()) rows.push_back({"Type:", r.type});
  return Table(rows) + "\n";
}

}  // namespace

std::string HumanSize(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B",  "kB", "MB", "GB", "TB",
                                           "PB", "EB", "ZB", "YB"};
  double size = static_cast<double>(bytes);
  size_t i = 0;
  while (size >= 1000.0 && i + 1 < std::size(kUnits)) {
    size /= 1000.0;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g%s", size, kUnits[i]);
  return buf;
}

std::string HumanDuration(int64_t ns) {
  const int64_t seconds = ns / 1'000'000'000;
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  const int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  const int64_t hours = (seconds + 1800) / 3600;
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(seconds / 3600 / 24 / 365) + " years";
}

std::string FormatUsageRecords(const std::vector<solver::UsageRecord>& records,
                               bool verbose, int64_t now_ns) {
  if (verbose) {
    std::string out;
    for (const solver::UsageRecord& r : records) out += Verbose(r, now_ns);
    return out;
  }
  std::vector<Row> rows = {{"ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"}};
  for (const solver::UsageRecord& r : records) {
    rows.push_back({r.id + (r.is_mutable ? "*" : ""), Bool(!r.in_use),
                    HumanSize(r.size) + (r.shared ? "*" : ""),
                    Ago(r.last_used_at_ns, now_ns)});
  }
  return Table(rows);
}

std::string FormatUsageSummary(
    const std::vector<solver::UsageRecord>& records) {
  int64_t total = 0, reclaimable = 0, shared = 0;
  for (const solver::UsageRecord& r : records) {
    if (r.size > 0) {
      total += r.size;
      if (!r.in_use) reclaimable += r.size;
    }
    if (r.shared) shared += r.size;
  }
  std::vector<Row> rows;
  if (shared > 0) {
    rows.push_back({"Shared:", HumanSize(shared)});
    rows.push_back({"Private:", HumanSize(total - shared)});
  }
  rows.push_back({"Reclaimable:", HumanSize(reclaimable)});
  rows.push_back({"Total:", HumanSize(total)});
  return Table(rows);
}

std::string FormatDiskUsage(std::vector<solver::UsageRecord> records,
                            bool verbose, int64_t now_ns) {
  std::stable_sort(
      records.begin(), records.end(),
      [](const solver::UsageRecord& a, const solver::UsageRecord& b) {
        return a.size > b.size;
      });
  std::string out;
  if (!records.empty() || !verbose) {
    out = FormatUsageRecords(records, verbose, now_ns);
  }
  if (!verbose) out += "\n";
  return out + FormatUsageSummary(records);
}

std::string FormatPruned(const std::vector<solver::UsageRecord>& removed,
                         bool verbose, int64_t now_ns) {
  int64_t total = 0;
  for (const solver::UsageRecord& r : removed) total += r.size;
  std::string out;
  if (!removed.empty()) out = FormatUsageRecords(removed, verbose, now_ns);
  return out + Table({{"Total:", HumanSize(total)}});
}

}  // namespace kiln::cli
