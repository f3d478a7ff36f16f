// The closest-word search behind "did you mean" (util/suggest).
#include "suggest.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace kiln::dockerfile {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> Suggest(std::string_view value,
                                   const std::vector<std::string>& options,
                                   bool case_sensitive) {
  const std::string key = case_sensitive ? std::string(value) : Lower(value);
  std::optional<std::string> match;
  size_t best = 3;  // as upstream (and HCL): distances 0..2 only
  for (const std::string& option : options) {
    const std::string candidate = case_sensitive ? option : Lower(option);
    if (candidate == key) return std::nullopt;  // the error is elsewhere
    const size_t distance = EditDistance(key, candidate);
    if (distance < best) {
      best = distance;
      if (case_sensitive) {
        match = option;
      } else if (value == Lower(value)) {
        match = candidate;
      } else if (value == Upper(value)) {
        match = Upper(candidate);
      } else {
        match = candidate;
      }
    }
  }
  return match;
}

std::string WithSuggestion(std::string message, std::string_view value,
                           const std::vector<std::string>& options,
                           bool case_sensitive) {
  std::optional<std::string> match = Suggest(value, options, case_sensitive);
  if (match) message += " (did you mean " + *match + "?)";
  return message;
}

}  // namespace kiln::dockerfile
