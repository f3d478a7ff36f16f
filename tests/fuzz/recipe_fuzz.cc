// libFuzzer target for the YAML recipe frontend: any byte string goes
// through the YAML adapter, the loader and validator (LoadRecipe, with a
// build arg and the default target) and, when it loads, the conversion to
// LLB with a fake image resolver (no I/O), including Marshal. Errors are
// expected and ignored; a crash, a sanitizer report, a leak or a hang
// (libFuzzer's -timeout) is a bug.
//
// Built only in the clang fuzz build (-DKILN_FUZZ=ON); scripts/fuzz builds
// and runs it on frontends/yaml-recipe/examples as seed corpus.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kiln/recipe/convert.h"
#include "kiln/recipe/recipe.h"

namespace {

namespace recipe = kiln::recipe;

kiln::Result<recipe::ImageMeta> FakeResolve(std::string_view ref,
                                            const kiln::llb::Platform&) {
  return recipe::ImageMeta{
      std::string(ref),
      "sha256:1111111111111111111111111111111111111111111111111111111111111111",
      R"({"config":{"Env":["PATH=/bin","X"],"WorkingDir":"w","User":"1:2"}})"};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  recipe::LoadOptions load;
  load.build_args["VERSION"] = "2.0";
  load.target_platform = {.os = "linux", .architecture = "arm64"};
  kiln::Result<recipe::Recipe> loaded = recipe::LoadRecipe(input, load);
  if (!loaded.ok()) {
    return 0;
  }
  recipe::ConvertOptions convert;
  convert.target_platform = load.target_platform;
  convert.resolve_image = FakeResolve;
  (void)recipe::Convert(*loaded, convert);
  return 0;
}
