// kiln-dockerfile-frontend: the Dockerfile frontend as a program, run by the
// engine (gateway.v0 image or --frontend-exec) with the bridge on
// stdin/stdout and its options in the environment.
//
//   kiln-dockerfile-frontend              serve one build (sdk::Serve)
//   kiln-dockerfile-frontend --version    "kiln-dockerfile-frontend X.Y.Z"
//   kiln-dockerfile-frontend --dump-ast   read a Dockerfile on stdin, print
//                                         upstream's AST dump (parser
//                                         warnings on stderr; exit 1 with
//                                         the error when parsing fails)
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "kiln/dockerfile/frontend.h"
#include "kiln/dockerfile/parser.h"
#include "kiln/sdk/serve.h"

namespace {

constexpr std::string_view kUsage =
    "usage: kiln-dockerfile-frontend [--version | --dump-ast]\n"
    "Without arguments, serves one build over stdin/stdout (run by the "
    "engine).\n";

int DumpAst() {
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) return kiln::sdk::Serve(kiln::dockerfile::Build);
  std::string_view arg = argv[1];
  if (argc == 2 && arg == "--version") {
    std::cout << "kiln-dockerfile-frontend "
              << kiln::dockerfile::FrontendVersion() << "\n";
    return 0;
  }
  if (argc == 2 && arg == "--dump-ast") return DumpAst();
  if (argc == 2 && (arg == "--help" || arg == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
