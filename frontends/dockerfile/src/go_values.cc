// Go's value parsers, reimplemented for the few syntaxes Dockerfile flags and
// mount options use.
#include "go_values.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace kiln::dockerfile::govalue {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status DurationError(std::string_view what, std::string_view s) {
  return InvalidArgumentError("time: " + std::string(what) + " \"" +
                              std::string(s) + "\"");
}

// Nanoseconds per unit, or 0 for an unknown unit.
int64_t UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;
  if (unit == "ms") return 1000000;
  if (unit == "s") return 1000000000;
  if (unit == "m") return int64_t{60} * 1000000000;
  if (unit == "h") return int64_t{3600} * 1000000000;
  return 0;
}

}  // namespace

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" ||
      s == "True")
    return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" ||
      s == "False")
    return false;
  return std::nullopt;
}

std::optional<uint64_t> ParseUint(std::string_view s, int base, uint64_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (!IsDigit(c) || c - '0' >= base) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / static_cast<uint64_t>(base))
      return std::nullopt;
    value = value * static_cast<uint64_t>(base) + digit;
  }
  return value;
}

std::optional<int64_t> ParseInt(std::string_view s, int64_t min, int64_t max) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const uint64_t limit = negative ? static_cast<uint64_t>(-(min + 1)) + 1
                                  : static_cast<uint64_t>(max);
  std::optional<uint64_t> magnitude = ParseUint(s, 10, limit);
  if (!magnitude) return std::nullopt;
  if (negative) return static_cast<int64_t>(0 - *magnitude);
  return static_cast<int64_t>(*magnitude);
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view orig) {
  std::string_view s = orig;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return DurationError("invalid duration", orig);
  constexpr uint64_t kMax =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(IsDigit(s[0]) || s[0] == '.'))
      return DurationError("invalid duration", orig);
    uint64_t whole = 0;
    size_t i = 0;
    bool overflow = false;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (whole > (kMax - static_cast<uint64_t>(s[i] - '0')) / 10)
        overflow = true;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    if (overflow) return DurationError("invalid duration", orig);
    const bool had_whole = i > 0;
    double fraction = 0;
    bool had_fraction = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      double scale = 0.1;
      for (; i < s.size() && IsDigit(s[i]); ++i) {
        fraction += (s[i] - '0') * scale;
        scale /= 10;
        had_fraction = true;
      }
    }
    if (!had_whole && !had_fraction)
      return DurationError("invalid duration", orig);
    s.remove_prefix(i);
    size_t unit_end = 0;
    while (unit_end < s.size() && s[unit_end] != '.' && !IsDigit(s[unit_end]))
      ++unit_end;
    if (unit_end == 0) return DurationError("missing unit in duration", orig);
    const std::string_view unit = s.substr(0, unit_end);
    s.remove_prefix(unit_end);
    const int64_t nanos = UnitNanos(unit);
    if (nanos == 0) {
      return InvalidArgumentError("time: unknown unit \"" + std::string(unit) +
                                  "\" in duration \"" + std::string(orig) +
                                  "\"");
    }
    const uint64_t unit_nanos = static_cast<uint64_t>(nanos);
    if (whole > kMax / unit_nanos)
      return DurationError("invalid duration", orig);
    uint64_t value = whole * unit_nanos;
    value += static_cast<uint64_t>(fraction * static_cast<double>(unit_nanos));
    if (value > kMax || total > kMax - value)
      return DurationError("invalid duration", orig);
    total += value;
  }
  const int64_t signed_total = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -signed_total : signed_total);
}

std::optional<int64_t> RamInBytes(std::string_view s) {
  // ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == 0) return std::nullopt;
  size_t dots = 0;
  while (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j == i + 1) return std::nullopt;
    ++dots;
    i = j;
  }
  if (dots > 1) return std::nullopt;  // ParseFloat rejects "1.2.3"
  const std::string number(s.substr(0, i));
  std::string_view rest = s.substr(i);
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  double multiplier = 1;
  if (!rest.empty()) {
    static constexpr std::string_view kUnits = "kmgtp";
    const size_t unit =
        kUnits.find(static_cast<char>(rest[0] | 0x20));  // ASCII lower
    if (unit != std::string_view::npos && std::isalpha(rest[0])) {
      multiplier = std::pow(1024.0, static_cast<double>(unit + 1));
      rest.remove_prefix(1);
    }
  }
  if (!rest.empty() && (rest[0] == 'i' || rest[0] == 'I'))
    rest.remove_prefix(1);
  if (!rest.empty() && (rest[0] == 'b' || rest[0] == 'B'))
    rest.remove_prefix(1);
  if (!rest.empty()) return std::nullopt;
  const double bytes = std::stod(number) * multiplier;
  if (!(bytes < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

Result<std::vector<std::string>> ReadCsvRecord(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  if (line.empty()) return InvalidArgumentError("EOF");
  std::vector<std::string> fields;
  size_t pos = 0;
  while (true) {
    std::string field;
    if (pos < line.size() && line[pos] == '"') {
      ++pos;
      while (true) {
        if (pos >= line.size())
          return InvalidArgumentError(
              "extraneous or missing \" in quoted-field");
        if (line[pos] == '"') {
          if (pos + 1 < line.size() && line[pos + 1] == '"') {
            field += '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        field += line[pos++];
      }
      if (pos < line.size() && line[pos] != ',')
        return InvalidArgumentError("extraneous or missing \" in quoted-field");
    } else {
      const size_t end = std::min(line.find(',', pos), line.size());
      field = std::string(line.substr(pos, end - pos));
      if (field.find('"') != std::string::npos)
        return InvalidArgumentError("bare \" in non-quoted-field");
      pos = end;
    }
    fields.push_back(std::move(field));
    if (pos >= line.size()) break;
    ++pos;  // the comma
  }
  return fields;
}

}  // namespace kiln::dockerfile::govalue
