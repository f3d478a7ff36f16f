// The Kilnfile language: one instruction per line, `#` starts a comment line.
//
//   from IMAGE            base image ("scratch" = empty); must come first
//   env KEY=VALUE         environment for later runs and the image
//   workdir DIR           working directory (created), relative to the last
//   user NAME             user for later runs and the image
//   run COMMAND...        runs `/bin/sh -c COMMAND`
//   copy SRC... DEST      copies from the build context (globs allowed)
//   entrypoint ARG...     image entrypoint, words split like sh
//   cmd ARG...            image default arguments, words split like sh
#ifndef KILNFILE_KILNFILE_H_
#define KILNFILE_KILNFILE_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kilnfile {

struct Instruction {
  std::string keyword;  // lowercase: "from", "run", ...
  std::string args;     // the rest of the line, trimmed
  int line = 0;         // 1-based
};

// Parses `text` (the file `filename`). InvalidArgument for an unknown
// keyword, a missing argument, a first instruction that is not `from`, a
// second `from`, or `env` without '='; the error carries the line as a
// SourceRange in `filename`, so the build client shows where it is.
kiln::Result<std::vector<Instruction>> Parse(std::string_view text,
                                             const std::string& filename);

}  // namespace kilnfile

#endif  // KILNFILE_KILNFILE_H_
