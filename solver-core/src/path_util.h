// Lexical handling of slash-separated relative paths (tar entry names, link
// targets, paths inside a layer or an archive): splitting, joining and the
// two ways of cleaning that solver-core needs. Nothing here touches the file
// system. Private to solver-core.
//
// Thread safety: pure functions.
#ifndef KILN_SOLVER_SRC_PATH_UTIL_H_
#define KILN_SOLVER_SRC_PATH_UTIL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::solver::internal {

// The components of `path`, dropping empty and "." ones (so a leading,
// doubled or trailing '/' adds nothing): "/a/./b//c/" → {"a", "b", "c"}.
// ".." is kept.
std::vector<std::string> SplitPath(std::string_view path);

// Joins the first `count` components with '/' ("" for none).
std::string JoinPath(const std::vector<std::string>& components, size_t count);
inline std::string JoinPath(const std::vector<std::string>& components) {
  return JoinPath(components, components.size());
}

// Resolves `path` against a root, as extraction does: SplitPath, then each
// ".." removes the component before it. nullopt when ".." would climb above
// the root. The root itself is {}. "./a/../b" → {"b"}; "a/../.." → nullopt.
std::optional<std::vector<std::string>> CleanPath(std::string_view path);

// `path` joined back from SplitPath (relative, no empty or "." parts), or
// nullopt when any component is "..", wherever it stands: for names that
// must stay inside their root without being resolved. "./a//b" → "a/b",
// "/a" → "a", "a/../b" → nullopt.
std::optional<std::string> CleanPathWithoutDotDot(std::string_view path);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_PATH_UTIL_H_
