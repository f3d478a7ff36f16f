// The frontend's pure decisions: `# syntax=` detection, the "is it myself"
// rule, the forwarding decision and .dockerignore parsing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kiln/dockerfile/frontend.h"

namespace kiln::dockerfile {
namespace {

TEST(DetectSyntaxTest, FindsTheDirectiveInTheLeadingBlock) {
  auto d = DetectSyntax("# syntax=docker/dockerfile:1.7 --flag\nFROM x\n");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->source, "docker/dockerfile:1.7");
  EXPECT_EQ(d->cmdline, "docker/dockerfile:1.7 --flag");
  EXPECT_EQ(d->line, 1);

  d = DetectSyntax("# escape=`\n#  SYNTAX = img:1  \nFROM x\n");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->source, "img:1");
  EXPECT_EQ(d->line, 2);
}

TEST(DetectSyntaxTest, SkipsBomAndShebang) {
  auto d = DetectSyntax("\xEF\xBB\xBF#!/usr/bin/env kiln\n# syntax=a/b\n");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->source, "a/b");
  EXPECT_EQ(d->line, 2);
}

TEST(DetectSyntaxTest, TheBlockEndsAtTheFirstOtherLine) {
  EXPECT_FALSE(DetectSyntax("FROM x\n# syntax=a/b\n").has_value());
  EXPECT_FALSE(DetectSyntax("# hello\n# syntax=a/b\n").has_value());
  EXPECT_FALSE(DetectSyntax("\n# syntax=a/b\n").has_value());
  EXPECT_FALSE(DetectSyntax("# foo=bar\n# syntax=a/b\n").has_value());
  EXPECT_FALSE(DetectSyntax("FROM x\n").has_value());
}

TEST(DetectSyntaxTest, SlashCommentsAndJson) {
  auto d = DetectSyntax("// syntax=c/d:2\nversion: 1\n");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->source, "c/d:2");
  d = DetectSyntax(R"({"syntax": "e/f:3 x", "other": 1})");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->source, "e/f:3 x");
  EXPECT_EQ(d->cmdline, "e/f:3 x");
}

TEST(IsSelfReferenceTest, MajorMinorAndFullTagsOfThisVersion) {
  EXPECT_TRUE(IsSelfReference("kiln/dockerfile:1", "1.2.3"));
  EXPECT_TRUE(IsSelfReference("kiln/dockerfile:1.2", "1.2.3"));
  EXPECT_TRUE(IsSelfReference("kiln/dockerfile:1.2.3", "1.2.3"));
  EXPECT_TRUE(IsSelfReference("docker.io/kiln/dockerfile:1.2", "1.2.3"));
  EXPECT_TRUE(IsSelfReference("index.docker.io/kiln/dockerfile:1", "1.2.3"));

  EXPECT_FALSE(IsSelfReference("kiln/dockerfile:1.3", "1.2.3"));
  EXPECT_FALSE(IsSelfReference("kiln/dockerfile:2", "1.2.3"));
  EXPECT_FALSE(IsSelfReference("kiln/dockerfile:1.2.4", "1.2.3"));
  EXPECT_FALSE(IsSelfReference("kiln/dockerfile", "1.2.3"));  // latest
  EXPECT_FALSE(IsSelfReference("kiln/dockerfile:latest", "1.2.3"));
  EXPECT_FALSE(IsSelfReference(
      "kiln/dockerfile@sha256:"
      "0000000000000000000000000000000000000000000000000000000000000000",
      "1.2.3"));
  EXPECT_FALSE(IsSelfReference("docker/dockerfile:1", "1.2.3"));
  EXPECT_FALSE(IsSelfReference("ghcr.io/kiln/dockerfile:1", "1.2.3"));
  EXPECT_FALSE(IsSelfReference("kiln/dockerfile-x:1", "1.2.3"));
  EXPECT_FALSE(IsSelfReference("not a ref", "1.2.3"));
}

TEST(DecideSyntaxTest, ForwardsToAnotherImage) {
  sdk::FrontendOptions opts;
  SyntaxDecision d =
      DecideSyntax(opts, "# syntax=docker/dockerfile:1 x\nFROM a\n", "1.0.0");
  EXPECT_TRUE(d.forward);
  EXPECT_EQ(d.source, "docker/dockerfile:1");
  EXPECT_EQ(d.cmdline, "docker/dockerfile:1 x");
  EXPECT_FALSE(d.from_build_arg);
  EXPECT_EQ(d.line, 1);
}

TEST(DecideSyntaxTest, BuildsItselfWhenTheDirectiveNamesThisFrontend) {
  sdk::FrontendOptions opts;
  EXPECT_FALSE(
      DecideSyntax(opts, "# syntax=kiln/dockerfile:1\nFROM a\n", "1.0.0")
          .forward);
  EXPECT_FALSE(
      DecideSyntax(opts, "# syntax=kiln/dockerfile:1.0\nFROM a\n", "1.0.0")
          .forward);
  EXPECT_TRUE(
      DecideSyntax(opts, "# syntax=kiln/dockerfile:1.1\nFROM a\n", "1.0.0")
          .forward);
  EXPECT_FALSE(DecideSyntax(opts, "FROM a\n", "1.0.0").forward);
}

TEST(DecideSyntaxTest, BuildArgBeatsTheDirective) {
  sdk::FrontendOptions opts;
  opts.build_args["BUILDKIT_SYNTAX"] = "my/front:2 --x";
  SyntaxDecision d =
      DecideSyntax(opts, "# syntax=kiln/dockerfile:1\nFROM a\n", "1.0.0");
  EXPECT_TRUE(d.forward);
  EXPECT_TRUE(d.from_build_arg);
  EXPECT_EQ(d.source, "my/front:2");
  EXPECT_EQ(d.cmdline, "my/front:2 --x");

  // The build-arg naming this frontend (or the built-in) disables the
  // directive too.
  opts.build_args["BUILDKIT_SYNTAX"] = "kiln/dockerfile:1.0.0";
  EXPECT_FALSE(
      DecideSyntax(opts, "# syntax=other/image:1\nFROM a\n", "1.0.0").forward);
  opts.build_args["BUILDKIT_SYNTAX"] = "dockerfile.v0";
  EXPECT_FALSE(
      DecideSyntax(opts, "# syntax=other/image:1\nFROM a\n", "1.0.0").forward);
}

TEST(DecideSyntaxTest, CmdlineStopsForwarding) {
  // Through OptionsFromEnv, as the frontend gets them (this also keeps
  // GCC 12 from a false maybe-uninitialized on optional<string>).
  std::string cmdline = "BUILDKIT_FRONTEND_OPT_0=cmdline=docker/dockerfile:1";
  std::string arg =
      "BUILDKIT_FRONTEND_OPT_1=build-arg:BUILDKIT_SYNTAX=my/front:2";
  char* env[] = {cmdline.data(), arg.data(), nullptr};
  Result<sdk::FrontendOptions> opts = sdk::OptionsFromEnv(env);
  ASSERT_TRUE(opts.ok()) << opts.status().ToString();
  ASSERT_TRUE(opts->cmdline.has_value());
  EXPECT_FALSE(
      DecideSyntax(*opts, "# syntax=docker/dockerfile:1\nFROM a\n", "1.0.0")
          .forward);
}

TEST(FrontendVersionTest, IsCompiledIn) {
  std::string v(FrontendVersion());
  EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2) << v;
  EXPECT_TRUE(IsSelfReference("kiln/dockerfile:" + v, v));
}

TEST(ParseDockerignoreTest, AsUpstreamReadAll) {
  auto p = ParseDockerignore(
      "\xEF\xBB\xBF# comment\n\n  a.txt  \n/abs/dir/\n!keep/../x\n"
      "./dot\r\n **/*.o\n  # not a comment\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (std::vector<std::string>{"a.txt", "abs/dir", "!x", "dot",
                                          "**/*.o", "# not a comment"}));
  EXPECT_FALSE(ParseDockerignore("!\n").ok());
}

}  // namespace
}  // namespace kiln::dockerfile
