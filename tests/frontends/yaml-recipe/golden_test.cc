// Golden files: each example recipe (frontends/yaml-recipe/examples/*.yaml)
// converted for linux/amd64 with a fixed fake resolver gives exactly the LLB
// (one `kiln debug dump-llb` JSON line per op) and the image config in
// tests/frontends/yaml-recipe/golden/<name>.llb.jsonl and <name>.config.json.
// A change in the conversion shows as a diff here. Regenerate with
// KILN_UPDATE_GOLDEN=1 after checking the change is intended.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kiln/llb/definition.h"
#include "kiln/llb/dump.h"
#include "kiln/recipe/convert.h"
#include "kiln/recipe/recipe.h"

namespace kiln::recipe {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = KILN_SOURCE_DIR;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Compare(const fs::path& golden, const std::string& actual) {
  if (std::getenv("KILN_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing";
  EXPECT_EQ(actual, Slurp(golden)) << "differs from " << golden;
}

TEST(RecipeGolden, ExamplesConvertToTheGoldenLlbAndConfig) {
  const fs::path examples = kSource / "frontends/yaml-recipe/examples";
  const fs::path golden = kSource / "tests/frontends/yaml-recipe/golden";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(examples)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    SCOPED_TRACE(entry.path().string());
    LoadOptions lo;
    lo.target_platform = {.os = "linux", .architecture = "amd64"};
    lo.build_platform = lo.target_platform;
    Result<Recipe> recipe = LoadRecipe(Slurp(entry.path()), lo);
    ASSERT_TRUE(recipe.ok()) << recipe.status().ToString();
    ConvertOptions co;
    co.target_platform = lo.target_platform;
    co.resolve_image = [](std::string_view ref,
                          const llb::Platform&) -> Result<ImageMeta> {
      return ImageMeta{
          std::string(ref),
          "sha256:"
          "2222222222222222222222222222222222222222222222222222222222222222",
          R"({"architecture":"amd64","os":"linux",)"
          R"("config":{"Env":["PATH=/bin"],"Cmd":["sh"]}})"};
    };
    Result<ConvertResult> converted = Convert(*recipe, co);
    ASSERT_TRUE(converted.ok()) << converted.status().ToString();
    Result<llb::LoadedDefinition> loaded =
        llb::LoadDefinition(converted->definition);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    std::string stem = entry.path().stem().string();
    Compare(golden / (stem + ".llb.jsonl"), llb::DumpJsonLines(*loaded));
    Compare(golden / (stem + ".config.json"), converted->image_config + "\n");
  }
  EXPECT_GE(count, 3);
}

}  // namespace
}  // namespace kiln::recipe
