#include "kiln/llb/path.h"

#include <gtest/gtest.h>

namespace kiln::llb {
namespace {

TEST(PathTest, CleanAndJoinFollowGo) {
  EXPECT_EQ(CleanPath(""), ".");
  EXPECT_EQ(CleanPath("a//b/./c/.."), "a/b");
  EXPECT_EQ(CleanPath("/../a/"), "/a");
  EXPECT_EQ(CleanPath("a/../.."), "..");
  EXPECT_EQ(JoinPath("", ""), "");
  EXPECT_EQ(JoinPath("/x", "../y"), "/y");
  EXPECT_EQ(JoinPath("", "b/"), "b");
}

}  // namespace
}  // namespace kiln::llb
