// Validation errors of LoadRecipe: one test per error case, each asserting
// the exact message and its line:column in the recipe.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "kiln/recipe/recipe.h"

namespace kiln::recipe {
namespace {

struct Located {
  std::string message;
  int line = 0;
  int column = 0;
};

Located LoadError(std::string_view text, const LoadOptions& options = {}) {
  Result<Recipe> r = LoadRecipe(text, options);
  EXPECT_FALSE(r.ok()) << "the recipe loaded";
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().ranges().size(), 1u) << r.status().ToString();
  if (r.status().ranges().empty()) return {r.status().message()};
  const SourceRange& range = r.status().ranges()[0];
  EXPECT_EQ(range.file, options.filename);
  return {r.status().message(), range.line, range.column};
}

#define EXPECT_LOAD_ERROR(text, msg, ln, col) \
  do {                                        \
    Located e = LoadError(text);              \
    EXPECT_EQ(e.message, msg);                \
    EXPECT_EQ(e.line, ln);                    \
    EXPECT_EQ(e.column, col);                 \
  } while (0)

TEST(RecipeErrors, YamlSyntax) {
  EXPECT_LOAD_ERROR("stages:\n  a: b: c\n", "invalid yaml: illegal map value",
                    2, 7);
}

TEST(RecipeErrors, NotAMapping) {
  EXPECT_LOAD_ERROR("- a\n- b\n", "a recipe must be a mapping, got a sequence",
                    1, 1);
}

TEST(RecipeErrors, UnknownTopLevelKeyWithSuggestion) {
  EXPECT_LOAD_ERROR("stage:\n  a:\n    from: scratch\n",
                    "unknown key \"stage\" in the recipe (did you mean "
                    "\"stages\"?)",
                    1, 1);
}

TEST(RecipeErrors, UnknownStageKeyWithSuggestion) {
  EXPECT_LOAD_ERROR("stages:\n  build:\n    form: busybox\n",
                    "unknown key \"form\" in stage \"build\" (did you mean "
                    "\"from\"?)",
                    3, 5);
}

TEST(RecipeErrors, UnknownKeyWithoutSuggestion) {
  EXPECT_LOAD_ERROR("stages:\n  build:\n    from: scratch\n    zzzzzz: 1\n",
                    "unknown key \"zzzzzz\" in stage \"build\"", 4, 5);
}

TEST(RecipeErrors, UnknownStepKeyWithSuggestion) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - run: true\n"
      "        netwrok: none\n",
      "unknown key \"netwrok\" in step 1 of stage \"a\" (did you mean "
      "\"network\"?)",
      6, 9);
}

TEST(RecipeErrors, WrongTypeSequence) {
  EXPECT_LOAD_ERROR("stages:\n  build:\n    from: scratch\n    steps: nope\n",
                    "wrong type for \"steps\" in stage \"build\": expected a "
                    "sequence, got a scalar",
                    4, 12);
}

TEST(RecipeErrors, WrongTypeScalar) {
  EXPECT_LOAD_ERROR("stages:\n  build:\n    from: [busybox]\n",
                    "wrong type for \"from\" in stage \"build\": expected a "
                    "scalar, got a sequence",
                    3, 11);
}

TEST(RecipeErrors, WrongTypeBoolean) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - mkdir: /x\n"
      "        parents: \"true\"\n",
      "wrong type for \"parents\" in step 1 of stage \"a\": expected a "
      "boolean, got a scalar",
      6, 18);
}

TEST(RecipeErrors, WrongTypeStage) {
  EXPECT_LOAD_ERROR("stages:\n  build: busybox\n",
                    "wrong type for \"build\" in stages: expected a mapping, "
                    "got a scalar",
                    2, 10);
}

TEST(RecipeErrors, MissingKey) {
  EXPECT_LOAD_ERROR("stages:\n  build:\n    steps: []\n",
                    "missing key \"from\" in stage \"build\"", 3, 5);
}

TEST(RecipeErrors, MissingStages) {
  EXPECT_LOAD_ERROR("args:\n  A: b\n", "missing key \"stages\" in the recipe",
                    1, 1);
}

TEST(RecipeErrors, DuplicateKey) {
  EXPECT_LOAD_ERROR("stages:\n  a:\n    from: scratch\n    from: busybox\n",
                    "duplicate key \"from\" in stage \"a\"", 4, 5);
}

TEST(RecipeErrors, MissingStageInCopy) {
  EXPECT_LOAD_ERROR(
      "stages:\n  build:\n    from: scratch\n  app:\n    from: scratch\n"
      "    steps:\n      - copy: /x\n        dest: /y\n        from: buld\n",
      "unknown stage \"buld\" in step 1 of stage \"app\" (did you mean "
      "\"build\"?)",
      9, 15);
}

TEST(RecipeErrors, MissingStageInMount) {
  EXPECT_LOAD_ERROR(
      "stages:\n  app:\n    from: busybox\n    steps:\n      - run: ls\n"
      "        mounts:\n          - {type: bind, target: /m, from: nope}\n",
      "unknown stage \"nope\" in mount 1 of step 1 of stage \"app\"", 7, 44);
}

TEST(RecipeErrors, CycleBetweenStages) {
  EXPECT_LOAD_ERROR("stages:\n  a:\n    from: b\n  b:\n    from: a\n",
                    "cycle between stages: a -> b -> a", 5, 11);
}

TEST(RecipeErrors, CycleThroughCopy) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - copy: /f\n"
      "        dest: /f\n        from: b\n  b:\n    from: a\n",
      "cycle between stages: a -> b -> a", 9, 11);
}

TEST(RecipeErrors, StageFromItself) {
  EXPECT_LOAD_ERROR("stages:\n  a:\n    from: a\n",
                    "cycle between stages: a -> a", 3, 11);
}

TEST(RecipeErrors, UndefinedArgWithSuggestion) {
  EXPECT_LOAD_ERROR(
      "args:\n  VERSION: \"1.0\"\nstages:\n  a:\n    from: "
      "busybox:${VERISON}\n",
      "undefined arg \"VERISON\" (did you mean \"VERSION\"?)", 5, 11);
}

TEST(RecipeErrors, UnterminatedSubstitution) {
  EXPECT_LOAD_ERROR("stages:\n  a:\n    from: \"busybox:${V\"\n",
                    "unterminated \"${\" in \"busybox:${V\"", 3, 11);
}

TEST(RecipeErrors, StepWithoutKind) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - cp: x\n",
      "step 1 of stage \"a\" has no kind: expected one of run, copy, mkdir, "
      "file, rm, symlink, env, workdir, user (did you mean \"copy\"?)",
      5, 9);
}

TEST(RecipeErrors, StepWithTwoKinds) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - {run: ls, rm: "
      "/x}\n",
      "step 1 of stage \"a\" has more than one kind: \"run\" and \"rm\"", 5, 9);
}

TEST(RecipeErrors, InvalidNetwork) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: busybox\n    steps:\n      - run: ls\n"
      "        network: lan\n",
      "invalid network \"lan\" in step 1 of stage \"a\": expected default, "
      "none or host",
      6, 18);
}

TEST(RecipeErrors, InvalidMountType) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: busybox\n    steps:\n      - run: ls\n"
      "        mounts:\n          - type: cahce\n            target: /c\n",
      "invalid mount type \"cahce\" in mount 1 of step 1 of stage \"a\" (did "
      "you mean \"cache\"?)",
      7, 19);
}

TEST(RecipeErrors, InvalidMode) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - file: /f\n"
      "        content: x\n        mode: 0789\n",
      "invalid mode \"0789\" in step 1 of stage \"a\": expected an octal mode "
      "such as 0755",
      7, 15);
}

TEST(RecipeErrors, FromAndImageExclusive) {
  EXPECT_LOAD_ERROR(
      "stages:\n  b:\n    from: scratch\n  a:\n    from: scratch\n"
      "    steps:\n      - copy: /f\n        dest: /f\n        from: b\n"
      "        image: busybox\n",
      "\"from\" and \"image\" are mutually exclusive in step 1 of stage \"a\"",
      10, 16);
}

TEST(RecipeErrors, UnknownTarget) {
  EXPECT_LOAD_ERROR("stages:\n  build:\n    from: scratch\ntarget: biuld\n",
                    "unknown target stage \"biuld\" (did you mean \"build\"?)",
                    4, 9);
}

TEST(RecipeErrors, InvalidPlatform) {
  Located e = LoadError(
      "stages:\n  a:\n    from: scratch\n    platform: \"linux/amd64/v2/x\"\n");
  EXPECT_TRUE(e.message.starts_with(
      "invalid platform \"linux/amd64/v2/x\" in stage \"a\": "))
      << e.message;
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 15);
}

TEST(RecipeErrors, ReservedStageName) {
  EXPECT_LOAD_ERROR("stages:\n  scratch:\n    from: busybox\n",
                    "stage name \"scratch\" is reserved", 2, 3);
}

TEST(RecipeErrors, InvalidPort) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\nimage:\n  ports: [80, 99999]\n",
      "invalid port \"99999\" in image: expected PORT or PORT/tcp|udp|sctp", 5,
      15);
}

TEST(RecipeErrors, UnknownImageKey) {
  EXPECT_LOAD_ERROR(
      "stages:\n  a:\n    from: scratch\nimage:\n  entrypiont: [/x]\n",
      "unknown key \"entrypiont\" in image (did you mean \"entrypoint\"?)", 5,
      3);
}

TEST(RecipeErrors, ValueTooLongAfterSubstitution) {
  // Each arg doubles the previous one: B6 is 64 KiB, B7 too long.
  std::string text = "args:\n  B0: " + std::string(1024, 'x') + "\n";
  for (int i = 1; i <= 7; ++i) {
    text += "  B" + std::to_string(i) + ": ${B" + std::to_string(i - 1) +
            "}${B" + std::to_string(i - 1) + "}\n";
  }
  text += "stages:\n  a:\n    from: scratch\n";
  EXPECT_LOAD_ERROR(
      text, "value longer than 65536 bytes after substituting args", 9, 7);
}

TEST(RecipeErrors, InvalidUtf8) {
  EXPECT_LOAD_ERROR("stages:\n  a:\n    from: sc\xffratch\n",
                    "invalid yaml: invalid UTF-8 byte 0xff", 3, 13);
  EXPECT_LOAD_ERROR("stages: {a: {from: \"\xc0\xaf\"}}\n",  // overlong
                    "invalid yaml: invalid UTF-8 byte 0xc0", 1, 21);
}

TEST(RecipeErrors, NestingTooDeep) {
  std::string text = std::string(70, '[') + std::string(70, ']');
  EXPECT_LOAD_ERROR(text, "invalid yaml: nesting deeper than 64 levels", 1, 66);
}

TEST(RecipeErrors, BuildArgsOverrideDefaults) {
  LoadOptions options;
  options.build_args["TAG"] = "1.36";
  Result<Recipe> r = LoadRecipe(
      "args:\n  TAG: latest\n  EMPTY:\nstages:\n  a:\n    from: "
      "busybox:${TAG}\n    steps:\n      - run: echo \"$$HOME $HOME "
      "[${EMPTY}] ${TARGETOS}\"\n",
      options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stages[0].from.name, "busybox:1.36");
  const auto& run = std::get<RunStep>(r->stages[0].steps[0].body);
  EXPECT_EQ(run.args, (std::vector<std::string>{
                          "/bin/sh", "-c", "echo \"$HOME $HOME [] linux\""}));
}

}  // namespace
}  // namespace kiln::recipe
