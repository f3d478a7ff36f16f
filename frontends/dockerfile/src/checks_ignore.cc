// .dockerignore matching for the CopyIgnoredFile check: moby's
// patternmatcher MatchesOrParentMatches over cleaned patterns (as
// ParseDockerignore returns them): `*`, `?` and `[...]` within one path
// element (Go's filepath.Match, here fnmatch with FNM_PATHNAME), `**` any
// number of elements, a leading `!` re-includes, the last matching pattern
// wins, and a path is excluded when it or one of its parents matches.
#include <fnmatch.h>

#include <string>
#include <vector>

#include "checks_internal.h"

namespace kiln::dockerfile::internal {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view element = path.substr(start, slash - start);
    if (!element.empty() && element != ".") out.emplace_back(element);
    start = slash + 1;
  }
  return out;
}

// Pattern elements [pi..] against path elements [si..].
bool MatchElements(const std::vector<std::string>& pattern, size_t pi,
                   const std::vector<std::string>& path, size_t si) {
  if (pi == pattern.size()) return si == path.size();
  if (pattern[pi] == "**") {
    for (size_t k = si; k <= path.size(); ++k) {
      if (MatchElements(pattern, pi + 1, path, k)) return true;
    }
    return false;
  }
  if (si == path.size()) return false;
  if (fnmatch(pattern[pi].c_str(), path[si].c_str(), FNM_PATHNAME) != 0) {
    return false;
  }
  return MatchElements(pattern, pi + 1, path, si + 1);
}

bool Matches(const std::string& pattern, const std::vector<std::string>& path) {
  return MatchElements(Split(pattern), 0, path, 0);
}

}  // namespace

bool IgnoredByDockerignore(std::string_view path,
                           const std::vector<std::string>& patterns) {
  std::vector<std::string> elements = Split(path);
  if (elements.empty()) return false;
  bool ignored = false;
  for (const std::string& raw : patterns) {
    const bool exclusion = raw.starts_with("!");
    const std::string pattern = exclusion ? raw.substr(1) : raw;
    bool match = false;
    // The path itself or one of its parents.
    for (size_t n = elements.size(); n >= 1 && !match; --n) {
      std::vector<std::string> prefix(elements.begin(), elements.begin() + n);
      match = Matches(pattern, prefix);
    }
    if (match) ignored = !exclusion;
  }
  return ignored;
}

}  // namespace kiln::dockerfile::internal
