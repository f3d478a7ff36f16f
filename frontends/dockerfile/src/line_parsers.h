// One logical line → one instruction node, following BuildKit's
// splitCommand, extractBuilderFlags and per-instruction line parsers
// (frontend/dockerfile/parser/line_parsers.go). Private to the parser.
#ifndef KILN_DOCKERFILE_LINE_PARSERS_H_
#define KILN_DOCKERFILE_LINE_PARSERS_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/parser.h"
#include "kiln/llb/status.h"

namespace kiln::dockerfile {

struct SplitLine {
  std::string command;  // lowercased keyword
  std::vector<std::string> flags;
  std::string args;  // the rest, blanks trimmed
};

// Splits off the keyword and the leading `--flag` words (quotes removed,
// `\` escapes the next byte, `--` ends the flags).
SplitLine SplitCommand(std::string_view line);

// Builds the instruction node for a logical line (continuations joined,
// comments removed). `escape_token` is the current escape character.
// Errors: InvalidArgument without a range (the caller adds it).
Result<Node> NewNodeFromLine(std::string_view line, char escape_token);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_LINE_PARSERS_H_
