// PlatformOutputs: a frontend's result split per platform in refs.platforms
// order, each with its own image config, and the malformed results refused.
#include <gtest/gtest.h>

#include "build_frontend.h"

namespace kiln::cli {
namespace {

gateway::ResultRef Ref(const std::string& snapshot) {
  gateway::ResultRef r;
  r.snapshot = snapshot;
  return r;
}

TEST(PlatformOutputsTest, FollowsRefsPlatformsOrder) {
  gateway::FinalResult result;
  result.refs["linux/amd64"] = Ref("snap-amd64");
  result.refs["linux/arm/v7"] = Ref("snap-arm");
  result.metadata["refs.platforms"] =
      R"({"Platforms":[{"ID":"linux/arm/v7","Platform":{"architecture":"arm","os":"linux","variant":"v7"}},)"
      R"({"ID":"linux/amd64","Platform":{"architecture":"amd64","os":"linux"}}]})";
  result.metadata["containerimage.config/linux/arm/v7"] = "{\"arm\":1}";
  result.metadata["containerimage.config"] = "{\"fallback\":1}";
  auto out = PlatformOutputs(result, llb::HostPlatform());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].snapshot, "snap-arm");
  EXPECT_EQ(llb::FormatPlatform((*out)[0].platform), "linux/arm/v7");
  EXPECT_EQ((*out)[0].image_config, "{\"arm\":1}");
  EXPECT_EQ((*out)[1].snapshot, "snap-amd64");
  EXPECT_EQ((*out)[1].image_config, "{\"fallback\":1}");
}

TEST(PlatformOutputsTest, SingleRefOrNoneGivesOnePlatform) {
  gateway::FinalResult result;
  auto empty = PlatformOutputs(result, {"linux", "s390x", "", "", {}});
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ((*empty)[0].snapshot, "");
  EXPECT_EQ((*empty)[0].platform.architecture, "s390x");
  result.refs["linux/arm64"] = Ref("one");
  auto one = PlatformOutputs(result, llb::HostPlatform());
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].snapshot, "one");
}

TEST(PlatformOutputsTest, MalformedResultsAreRefused) {
  gateway::FinalResult result;
  result.refs["linux/amd64"] = Ref("a");
  result.refs["linux/arm64"] = Ref("b");
  EXPECT_EQ(PlatformOutputs(result, llb::HostPlatform()).status().code(),
            StatusCode::kInvalidArgument);  // no refs.platforms
  result.metadata["refs.platforms"] =
      R"({"Platforms":[{"ID":"linux/amd64"},{"ID":"linux/s390x"}]})";
  auto missing = PlatformOutputs(result, llb::HostPlatform());
  EXPECT_NE(missing.status().message().find("no ref for linux/s390x"),
            std::string::npos)
      << missing.status().ToString();
  result.metadata["refs.platforms"] = "{not json";
  EXPECT_EQ(PlatformOutputs(result, llb::HostPlatform()).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::cli
