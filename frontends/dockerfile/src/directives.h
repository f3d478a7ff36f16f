// Parser directives (`# syntax=`, `# escape=`, `# check=`) and the escape
// token they set, following BuildKit's DirectiveParser. Private to the parser.
#ifndef KILN_DOCKERFILE_DIRECTIVES_H_
#define KILN_DOCKERFILE_DIRECTIVES_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "kiln/dockerfile/parser.h"
#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// Reads directives from the first lines of a file. Every physical line goes
// through ParseLine; the first line that is not a known directive (a blank
// line, an instruction, any other comment) ends the directive block.
class DirectiveScanner {
 public:
  // Returns true when `line` (newline and leading blanks removed) was a
  // directive; updates directives(). Errors (InvalidArgument): a repeated
  // directive, an escape token other than ` or \.
  Result<bool> ParseLine(std::string_view line);

  const Directives& directives() const { return directives_; }

 private:
  int line_ = 0;
  bool done_ = false;
  std::set<std::string> seen_;
  Directives directives_;
};

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_DIRECTIVES_H_
