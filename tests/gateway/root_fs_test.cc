// The file access behind ReadFile/StatFile (gateway/src/root_fs.h) on the
// hostile cases a frontend can create in a ref: a named pipe (must not block),
// a huge sparse file (must not be read into memory), ".." at the root.
#include "root_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/test_util.h"

namespace kiln::gateway {
namespace {

TEST(RootFsTest, NamedPipeIsRefusedWithoutBlocking) {
  solver::testing::TempDir dir("kiln-rootfs-");
  ASSERT_EQ(mkfifo((dir.path() + "/pipe").c_str(), 0644), 0);
  auto read = ReadFileInRoot(dir.path(), "/pipe", std::nullopt);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status().message(), "read /pipe: not a regular file");
}

TEST(RootFsTest, HugeFilesAreReadInRangesOnly) {
  solver::testing::TempDir dir("kiln-rootfs-");
  const std::string path = dir.path() + "/big";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, int64_t{64} << 30), 0);  // 64 GiB, sparse
  ASSERT_EQ(pwrite(fd, "tail", 4, (int64_t{64} << 30) - 4), 4);
  close(fd);
  auto whole = ReadFileInRoot(dir.path(), "big", std::nullopt);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(whole.status().message().find("read big: 68719476736 bytes exceed"),
            std::string::npos)
      << whole.status().message();
  auto tail = ReadFileInRoot(dir.path(), "big",
                             ByteRange{.offset = (int64_t{64} << 30) - 4,
                                       .length = INT64_MAX});  // no overflow
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(*tail, "tail");
  auto past = ReadFileInRoot(
      dir.path(), "big", ByteRange{.offset = int64_t{80} << 30, .length = 10});
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, "");
}

TEST(RootFsTest, DotDotAtTheRootIsTheRoot) {
  solver::testing::TempDir dir("kiln-rootfs-");
  ASSERT_EQ(chmod(dir.path().c_str(), 0750), 0);
  for (const char* path : {"..", "/..", "/../..", "."}) {
    auto st = StatInRoot(dir.path(), path);
    ASSERT_TRUE(st.ok()) << path << ": " << st.status().ToString();
    EXPECT_EQ(st->mode() & 0777, 0750u) << path;
  }
}

}  // namespace
}  // namespace kiln::gateway
