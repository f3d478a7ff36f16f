// The shell-word lexer behind kiln/dockerfile/shell_lex.h.
//
// Thread safety: reentrant; `env` is called on the calling thread only.
#ifndef KILN_DOCKERFILE_SRC_SHELL_WORD_H_
#define KILN_DOCKERFILE_SRC_SHELL_WORD_H_

#include <string_view>

#include "kiln/dockerfile/shell_lex.h"
#include "kiln/llb/status.h"

namespace kiln::dockerfile::internal {

// Expands `word` into `out` (result, words, matched and unmatched names).
// Errors: kInvalidArgument with upstream's message, without the
// "failed to process" context the public functions add.
Status ExpandWord(std::string_view word, const EnvLookup& env,
                  const LexOptions& options, ExpandResult* out);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_SHELL_WORD_H_
