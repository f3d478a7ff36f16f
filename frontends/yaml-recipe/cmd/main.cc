// kiln-yaml-recipe-frontend: the YAML recipe frontend as a program, run by
// the engine (gateway.v0 image or --frontend-exec) with the bridge on
// stdin/stdout and its options in the environment.
//
//   kiln-yaml-recipe-frontend             serve one build (sdk::Serve)
//   kiln-yaml-recipe-frontend --version   "kiln-yaml-recipe-frontend X.Y.Z"
//   kiln-yaml-recipe-frontend --check     read a recipe on stdin and
//                                         validate it (exit 1 with the
//                                         located error)
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "kiln/recipe/frontend.h"
#include "kiln/recipe/recipe.h"
#include "kiln/sdk/serve.h"

namespace {

constexpr std::string_view kUsage =
    "usage: kiln-yaml-recipe-frontend [--version | --check]\n"
    "Without arguments, serves one build over stdin/stdout (run by the "
    "engine).\n";

int Check() {
  std::string input((std::istreambuf_iterator<char>(std::cin)),
                    std::istreambuf_iterator<char>());
  kiln::Result<kiln::recipe::Recipe> recipe =
      kiln::recipe::LoadRecipe(input, {});
  if (!recipe.ok()) {
    std::cerr << recipe.status().ToString() << "\n";
    return 1;
  }
  std::cout << "ok: " << recipe->stages.size() << " stages\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) return kiln::sdk::Serve(kiln::recipe::Build);
  std::string_view arg = argv[1];
  if (argc == 2 && arg == "--version") {
    std::cout << "kiln-yaml-recipe-frontend " << kiln::recipe::FrontendVersion()
              << "\n";
    return 0;
  }
  if (argc == 2 && arg == "--check") return Check();
  if (argc == 2 && (arg == "--help" || arg == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
