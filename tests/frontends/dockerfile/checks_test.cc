// Build checks: each rule on a Dockerfile that triggers it (message, range,
// description, URL) and on one that does not; the check config parsing.
#include "kiln/dockerfile/checks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kiln::dockerfile {
namespace {

std::vector<CheckWarning> Lint(const std::string& text,
                               const CheckConfig& config = {},
                               CheckInputs inputs = {}) {
  Result<ParseResult> parsed = Parse(text, "Dockerfile");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return {};
  Result<ParsedDockerfile> df = ParseInstructions(*parsed);
  EXPECT_TRUE(df.ok()) << df.status().ToString();
  if (!df.ok()) return {};
  if (!inputs.base_image) {
    inputs.base_image = [](std::string_view, const llb::Platform& p) {
      return std::optional<BaseImageInfo>(
          BaseImageInfo{.env = {"PATH=/bin", "HOME=/root"}, .platform = p});
    };
  }
  inputs.target_platform = {.os = "linux", .architecture = "amd64"};
  inputs.build_platform = {.os = "linux", .architecture = "amd64"};
  return RunChecks(*parsed, *df, config, inputs);
}

// The warnings of `rule` only.
std::vector<CheckWarning> Of(const std::vector<CheckWarning>& all,
                             const std::string& rule) {
  std::vector<CheckWarning> out;
  for (const CheckWarning& w : all) {
    if (w.rule == rule) out.push_back(w);
  }
  return out;
}

std::vector<CheckWarning> LintRule(const std::string& text,
                                   const std::string& rule) {
  CheckConfig config;
  config.experimental_all = true;
  return Of(Lint(text, config), rule);
}

std::string Messages(const std::vector<CheckWarning>& ws) {
  std::string out;
  for (const CheckWarning& w : ws) out += w.rule + ": " + w.message + "\n";
  return out;
}

TEST(ChecksTest, StageNameCasing) {
  auto w = LintRule("FROM alpine AS Build\nRUN true\n", "StageNameCasing");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message, "Stage name 'Build' should be lowercase");
  EXPECT_EQ(w[0].description, "Stage names should be lowercase");
  EXPECT_EQ(w[0].url,
            "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/");
  EXPECT_EQ(w[0].range.file, "Dockerfile");
  EXPECT_EQ(w[0].range.line, 1);
  EXPECT_EQ(ShortMessage(w[0]),
            "StageNameCasing: Stage name 'Build' should be lowercase (line 1)");
  EXPECT_TRUE(LintRule("FROM alpine AS build\n", "StageNameCasing").empty());
}

TEST(ChecksTest, FromAsCasing) {
  auto w = LintRule("FROM alpine as build\n", "FromAsCasing");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message, "'as' and 'FROM' keywords' casing do not match");
  EXPECT_EQ(LintRule("from alpine AS build\n", "FromAsCasing").size(), 1u);
  EXPECT_TRUE(LintRule("FROM alpine AS build\n", "FromAsCasing").empty());
  EXPECT_TRUE(LintRule("from alpine as build\n", "FromAsCasing").empty());
}

TEST(ChecksTest, NoEmptyContinuation) {
  auto w =
      LintRule("FROM alpine\nRUN echo a \\\n\n  b\n", "NoEmptyContinuation");
  ASSERT_EQ(w.size(), 1u) << Messages(w);
  EXPECT_EQ(w[0].message, "Empty continuation line");
  EXPECT_EQ(w[0].range.line, 4);  // the instruction's last line, as upstream
  EXPECT_TRUE(
      LintRule("FROM alpine\nRUN echo a \\\n  b\n", "NoEmptyContinuation")
          .empty());
}

TEST(ChecksTest, ConsistentInstructionCasing) {
  auto w = LintRule("FROM alpine\nrun true\nRUN false\n",
                    "ConsistentInstructionCasing");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Command 'run' should match the case of the command majority "
            "(uppercase)");
  EXPECT_EQ(w[0].range.line, 2);
  auto mixed = LintRule("from alpine\nrun true\nRun false\n",
                        "ConsistentInstructionCasing");
  ASSERT_EQ(mixed.size(), 1u);
  EXPECT_EQ(mixed[0].message,
            "Command 'Run' should match the case of the command majority "
            "(lowercase)");
  EXPECT_TRUE(LintRule("from alpine\nrun true\n", "ConsistentInstructionCasing")
                  .empty());
}

TEST(ChecksTest, DuplicateStageName) {
  auto w =
      LintRule("FROM alpine AS a\nFROM busybox AS a\n", "DuplicateStageName");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Duplicate stage name \"a\", stage names should be unique");
  EXPECT_EQ(w[0].range.line, 2);
  EXPECT_TRUE(LintRule("FROM alpine AS a\nFROM a AS b\n", "DuplicateStageName")
                  .empty());
}

TEST(ChecksTest, ReservedStageName) {
  auto w = LintRule("FROM alpine AS scratch\n", "ReservedStageName");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Stage name should not use the same name as reserved stage "
            "\"scratch\"");
  EXPECT_EQ(LintRule("FROM alpine AS context\n", "ReservedStageName").size(),
            1u);
  EXPECT_TRUE(LintRule("FROM alpine AS ctx\n", "ReservedStageName").empty());
}

TEST(ChecksTest, JSONArgsRecommended) {
  auto w = LintRule("FROM alpine\nCMD echo hi\nENTRYPOINT run\n",
                    "JSONArgsRecommended");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].message,
            "JSON arguments recommended for CMD to prevent unintended "
            "behavior related to OS signals");
  EXPECT_EQ(w[1].range.line, 3);
  EXPECT_TRUE(
      LintRule("FROM alpine\nCMD [\"echo\", \"hi\"]\n", "JSONArgsRecommended")
          .empty());
  // A SHELL makes the shell form deliberate.
  EXPECT_TRUE(LintRule("FROM alpine\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo\n",
                       "JSONArgsRecommended")
                  .empty());
}

TEST(ChecksTest, MaintainerDeprecated) {
  auto w = LintRule("FROM alpine\nMAINTAINER me\n", "MaintainerDeprecated");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Maintainer instruction is deprecated in favor of using label");
  EXPECT_EQ(w[0].range.line, 2);
  EXPECT_TRUE(
      LintRule("FROM alpine\nLABEL org.opencontainers.image.authors=me\n",
               "MaintainerDeprecated")
          .empty());
}

TEST(ChecksTest, UndefinedArgInFrom) {
  auto w =
      LintRule("ARG VERSION=1\nFROM alpine:$VERSIO\n", "UndefinedArgInFrom");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "FROM argument 'VERSIO' is not declared (did you mean VERSION?)");
  EXPECT_EQ(w[0].range.line, 2);
  EXPECT_TRUE(
      LintRule("ARG VERSION=1\nFROM alpine:$VERSION\n", "UndefinedArgInFrom")
          .empty());
  EXPECT_TRUE(LintRule("ARG TAG\nFROM --platform=$BUILDPLATFORM alpine:$TAG\n",
                       "UndefinedArgInFrom")
                  .empty());
}

TEST(ChecksTest, WorkdirRelativePath) {
  auto w = LintRule("FROM alpine\nWORKDIR app\n", "WorkdirRelativePath");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Relative workdir \"app\" can have unexpected results if the base "
            "image changes");
  EXPECT_TRUE(LintRule("FROM alpine\nWORKDIR /app\nWORKDIR sub\n",
                       "WorkdirRelativePath")
                  .empty());
  // Inherited from the parent stage.
  EXPECT_TRUE(LintRule("FROM alpine AS a\nWORKDIR /app\nFROM a\nWORKDIR sub\n",
                       "WorkdirRelativePath")
                  .empty());
}

TEST(ChecksTest, UndefinedVar) {
  auto w = LintRule(
      "FROM alpine\nARG NAME=x\nENV GREETING=hello\n"
      "COPY $NAM /dst/$GREETING\n",
      "UndefinedVar");
  ASSERT_EQ(w.size(), 1u) << Messages(w);
  EXPECT_EQ(w[0].message,
            "Usage of undefined variable '$NAM' (did you mean $NAME?)");
  EXPECT_EQ(w[0].range.line, 4);
  // Image env, declared ARGs without a value, and ENV defined earlier.
  EXPECT_TRUE(LintRule("FROM alpine\nARG X\nENV P=$PATH:$HOME:$X\n"
                       "WORKDIR /$P\n",
                       "UndefinedVar")
                  .empty());
  // Platform args need a declaration inside the stage.
  EXPECT_EQ(LintRule("FROM alpine\nENV A=$TARGETARCH\n", "UndefinedVar").size(),
            1u);
  EXPECT_TRUE(LintRule("FROM alpine\nARG TARGETARCH\nENV A=$TARGETARCH\n",
                       "UndefinedVar")
                  .empty());
  // RUN is not expanded by the builder.
  EXPECT_TRUE(
      LintRule("FROM alpine\nRUN echo $NOPE\n", "UndefinedVar").empty());
}

TEST(ChecksTest, UndefinedVarNeedsAKnownBaseEnv) {
  CheckInputs unknown;
  unknown.base_image = [](std::string_view, const llb::Platform&) {
    return std::optional<BaseImageInfo>();
  };
  EXPECT_TRUE(
      Of(Lint("FROM alpine\nENV A=$NOPE\n", {}, unknown), "UndefinedVar")
          .empty());
  // scratch has no image: its env (PATH only) is known.
  EXPECT_EQ(
      Of(Lint("FROM scratch\nENV A=$NOPE:$PATH\n", {}, unknown), "UndefinedVar")
          .size(),
      1u);
}

TEST(ChecksTest, MultipleInstructionsDisallowed) {
  auto w = LintRule("FROM alpine\nCMD [\"a\"]\nCMD [\"b\"]\n",
                    "MultipleInstructionsDisallowed");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Multiple CMD instructions should not be used in the same stage "
            "because only the last one will be used");
  EXPECT_EQ(w[0].range.line, 2);  // the overridden one
  EXPECT_TRUE(LintRule("FROM alpine\nCMD [\"a\"]\nFROM alpine\nCMD [\"b\"]\n",
                       "MultipleInstructionsDisallowed")
                  .empty());
}

TEST(ChecksTest, LegacyKeyValueFormat) {
  auto w =
      LintRule("FROM alpine\nENV A b\nLABEL k v\n", "LegacyKeyValueFormat");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].message,
            "\"ENV key=value\" should be used instead of legacy \"ENV key "
            "value\" format");
  EXPECT_EQ(w[1].range.line, 3);
  EXPECT_TRUE(
      LintRule("FROM alpine\nENV A=b\nLABEL k=v\n", "LegacyKeyValueFormat")
          .empty());
}

TEST(ChecksTest, SecretsUsedInArgOrEnv) {
  auto w = LintRule("ARG GITHUB_TOKEN\nFROM alpine\nENV db_password=x\n",
                    "SecretsUsedInArgOrEnv");
  ASSERT_EQ(w.size(), 2u) << Messages(w);
  EXPECT_EQ(w[0].message,
            "Do not use ARG or ENV instructions for sensitive data (ARG "
            "\"GITHUB_TOKEN\")");
  EXPECT_EQ(w[1].message,
            "Do not use ARG or ENV instructions for sensitive data (ENV "
            "\"db_password\")");
  EXPECT_TRUE(LintRule("FROM alpine\nARG PUBLIC_KEY\nENV TOKENIZER=x "
                       "MONKEY=y\n",
                       "SecretsUsedInArgOrEnv")
                  .empty());
}

TEST(ChecksTest, InvalidDefaultArgInFrom) {
  auto w = LintRule("ARG TAG\nFROM alpine:$TAG\n", "InvalidDefaultArgInFrom");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Default value for ARG alpine:$TAG results in empty or invalid "
            "base image name");
  EXPECT_EQ(
      LintRule("ARG IMAGE\nFROM $IMAGE\n", "InvalidDefaultArgInFrom").size(),
      1u);
  EXPECT_TRUE(
      LintRule("ARG TAG=3.20\nFROM alpine:$TAG\n", "InvalidDefaultArgInFrom")
          .empty());
  EXPECT_TRUE(LintRule("ARG TAG\nFROM alpine:${TAG:-latest}\n",
                       "InvalidDefaultArgInFrom")
                  .empty());
}

TEST(ChecksTest, ExposeProtoCasing) {
  auto w = LintRule("FROM alpine\nEXPOSE 80/TcP\n", "ExposeProtoCasing");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Defined protocol '80/TcP' in EXPOSE instruction should be "
            "lowercase");
  EXPECT_TRUE(
      LintRule("FROM alpine\nEXPOSE 80/tcp 53/udp 8080\n", "ExposeProtoCasing")
          .empty());
}

TEST(ChecksTest, ExposeInvalidFormat) {
  auto w =
      LintRule("FROM alpine\nEXPOSE 127.0.0.1:80:80\n", "ExposeInvalidFormat");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "EXPOSE instruction should not define an IP address or host-port "
            "mapping, found '127.0.0.1:80:80'");
  EXPECT_EQ(
      LintRule("FROM alpine\nEXPOSE 80:80\n", "ExposeInvalidFormat").size(),
      1u);
  EXPECT_TRUE(
      LintRule("FROM alpine\nEXPOSE 80/tcp\n", "ExposeInvalidFormat").empty());
}

TEST(ChecksTest, RedundantTargetPlatform) {
  auto w = LintRule("FROM --platform=$TARGETPLATFORM alpine\n",
                    "RedundantTargetPlatform");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Setting platform to predefined $TARGETPLATFORM in FROM is "
            "redundant as this is the default behavior");
  EXPECT_TRUE(LintRule("FROM --platform=$BUILDPLATFORM alpine\n",
                       "RedundantTargetPlatform")
                  .empty());
}

TEST(ChecksTest, FromPlatformFlagConstDisallowed) {
  auto w = LintRule("FROM --platform=linux/arm64 alpine AS build\n",
                    "FromPlatformFlagConstDisallowed");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "FROM --platform flag should not use constant value "
            "\"linux/arm64\"");
  // The stage name says which platform it is for.
  EXPECT_TRUE(LintRule("FROM --platform=linux/arm64 alpine AS build-arm64\n",
                       "FromPlatformFlagConstDisallowed")
                  .empty());
  EXPECT_TRUE(LintRule("FROM --platform=$BUILDPLATFORM alpine\n",
                       "FromPlatformFlagConstDisallowed")
                  .empty());
}

TEST(ChecksTest, InvalidBaseImagePlatform) {
  // The registry only had linux/arm64 of "armonly".
  CheckInputs inputs;
  std::vector<std::string> asked;
  inputs.base_image = [&asked](std::string_view ref, const llb::Platform& p) {
    asked.push_back(std::string(ref) + " " + llb::FormatPlatform(p));
    BaseImageInfo info{.env = {}, .platform = p};
    if (ref == "armonly")
      info.platform = {.os = "linux", .architecture = "arm64"};
    return std::optional<BaseImageInfo>(info);
  };
  auto w = Of(Lint("FROM armonly\nFROM --platform=linux/arm64 armonly AS "
                   "arm64\nFROM alpine\n",
                   {}, inputs),
              "InvalidBaseImagePlatform");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Base image armonly was pulled with platform \"linux/arm64\", "
            "expected \"linux/amd64\" for current build");
  EXPECT_EQ(w[0].range.line, 1);
  // Each base is looked up for the stage's platform.
  EXPECT_EQ(asked, (std::vector<std::string>{"armonly linux/amd64",
                                             "armonly linux/arm64",
                                             "alpine linux/amd64"}));
}

TEST(ChecksTest, CopyIgnoredFileIsExperimental) {
  CheckInputs inputs;
  inputs.excludes = {"secret.txt", "build", "**/*.log", "!keep.log"};
  CheckConfig on;
  on.experimental = {"CopyIgnoredFile"};
  const std::string text =
      "FROM alpine AS a\nCOPY secret.txt ./build/out /dst/\n"
      "ADD logs/x.log keep.log src /dst/\nCOPY --from=a secret.txt /x\n";
  auto w = Of(Lint(text, on, inputs), "CopyIgnoredFile");
  ASSERT_EQ(w.size(), 3u) << Messages(w);
  EXPECT_EQ(w[0].message,
            "Attempting to Copy file \"secret.txt\" that is excluded by "
            ".dockerignore");
  EXPECT_EQ(w[1].message,
            "Attempting to Copy file \"./build/out\" that is excluded by "
            ".dockerignore");
  EXPECT_EQ(w[2].message,
            "Attempting to Add file \"logs/x.log\" that is excluded by "
            ".dockerignore");
  EXPECT_EQ(w[2].range.line, 3);
  // Off unless enabled.
  EXPECT_TRUE(Of(Lint(text, {}, inputs), "CopyIgnoredFile").empty());
}

TEST(ChecksTest, InvalidDefinitionDescriptionIsExperimental) {
  const std::string text =
      "# the build stage\nFROM alpine AS build\n# VERSION the version\n"
      "ARG VERSION=1\n";
  EXPECT_TRUE(Of(Lint(text), "InvalidDefinitionDescription").empty());
  auto w = LintRule(text, "InvalidDefinitionDescription");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].message,
            "Comment for FROM should follow the format: `# build "
            "<description>`");
  CheckConfig named;
  named.experimental = {"InvalidDefinitionDescription"};
  EXPECT_EQ(Of(Lint(text, named), "InvalidDefinitionDescription").size(), 1u);
}

TEST(ChecksTest, SkipAndSkipAll) {
  const std::string text = "FROM alpine AS Build\nMAINTAINER me\n";
  EXPECT_EQ(Lint(text).size(), 2u);
  CheckConfig skip;
  skip.skip = {"StageNameCasing"};
  auto w = Lint(text, skip);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rule, "MaintainerDeprecated");
  CheckConfig all;
  all.skip_all = true;
  EXPECT_TRUE(Lint(text, all).empty());
  // Listing a rule in experimental= runs it even when skipped, as upstream.
  CheckConfig both;
  both.skip = {"StageNameCasing", "MaintainerDeprecated"};
  both.experimental = {"StageNameCasing"};
  auto kept = Lint(text, both);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].rule, "StageNameCasing");
}

TEST(ChecksTest, WarningsAreSortedByLine) {
  auto w = Lint("FROM alpine AS Build\nMAINTAINER me\nCMD echo\n");
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].range.line, 1);
  EXPECT_EQ(w[1].range.line, 2);
  EXPECT_EQ(w[2].range.line, 3);
}

TEST(ChecksConfigTest, ParsesAllKeys) {
  auto c = ParseCheckConfig(
      " skip = StageNameCasing , FromAsCasing ;error=true;experimental=all");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->skip,
            (std::vector<std::string>{"StageNameCasing", "FromAsCasing"}));
  EXPECT_TRUE(c->error);
  EXPECT_TRUE(c->experimental_all);
  EXPECT_FALSE(c->skip_all);
  auto all = ParseCheckConfig("skip=all;error=0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->skip_all);
  EXPECT_FALSE(all->error);
  auto empty = ParseCheckConfig("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->error);
}

TEST(ChecksConfigTest, MalformedValues) {
  auto bad_bool = ParseCheckConfig("error=maybe");
  ASSERT_FALSE(bad_bool.ok());
  EXPECT_EQ(bad_bool.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_bool.status().message(),
            "failed to parse check option \"error=maybe\": strconv.ParseBool: "
            "parsing \"maybe\": invalid syntax");
  auto no_eq = ParseCheckConfig("skip");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_EQ(no_eq.status().message(), "invalid check option \"skip\"");
  auto unknown = ParseCheckConfig("warn=true");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "invalid check option \"warn\"");
}

TEST(ChecksConfigTest, DirectiveAndBuildArg) {
  auto parsed = Parse("# check=skip=all\nFROM alpine\n", "Dockerfile");
  ASSERT_TRUE(parsed.ok());
  auto c = CheckConfigFor(parsed->directives, {}, "Dockerfile");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->skip_all);
  // The build arg wins.
  auto arg = CheckConfigFor(parsed->directives,
                            {{"BUILDKIT_DOCKERFILE_CHECK", "error=true"}},
                            "Dockerfile");
  ASSERT_TRUE(arg.ok());
  EXPECT_FALSE(arg->skip_all);
  EXPECT_TRUE(arg->error);
  auto bad_arg =
      CheckConfigFor(parsed->directives,
                     {{"BUILDKIT_DOCKERFILE_CHECK", "nope"}}, "Dockerfile");
  ASSERT_FALSE(bad_arg.ok());
  EXPECT_NE(
      bad_arg.status().message().find("build-arg:BUILDKIT_DOCKERFILE_CHECK"),
      std::string::npos);

  auto bad = Parse("# syntax=x\n# check=error=yes please\nFROM alpine\n",
                   "Dockerfile");
  ASSERT_TRUE(bad.ok());
  auto located = CheckConfigFor(bad->directives, {}, "Dockerfile");
  ASSERT_FALSE(located.ok());
  ASSERT_EQ(located.status().ranges().size(), 1u);
  EXPECT_EQ(located.status().ranges()[0].line, 2);
  EXPECT_NE(located.status().ToString().find("Dockerfile:2:1: "),
            std::string::npos)
      << located.status().ToString();
}

TEST(ChecksConfigTest, CheckErrorListsRulesAndLocation) {
  auto w = Lint("FROM alpine AS Build\nMAINTAINER me\nFROM alpine AS B2\n");
  ASSERT_EQ(w.size(), 3u);
  Status error = CheckError(w);
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(),
            "lint violation found for rules: StageNameCasing, "
            "MaintainerDeprecated");
  ASSERT_EQ(error.ranges().size(), 1u);
  EXPECT_EQ(error.ranges()[0].line, 1);
}

TEST(ChecksConfigTest, RuleTableHasUpstreamUrls) {
  for (const CheckRule& r : CheckRules()) {
    EXPECT_TRUE(
        r.url.starts_with("https://docs.docker.com/go/dockerfile/rule/"))
        << r.name;
    EXPECT_TRUE(r.url.ends_with("/")) << r.name;
    EXPECT_FALSE(r.description.empty()) << r.name;
  }
  EXPECT_GE(CheckRules().size(), 20u);
}

}  // namespace
}  // namespace kiln::dockerfile
