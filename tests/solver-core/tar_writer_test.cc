// Deterministic layer tars (solver-core/src/tar_writer.h): the same entries
// give the same tar, gzip and zstd bytes every time, with no host-specific
// records (times other than mtime, user names, process ids, file names in
// the gzip header).
#include "tar_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace kiln::solver::internal {
namespace {

std::vector<LayerEntry> Entries() {
  std::string long_name(150, 'n');
  std::vector<LayerEntry> e;
  e.push_back({.path = "z",
               .type = EntryType::kFile,
               .mode = 0644,
               .mtime = 1700000000,
               .size = 3,
               .data_id = 1});
  e.push_back({.path = "d",
               .type = EntryType::kDir,
               .mode = 0755,
               .mtime = 1700000000});
  e.push_back({.path = "d/" + long_name,
               .type = EntryType::kFile,
               .mode = 0600,
               .uid = 1000,
               .gid = 1000,
               .mtime = 5,
               .size = 3,
               .xattrs = {{"user.note", "v"}},
               .data_id = 2});
  e.push_back({.path = "a",
               .type = EntryType::kFile,
               .mode = 0644,
               .mtime = 1700000000,
               .size = 3,
               .data_id = 1});  // hardlink
  e.push_back({.path = "d/ln",
               .type = EntryType::kSymlink,
               .mode = 0777,
               .mtime = 1,
               .link = "../a"});
  FinalizeEntries(&e);
  return e;
}

Status Data(const LayerEntry& entry, const DataSink& sink) {
  return sink(entry.data_id == 1 ? "one" : "two");
}

std::string Write(oci::Compression compression, Digest* diff_id = nullptr) {
  std::string out;
  Status s = WriteTarStream(
      Entries(), Data, compression,
      [&](std::string_view chunk) {
        out.append(chunk);
        return Status::Ok();
      },
      diff_id);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(TarWriterTest, SameEntriesGiveSameBytes) {
  for (auto c : {oci::Compression::kNone, oci::Compression::kGzip,
                 oci::Compression::kZstd}) {
    Digest first, second;
    std::string a = Write(c, &first);
    std::string b = Write(c, &second);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, b) << static_cast<int>(c);
    EXPECT_EQ(first, second);
  }
}

TEST(TarWriterTest, OrderAndHardlinksAreStable) {
  std::vector<LayerEntry> e = Entries();
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].path, "a");
  EXPECT_EQ(e[1].path, "d");
  EXPECT_EQ(e[4].path, "z");
  EXPECT_EQ(e[0].type, EntryType::kFile) << "first in order keeps the data";
  EXPECT_EQ(e[4].type, EntryType::kHardlink);
  EXPECT_EQ(e[4].link, "a");
}

TEST(TarWriterTest, NoHostRecords) {
  std::string tar = Write(oci::Compression::kNone);
  EXPECT_EQ(tar.find("atime="), std::string::npos);
  EXPECT_EQ(tar.find("ctime="), std::string::npos);
  EXPECT_EQ(tar.find("PaxHeaders." + std::to_string(getpid())),
            std::string::npos);
  EXPECT_NE(tar.find("SCHILY.xattr.user.note=v"), std::string::npos);
  // Every ustar header: empty uname and gname.
  size_t headers = 0;
  for (size_t off = 0; off + 512 <= tar.size(); off += 512) {
    if (tar.compare(off + 257, 5, "ustar") != 0) continue;
    ++headers;
    EXPECT_EQ(tar[off + 265], '\0') << "uname at " << off;
    EXPECT_EQ(tar[off + 297], '\0') << "gname at " << off;
  }
  EXPECT_GE(headers, 5u);
  // No padding to a 10 KiB record: the end-of-archive blocks end it.
  EXPECT_EQ(tar.size() % 512, 0u);
  EXPECT_EQ(tar.substr(tar.size() - 1024), std::string(1024, '\0'));
  EXPECT_NE(tar.size() % 10240, 0u);
}

TEST(TarWriterTest, GzipHeaderHasNoNameOrTime) {
  std::string gz = Write(oci::Compression::kGzip);
  ASSERT_GE(gz.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(gz[3], 0) << "no FNAME, FCOMMENT or FEXTRA";
  EXPECT_EQ(gz.substr(4, 4), std::string(4, '\0')) << "mtime 0";
  EXPECT_EQ(static_cast<unsigned char>(gz[9]), 3) << "OS: Unix";
}

}  // namespace
}  // namespace kiln::solver::internal
