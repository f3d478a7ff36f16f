// Splits a Dockerfile into physical lines with the ANTLR grammar
// (grammar/DockerfileLexer.g4, DockerfileParser.g4). Private to the parser:
// no ANTLR type appears here.
#ifndef KILN_DOCKERFILE_PHYSICAL_LINES_H_
#define KILN_DOCKERFILE_PHYSICAL_LINES_H_

#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::dockerfile {

struct PhysicalLine {
  enum class Kind { kEmpty, kBlank, kComment, kText };
  // The line's bytes including its '\n' (absent on a last unterminated
  // line); a view into the parsed source.
  std::string_view text;
  Kind kind = Kind::kEmpty;
};

// Every physical line of `source`, in order. Any byte sequence is accepted;
// errors (Internal) only report a broken grammar.
Result<std::vector<PhysicalLine>> SplitPhysicalLines(std::string_view source);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_PHYSICAL_LINES_H_
