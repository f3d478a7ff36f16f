// dockerfile_dump_ast: reads a Dockerfile on stdin and prints upstream's AST
// dump (one S-expression per instruction), then any parser warnings on
// stderr. A debugging aid; exits 1 with the error on stderr when parsing fails.
#include <iostream>
#include <iterator>
#include <string>

#include "kiln/dockerfile/parser.h"

int main() {
  std::string input((std::istreambuf_iterator<char>(std::cin)),
                    std::istreambuf_iterator<char>());
  kiln::Result<kiln::dockerfile::ParseResult> result =
      kiln::dockerfile::Parse(input, "Dockerfile");
  if (!result.ok()) {
    std::cerr << result.status().ToString() << "\n";
    return 1;
  }
  std::cout << kiln::dockerfile::Dump(*result) << "\n";
  for (const kiln::dockerfile::ParseWarning& warning : result->warnings) {
    std::cerr << "[WARNING]: " << warning.message << "\n";
  }
  return 0;
}
