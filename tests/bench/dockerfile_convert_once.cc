// Helper of dockerfile_convert_bench's cold-process case: parses and
// converts the Dockerfile at argv[1] once (as the frontend process does per
// build, minus the gateway), then exits 0; `--noop` exits at once (the
// process start baseline). Exits 1 with the error on stderr.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "dockerfile_gen.h"
#include "kiln/dockerfile/convert.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dockerfile_convert_once FILE|--noop\n");
    return 2;
  }
  if (std::string_view(argv[1]) == "--noop") return 0;
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto r =
      kiln::dockerfile::Convert(text.str(), kiln::bench::BenchConvertOptions());
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    return 1;
  }
  return r->definition.def_size() > 0 ? 0 : 1;
}
