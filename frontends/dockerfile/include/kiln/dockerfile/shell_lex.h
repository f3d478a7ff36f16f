// Shell-word lexing and variable expansion of Dockerfile instruction
// arguments, with the rules of BuildKit's frontend/dockerfile/shell package
// (lex.go): quotes, the escape character, `$name`, `${name}` and the
// modifiers `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//`.
//
// Rules in short (Linux semantics; Windows case-insensitive names are out of
// scope):
//   - 'single quotes' keep everything literally; "double quotes" expand `$`
//     and let the escape character escape `"`, `$` and itself only.
//   - The escape character (`\`, or backtick after `# escape=`) makes the
//     next character literal; a trailing escape is dropped.
//   - `$` not followed by a name or `{` stays a literal `$`. Names are letters,
//     digits and `_`; a leading digit run (`$1`, `$001`) or one special
//     character (`@ * # ? - $ ! 0`) is a name too, normally unset.
//   - Patterns of `#`, `%` and `/` are shell globs: `*` any run, `?` one
//     character (neither crosses a newline, as upstream's regex `.`), `\*`
//     `\?` `\\` literal, `\}` `\/` a literal `}` `/`. Brackets are literal, as
//     upstream. `//` expands `$0`/`$$` in the replacement like Go's
//     Regexp.ReplaceAllString; `/` does not. `:#` and `:%` are rejected.
//   - Substitutions nest (`${a:-${b}}`) up to 256 levels; deeper is an
//     error rather than a stack overflow.
//
// Errors: every failure is kInvalidArgument with upstream's message prefixed
// by `failed to process "<word>": `, e.g. "syntax error: missing '}'",
// "syntax error: bad substitution", "unsupported modifier (=) in
// substitution", "NAME: is not allowed to be unset" (or the `?` message).
// Any input either succeeds or returns an error; none crashes or hangs.
//
// Thread safety: the functions are reentrant; `env` is called on the calling
// thread only, during the call.
#ifndef KILN_DOCKERFILE_SHELL_LEX_H_
#define KILN_DOCKERFILE_SHELL_LEX_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// Environment lookup for expansion: returns nullopt when unset. A set but
// empty variable returns an empty string (this matters for `:-` vs `-`).
using EnvLookup =
    std::function<std::optional<std::string>(std::string_view name)>;

// Upstream's Lex fields.
struct LexOptions {
  // The escape character: '\\' or '`' (from the `# escape=` directive).
  char escape = '\\';
  // Keep the quote characters in the result (quotes still group).
  bool raw_quotes = false;
  // Keep the escape characters in the result (they still escape).
  bool raw_escapes = false;
  // Treat quotes as ordinary characters.
  bool skip_process_quotes = false;
  // Leave references to unset variables as written (`$X`, `${X:-w}`).
  bool skip_unset_env = false;
};

struct ExpandResult {
  // The expanded word (ProcessWord's result).
  std::string result;
  // The word split on unquoted whitespace after expansion (ProcessWords).
  std::vector<std::string> words;
  // Names looked up and found set, and looked up and found unset.
  std::set<std::string> matched;
  std::set<std::string> unmatched;
};

// Expands `word` into one string; whitespace is kept.
Result<std::string> ProcessWord(std::string_view word, const EnvLookup& env,
                                const LexOptions& options = {});

// Expands `word` and splits it into words on whitespace that is neither
// quoted nor escaped; whitespace inside an unquoted `$` expansion splits too.
// Empty words (e.g. `""`) are dropped.
Result<std::vector<std::string>> ProcessWords(std::string_view word,
                                              const EnvLookup& env,
                                              const LexOptions& options = {});

// ProcessWord and ProcessWords at once, plus which variables were used
// (for the UndefinedVar check).
Result<ExpandResult> ProcessWordWithMatches(std::string_view word,
                                            const EnvLookup& env,
                                            const LexOptions& options = {});

// An EnvLookup over `KEY=VALUE` strings (a string without `=` is set and
// empty; a later duplicate wins), like upstream's EnvsFromSlice. The
// returned lookup owns a copy of the data.
EnvLookup EnvFromList(const std::vector<std::string>& env);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_SHELL_LEX_H_
