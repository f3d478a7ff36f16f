#include "kiln/sdk/syntax.h"

#include <gtest/gtest.h>

namespace kiln::sdk {
namespace {

TEST(SyntaxTest, FrontendVersionRefMatchesItsChannelsOnly) {
  const char* repo = "docker.io/kiln/dockerfile";
  EXPECT_TRUE(IsFrontendVersionRef("kiln/dockerfile:1", repo, "1.2.3"));
  EXPECT_TRUE(IsFrontendVersionRef("kiln/dockerfile:1.2", repo, "1.2.3"));
  EXPECT_TRUE(
      IsFrontendVersionRef("docker.io/kiln/dockerfile:1.2.3", repo, "1.2.3"));
  EXPECT_FALSE(IsFrontendVersionRef("kiln/dockerfile:1.3", repo, "1.2.3"));
  EXPECT_FALSE(IsFrontendVersionRef("kiln/dockerfile:2", repo, "1.2.3"));
  EXPECT_FALSE(IsFrontendVersionRef("kiln/dockerfile", repo, "1.2.3"))
      << "latest is not a version channel of this build";
  EXPECT_FALSE(IsFrontendVersionRef(
      "kiln/dockerfile@sha256:"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      repo, "1.2.3"));
  EXPECT_FALSE(
      IsFrontendVersionRef("ghcr.io/kiln/dockerfile:1", repo, "1.2.3"));
  EXPECT_FALSE(IsFrontendVersionRef("Not A Ref", repo, "1.2.3"));
}

}  // namespace
}  // namespace kiln::sdk
