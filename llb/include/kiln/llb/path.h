// Slash-separated path helpers with Go's `path` package semantics, which
// LLB paths follow (BuildKit normalizes paths this way): purely lexical, no
// filesystem access.
#ifndef KILN_LLB_PATH_H_
#define KILN_LLB_PATH_H_

#include <string>
#include <string_view>

namespace kiln::llb {

// Go's path.Clean: "" → ".", repeated slashes, "." and ".." elements
// removed ("/../a" → "/a", "a/../.." → ".."), no trailing slash.
std::string CleanPath(std::string_view path);

// Go's path.Join of two elements (empty elements ignored), cleaned; ""
// when both are empty.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace kiln::llb

#endif  // KILN_LLB_PATH_H_
