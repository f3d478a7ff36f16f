// "did you mean" suggestions, as BuildKit's util/suggest: the option closest
// to a mistyped word by Levenshtein distance, if that distance is below 3.
// Private to the Dockerfile frontend.
#ifndef KILN_DOCKERFILE_SUGGEST_H_
#define KILN_DOCKERFILE_SUGGEST_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::dockerfile {

// Levenshtein distance over bytes (unit costs).
size_t EditDistance(std::string_view a, std::string_view b);

// The closest option, or nullopt when none is within distance 2 or `value`
// equals an option. Ties go to the earlier option. Case-insensitive matching
// returns the option in `value`'s case when `value` is all lower or all upper.
std::optional<std::string> Suggest(std::string_view value,
                                   const std::vector<std::string>& options,
                                   bool case_sensitive);

// `message` with " (did you mean X?)" appended when Suggest finds an X.
std::string WithSuggestion(std::string message, std::string_view value,
                           const std::vector<std::string>& options,
                           bool case_sensitive);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_SUGGEST_H_
