// Filters of du and prune (gc.h) and Go durations.
#include <cctype>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "kiln/solver/gc.h"
#include "solver_gc_internal.h"

namespace kiln::solver {
namespace {

Status BadDuration(std::string_view text) {
  return InvalidArgumentError("invalid duration \"" + std::string(text) +
                              "\" (expected e.g. 48h, 1h30m, 90s)");
}

}  // namespace

Result<int64_t> ParseGcDuration(std::string_view text) {
  if (text.empty()) return BadDuration(text);
  if (text == "0") return int64_t{0};
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (
        i < text.size() &&
        (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (i == start) return BadDuration(text);
    std::string number(text.substr(start, i - start));
    size_t unit_start = i;
    while (i < text.size() &&
           std::isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns") scale = 1;
    if (unit == "us" || unit == "µs") scale = 1e3;
    if (unit == "ms") scale = 1e6;
    if (unit == "s") scale = 1e9;
    if (unit == "m") scale = 60e9;
    if (unit == "h") scale = 3600e9;
    if (scale == 0) return BadDuration(text);
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end == nullptr || *end != '\0') return BadDuration(text);
    total += value * scale;
  }
  if (!std::isfinite(total) || total > 9.2e18) return BadDuration(text);
  return static_cast<int64_t>(total);
}

Status CheckGcFilters(const std::vector<std::string>& filters) {
  return internal::GcFilter::Parse(filters).status();
}

namespace internal {

Result<GcFilter> GcFilter::Parse(const std::vector<std::string>& filters) {
  GcFilter out;
  for (const std::string& filter : filters) {
    auto bad = [&](const std::string& why) {
      return InvalidArgumentError("filter \"" + filter + "\": " + why);
    };
    size_t start = 0;
    while (start <= filter.size()) {
      size_t comma = filter.find(',', start);
      if (comma == std::string::npos) comma = filter.size();
      std::string clause = filter.substr(start, comma - start);
      start = comma + 1;
      if (clause.empty()) return bad("empty clause");
      if (clause.starts_with("until=")) {
        Result<int64_t> d = ParseGcDuration(clause.substr(6));
        if (!d.ok()) return bad(d.status().message());
        out.until_ns_ = *d;
        continue;
      }
      size_t pos = clause.find_first_of("=!~");
      if (pos == std::string::npos || pos + 1 >= clause.size() ||
          clause[pos + 1] != '=') {
        return bad(
            "expected FIELD==VALUE, FIELD!=VALUE, FIELD~=REGEX or "
            "until=DURATION");
      }
      Clause c;
      c.field = clause.substr(0, pos);
      c.op = clause.substr(pos, 2);
      c.value = clause.substr(pos + 2);
      if (c.op == "==" && c.field.empty()) return bad("missing field");
      if (c.field != "type" && c.field != "id" && c.field != "description" &&
          c.field != "parents") {
        return bad("unknown field \"" + c.field +
                   "\" (type, id, description, parents, until)");
      }
      if (c.op == "~=") {
        try {
          c.regex = std::make_shared<const std::regex>(c.value);
        } catch (const std::regex_error& e) {
          return bad("bad regular expression: " + std::string(e.what()));
        }
      }
      out.clauses_.push_back(std::move(c));
    }
  }
  return out;
}

bool GcFilter::Matches(const UsageRecord& record, int64_t now_ns) const {
  if (until_ns_ > 0) {
    int64_t used = record.last_used_at_ns != 0 ? record.last_used_at_ns
                                               : record.created_at_ns;
    if (used > now_ns - until_ns_) return false;
  }
  for (const Clause& c : clauses_) {
    std::vector<std::string> values;
    if (c.field == "type") values = {record.type};
    if (c.field == "id") values = {record.id};
    if (c.field == "description") values = {record.description};
    if (c.field == "parents") values = record.parents;
    bool any = false;
    for (const std::string& v : values) {
      if (c.op == "~=" ? std::regex_search(v, *c.regex) : v == c.value) {
        any = true;
      }
    }
    if (c.op == "!=" ? any : !any) return false;
  }
  return true;
}

}  // namespace internal
}  // namespace kiln::solver
