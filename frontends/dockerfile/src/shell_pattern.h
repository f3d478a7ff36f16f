// The glob patterns of `${v#p}`, `${v%p}` and `${v/p/r}`, matched as
// BuildKit does after converting them to a Go regular expression: `*` is
// `.*` (greedy) or `.*?` (lazy), `?` is `.`, neither matches a newline, and
// the match chosen is the leftmost, then the one a backtracking matcher
// finds first (Go's leftmost-first semantics). No regex engine is involved.
//
// Pattern syntax (after the lexer kept escapes raw): `\*` `\?` `\\` are
// literal; `\}` and `\/` are `}` and `/`; any other `\x` is an error;
// everything else, brackets included, is literal.
//
// Thread safety: values; the functions are reentrant.
#ifndef KILN_DOCKERFILE_SRC_SHELL_PATTERN_H_
#define KILN_DOCKERFILE_SRC_SHELL_PATTERN_H_

#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::dockerfile::internal {

// `value` without the shortest (longest if `longest`) prefix matching
// `pattern`, or `value` unchanged when none matches.
// Errors: kInvalidArgument "invalid pattern (P) in substitution: ...".
Result<std::string> TrimPrefix(std::string_view pattern, std::string_view value,
                               bool longest);

// The same for a suffix (`%` and `%%`).
Result<std::string> TrimSuffix(std::string_view pattern, std::string_view value,
                               bool longest);

// `value` with the first (every, if `all`) longest match of `pattern`
// replaced by `replacement`. With `all`, `replacement` is expanded like Go's
// Regexp.ReplaceAllString: `$$` is `$`, `$0`/`${0}` the match, any other
// `$name` empty.
Result<std::string> Replace(std::string_view pattern, std::string_view value,
                            std::string_view replacement, bool all);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_SHELL_PATTERN_H_
