// Image times under a source date epoch: RFC 3339 formatting and parsing,
// and the clamping of history times as BuildKit's image writer does it.
#include <time.h>

#include <cstdio>

#include "export_internal.h"

namespace kiln::solver::internal {

std::string Rfc3339(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseRfc3339(std::string_view text) {
  std::string s(text);
  struct tm tm {};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  if (*rest == '.') {  // fractional seconds: dropped (times floor)
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  int64_t offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hours = 0, minutes = 0, used = 0;
    if (std::sscanf(rest + 1, "%2d:%2d%n", &hours, &minutes, &used) != 2 ||
        used != 5) {
      return std::nullopt;
    }
    offset = (hours * 60 + minutes) * 60;
    if (*rest == '-') offset = -offset;
    rest += 1 + used;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

namespace {

bool SameEntry(const oci::History& a, const oci::History& b) {
  return a.created == b.created && a.created_by == b.created_by &&
         a.author == b.author && a.comment == b.comment &&
         a.empty_layer == b.empty_layer;
}

}  // namespace

void ClampHistoryTimes(const std::vector<oci::History>& base, int64_t epoch,
                       std::vector<oci::History>* history) {
  const std::string stamp = Rfc3339(epoch);
  bool diverged = false;
  for (size_t i = 0; i < history->size(); ++i) {
    oci::History& h = (*history)[i];
    if (!diverged && i < base.size() && SameEntry(h, base[i])) continue;
    diverged = true;
    if (h.created.empty()) {
      h.created = stamp;
      continue;
    }
    std::optional<int64_t> t = ParseRfc3339(h.created);
    if (t.has_value() && *t > epoch) h.created = stamp;
  }
}

}  // namespace kiln::solver::internal
