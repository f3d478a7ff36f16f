// Heredoc detection on an instruction line (`<<EOF`, `<<-EOF`, `3<<"EOF"`),
// following BuildKit's heredocsFromLine/ParseHeredoc: the line is split into
// shell words (quotes and escapes kept, no variable expansion) and every
// word matching `^(\d*)<<(-?)([^<]*)$` whose rest is a single shell word
// starts a heredoc. Private to the parser.
#ifndef KILN_DOCKERFILE_HEREDOC_H_
#define KILN_DOCKERFILE_HEREDOC_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/parser.h"
#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// Shell word splitting as BuildKit's shell.Lex.ProcessWords with an empty
// environment and SkipUnsetEnv (`$x`, `${x...}` stay as written), escape `\`.
// `raw_quotes`/`raw_escapes` keep quote characters / escape characters in the
// words. Errors (InvalidArgument): an unterminated quote or `${`.
Result<std::vector<std::string>> ShellWords(std::string_view text,
                                            bool raw_quotes, bool raw_escapes);

// ParseHeredoc: the heredoc a single word introduces, if any (name and
// flags set, no content).
Result<std::optional<Heredoc>> ParseHeredocWord(std::string_view word);

// heredocsFromLine: the heredocs of a whole instruction line, in order.
Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_HEREDOC_H_
