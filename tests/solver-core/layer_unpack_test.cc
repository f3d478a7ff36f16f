// ApplyLayer without privilege: tars built in the test, applied to temp
// dirs, results checked file by file. Privileged behaviour (ownership,
// devices, overlay whiteouts) is in layer_unpack_root_test.cc; here, when
// the suite runs as root, force_unprivileged makes it behave as a user.
#include "kiln/solver/layer_unpack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "layer_test_util.h"

namespace kiln::solver {
namespace {

using ::kiln::solver::testing::CompressLayer;
using ::kiln::solver::testing::DumpTree;
using ::kiln::solver::testing::LayerTarEntry;
using ::kiln::solver::testing::TarDir;
using ::kiln::solver::testing::TarFile;
using ::kiln::solver::testing::TarHardlink;
using ::kiln::solver::testing::TarSymlink;
using ::kiln::solver::testing::TempDir;
using ::kiln::solver::testing::WriteFile;
using Tree = std::map<std::string, std::string>;
namespace fs = std::filesystem;

class LayerUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Nested, so that a resolver bug that lets `..` climb out of dest
    // lands in the temp dir rather than in the host's directories.
    dest_ = tmp_.path() + "/x/y/dest";
    outside_ = tmp_.path() + "/outside";
    fs::create_directories(dest_);
    fs::create_directories(outside_);
    WriteFile(outside_ + "/target", "precious");
  }

  // Writes the layer as a blob and applies it to dest_.
  Result<UnpackStats> Apply(
      const std::vector<LayerTarEntry>& entries,
      oci::Compression compression = oci::Compression::kNone,
      ApplyOptions options = {}) {
    options.force_unprivileged = true;
    std::string blob = tmp_.path() + "/blob-" + std::to_string(++blobs_);
    WriteFile(blob,
              CompressLayer(testing::BuildLayerTar(entries), compression));
    return ApplyLayer(blob, compression, dest_, options);
  }

  Tree Outside() const { return DumpTree(outside_); }

  TempDir tmp_;
  std::string dest_;
  std::string outside_;
  int blobs_ = 0;
};

TEST_F(LayerUnpackTest, AppliesFilesDirectoriesModesAndTimes) {
  LayerTarEntry late_dir = TarDir("etc", 0755);
  late_dir.mtime = 1600000000;
  LayerTarEntry hosts = TarFile("etc/hosts", "127.0.0.1 localhost\n");
  hosts.mtime = 1650000000;
  auto stats = Apply({late_dir, hosts, TarDir("bin", 0750),
                      TarFile("bin/tool", "#!x", 04755), TarDir("tmp", 01777),
                      TarDir("ro", 0555), TarFile("ro/file", "r", 0444),
                      TarFile("implicit/parent/file", "p", 0600)});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_),
            (Tree{{"bin", "d 0750"},
                  {"bin/tool", "f 4755 #!x"},
                  {"etc", "d 0755"},
                  {"etc/hosts", "f 0644 127.0.0.1 localhost\n"},
                  {"implicit", "d 0755"},
                  {"implicit/parent", "d 0755"},
                  {"implicit/parent/file", "f 0600 p"},
                  {"ro", "d 0555"},
                  {"ro/file", "f 0444 r"},
                  {"tmp", "d 1777"}}));
  struct stat st {};
  ASSERT_EQ(stat((dest_ + "/etc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000)
      << "directory times are set after their contents";
  ASSERT_EQ(stat((dest_ + "/etc/hosts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1650000000);
  EXPECT_EQ(stats->entries, 8);
  EXPECT_EQ(stats->bytes, 20 + 3 + 1 + 1);
  EXPECT_EQ(stats->whiteouts, 0);
}

TEST_F(LayerUnpackTest, CreatesSymlinksWithoutFollowingThem) {
  auto stats =
      Apply({TarDir("usr"), TarDir("usr/lib"), TarSymlink("lib", "usr/lib"),
             TarSymlink("abs", outside_ + "/target"),
             TarSymlink("dangling", "nowhere")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_), (Tree{{"abs", "l -> " + outside_ + "/target"},
                                   {"dangling", "l -> nowhere"},
                                   {"lib", "l -> usr/lib"},
                                   {"usr", "d 0755"},
                                   {"usr/lib", "d 0755"}}));
}

TEST_F(LayerUnpackTest, HardlinksShareInodesInsideDest) {
  WriteFile(dest_ + "/lower.txt", "from below");
  auto stats =
      Apply({TarFile("a", "same"), TarHardlink("b", "a"),
             TarHardlink("dir/c", "/a"), TarHardlink("d", "lower.txt")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  struct stat a {
  }, b{}, c{}, d{}, lower{};
  ASSERT_EQ(lstat((dest_ + "/a").c_str(), &a), 0);
  ASSERT_EQ(lstat((dest_ + "/b").c_str(), &b), 0);
  ASSERT_EQ(lstat((dest_ + "/dir/c").c_str(), &c), 0);
  ASSERT_EQ(lstat((dest_ + "/d").c_str(), &d), 0);
  ASSERT_EQ(lstat((dest_ + "/lower.txt").c_str(), &lower), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_ino, c.st_ino);
  EXPECT_EQ(a.st_nlink, 3u);
  EXPECT_EQ(d.st_ino, lower.st_ino);
}

TEST_F(LayerUnpackTest, RejectsHardlinksOutsideDest) {
  auto escape = Apply({TarHardlink("x", "../outside/target")});
  EXPECT_EQ(escape.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(escape.status().message().find("\"x\""), std::string::npos)
      << escape.status().message();

  auto missing = Apply({TarHardlink("y", "missing")});
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("does not exist"),
            std::string::npos);

  // A symlink in the target's path resolves inside dest, where there is no
  // such file; the outside file must not gain a link.
  auto via_symlink =
      Apply({TarSymlink("esc", outside_), TarHardlink("h", "esc/target")});
  EXPECT_EQ(via_symlink.status().code(), StatusCode::kInvalidArgument)
      << via_symlink.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat((outside_ + "/target").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_FALSE(fs::exists(dest_ + "/h"));
}

TEST_F(LayerUnpackTest, WhiteoutsDeleteLowerFilesInPlace) {
  WriteFile(dest_ + "/a/keep", "k");
  WriteFile(dest_ + "/a/gone", "g");
  WriteFile(dest_ + "/dir/x/y", "deep");
  WriteFile(dest_ + "/f", "f");
  auto stats = Apply({TarFile("a/.wh.gone", ""), TarFile(".wh.dir", ""),
                      TarFile(".wh.nothere", ""), TarFile("new", "n"),
                      TarFile(".wh..wh.plnk", "")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_), (Tree{{"a", "d 0755"},
                                   {"a/keep", "f 0644 k"},
                                   {"f", "f 0644 f"},
                                   {"new", "f 0644 n"}}));
  EXPECT_EQ(stats->whiteouts, 3);
  EXPECT_EQ(stats->entries, 5);
}

TEST_F(LayerUnpackTest, OpaqueDirectoryHidesLowerContentWhereverTheMarkerSits) {
  WriteFile(dest_ + "/o/old1", "1");
  WriteFile(dest_ + "/o/sub/old2", "2");
  WriteFile(dest_ + "/p/old3", "3");
  WriteFile(dest_ + "/p/sub/old4", "4");
  WriteFile(dest_ + "/untouched/x", "x");
  auto stats =
      Apply({TarDir("o"), TarFile("o/.wh..wh..opq", ""), TarFile("o/new", "n"),
             // The marker after the entries: they must survive it.
             TarDir("p"), TarFile("p/new", "m"), TarDir("p/sub"),
             TarFile("p/sub/fresh", "f"), TarFile("p/.wh..wh..opq", "")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_), (Tree{{"o", "d 0755"},
                                   {"o/new", "f 0644 n"},
                                   {"p", "d 0755"},
                                   {"p/new", "f 0644 m"},
                                   {"p/sub", "d 0755"},
                                   {"p/sub/fresh", "f 0644 f"},
                                   {"untouched", "d 0755"},
                                   {"untouched/x", "f 0644 x"}}));
  EXPECT_EQ(stats->whiteouts, 2);
}

TEST_F(LayerUnpackTest, LateOpaqueMarkerKeepsParentsTheLayerDidNotList) {
  WriteFile(dest_ + "/p/old", "o");
  WriteFile(dest_ + "/p/deep/stale", "s");
  // No directory entries: p/sub is created for p/sub/fresh, p/deep and
  // p/deep/er are written into; all must survive the marker after them.
  auto stats =
      Apply({TarFile("p/sub/fresh", "f"), TarFile("p/deep/er/file", "e"),
             TarFile("p/.wh..wh..opq", "")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_), (Tree{{"p", "d 0755"},
                                   {"p/deep", "d 0755"},
                                   {"p/deep/er", "d 0755"},
                                   {"p/deep/er/file", "f 0644 e"},
                                   {"p/sub", "d 0755"},
                                   {"p/sub/fresh", "f 0644 f"}}));
  EXPECT_EQ(stats->whiteouts, 1);
}

TEST_F(LayerUnpackTest, OverlayModeNeedsPrivilege) {
  auto stats = Apply({TarFile("a", "x")}, oci::Compression::kNone,
                     ApplyOptions{.mode = LayerApplyMode::kOverlay});
  EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(stats.status().message().find("root"), std::string::npos);
}

TEST_F(LayerUnpackTest, RejectsDotDotEscapesNamingTheEntry) {
  for (const char* name : {"../evil", "a/../../evil", "./../outside/evil"}) {
    auto stats = Apply({TarFile("fine", "ok"), TarFile(name, "bad")});
    EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(stats.status().message().find(std::string("\"") + name + "\""),
              std::string::npos)
        << stats.status().message();
  }
  EXPECT_FALSE(fs::exists(tmp_.path() + "/x/y/evil"));
  EXPECT_FALSE(fs::exists(tmp_.path() + "/x/y/outside"));
  EXPECT_EQ(Outside(), (Tree{{"target", "f 0644 precious"}}));
}

TEST_F(LayerUnpackTest, NormalizesAbsoluteAndDottedPaths) {
  auto stats = Apply({TarFile("/abs/file", "a"), TarFile("./rel/./x", "r"),
                      TarFile("a/../b", "b"), TarDir("./")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_), (Tree{{"abs", "d 0755"},
                                   {"abs/file", "f 0644 a"},
                                   {"b", "f 0644 b"},
                                   {"rel", "d 0755"},
                                   {"rel/x", "f 0644 r"}}));
}

class SymlinkEscapeTest : public LayerUnpackTest,
                          public ::testing::WithParamInterface<bool> {};

TEST_P(SymlinkEscapeTest, PathsThroughSymlinksStayInsideDest) {
  ApplyOptions options{.force_portable_resolve = GetParam()};
  // Lower content that points out of dest.
  fs::create_symlink(outside_ + "/target", dest_ + "/f");
  fs::create_symlink(outside_, dest_ + "/dlink");
  fs::create_symlink(outside_, dest_ + "/wl");
  auto stats =
      Apply({TarFile("wl/.wh.target", ""),    // whiteout through a symlink
             TarFile("wl/.wh..wh..opq", ""),  // opaque through a symlink
             TarSymlink("link", outside_), TarFile("link/pwned", "1"),
             TarSymlink("rel", "../.."), TarFile("rel/pwned2", "2"),
             TarSymlink("loop", "loop"),
             TarFile("f", "replaced"),  // a symlink as last component
             TarDir("dlink")},          // dir entry over a symlink
            oci::Compression::kNone, options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(Outside(), (Tree{{"target", "f 0644 precious"}}));
  EXPECT_FALSE(fs::exists(tmp_.path() + "/x/pwned2"))
      << "`..` climbed out of dest";
  EXPECT_FALSE(fs::exists(tmp_.path() + "/x/y/pwned2"))
      << "`..` climbed out of dest";
  std::string inside = dest_ + outside_;  // `link` resolved with dest as /
  EXPECT_EQ(testing::ReadFile(inside + "/pwned"), "1");
  EXPECT_EQ(testing::ReadFile(dest_ + "/pwned2"), "2");
  EXPECT_EQ(DumpTree(dest_)["f"], "f 0644 replaced");
  EXPECT_EQ(DumpTree(dest_)["dlink"], "d 0755");

  auto loop = Apply({TarFile("loop/x", "x")}, oci::Compression::kNone, options);
  EXPECT_FALSE(loop.ok());
  EXPECT_NE(loop.status().message().find("\"loop/x\""), std::string::npos);
  EXPECT_EQ(Outside(), (Tree{{"target", "f 0644 precious"}}));
}

INSTANTIATE_TEST_SUITE_P(Resolvers, SymlinkEscapeTest,
                         ::testing::Values(false, true), [](const auto& info) {
                           return info.param ? "Portable" : "Openat2";
                         });

TEST_F(LayerUnpackTest, SkipsDevicesWhenUnprivilegedButMakesFifos) {
  LayerTarEntry null_dev{
      .path = "dev/null", .type = 'c', .mode = 0666, .rdev = makedev(1, 3)};
  LayerTarEntry loop_dev{
      .path = "dev/loop0", .type = 'b', .mode = 0660, .rdev = makedev(7, 0)};
  LayerTarEntry fifo{.path = "run/pipe", .type = 'p', .mode = 0620};
  WriteFile(dest_ + "/dev/null", "stale lower file");
  auto stats = Apply({TarDir("dev"), null_dev, loop_dev, TarDir("run"), fifo});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped_devices, 2);
  EXPECT_EQ(
      DumpTree(dest_),
      (Tree{{"dev", "d 0755"}, {"run", "d 0755"}, {"run/pipe", "p 0620"}}));
}

TEST_F(LayerUnpackTest, KeepsOwnOwnershipWhenUnprivileged) {
  LayerTarEntry owned = TarFile("owned", "o");
  owned.uid = 4321;
  owned.gid = 4321;
  LayerTarEntry mine = TarFile("mine", "m");
  mine.uid = geteuid();
  mine.gid = getegid();
  auto stats = Apply({owned, mine});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  struct stat st {};
  ASSERT_EQ(lstat((dest_ + "/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(stats->skipped_chowns, 1);
}

TEST_F(LayerUnpackTest, ReplacesAcrossTypesAndMergesDirectories) {
  WriteFile(dest_ + "/x/inner", "i");
  WriteFile(dest_ + "/y", "file");
  WriteFile(dest_ + "/z/lower", "l");
  fs::create_symlink("x", dest_ + "/s");
  auto stats =
      Apply({TarFile("x", "now a file"), TarDir("y", 0700),
             TarFile("y/in", "i"), TarDir("z", 0711), TarFile("z/upper", "u"),
             TarFile("s", "no longer a link")});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(DumpTree(dest_), (Tree{{"s", "f 0644 no longer a link"},
                                   {"x", "f 0644 now a file"},
                                   {"y", "d 0700"},
                                   {"y/in", "f 0644 i"},
                                   {"z", "d 0711"},
                                   {"z/lower", "f 0644 l"},
                                   {"z/upper", "f 0644 u"}}));
}

TEST_F(LayerUnpackTest, AppliesUserXattrsAndFiltersOverlayOnes) {
  LayerTarEntry file = TarFile("file", "x");
  file.xattrs = {{"user.kiln", "yes"},
                 {"trusted.overlay.redirect", "/elsewhere"},
                 {"security.capability", std::string("\x01\x00\x00\x02", 4)}};
  LayerTarEntry dir = TarDir("dir");
  dir.xattrs = {{"trusted.overlay.opaque", "y"}, {"user.dir", "d"}};
  auto stats = Apply({file, dir});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(testing::GetXattr(dest_ + "/file", "user.kiln"), "yes");
  EXPECT_EQ(testing::GetXattr(dest_ + "/dir", "user.dir"), "d");
  EXPECT_EQ(testing::GetXattr(dest_ + "/dir", "trusted.overlay.opaque"),
            "<none>");
  EXPECT_EQ(testing::GetXattr(dest_ + "/file", "trusted.overlay.redirect"),
            "<none>");
  EXPECT_EQ(testing::GetXattr(dest_ + "/file", "security.capability"),
            "<none>");
  EXPECT_EQ(stats->skipped_xattrs, 3);
}

class CompressionTest : public LayerUnpackTest,
                        public ::testing::WithParamInterface<oci::Compression> {
};

TEST_P(CompressionTest, UnpacksAndComputesTheDiffIdOfTheUncompressedStream) {
  std::vector<LayerTarEntry> entries = {
      TarDir("d"), TarFile("d/big", std::string(300000, 'z')),
      TarFile("d/small", "s"), TarSymlink("d/l", "small")};
  std::string tar = testing::BuildLayerTar(entries);
  ASSERT_EQ(tar.size() % 10240, 0u) << "the tar is padded past its end marker";
  auto stats = Apply(entries, GetParam());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->diff_id, Digest::FromBytes(tar));
  EXPECT_EQ(stats->bytes, 300001);
  EXPECT_EQ(DumpTree(dest_),
            (Tree{{"d", "d 0755"},
                  {"d/big",
                   "f 0644 <300000 bytes " +
                       Digest::FromBytes(std::string(300000, 'z')).str() + ">"},
                  {"d/l", "l -> small"},
                  {"d/small", "f 0644 s"}}));
}

INSTANTIATE_TEST_SUITE_P(All, CompressionTest,
                         ::testing::Values(oci::Compression::kNone,
                                           oci::Compression::kGzip,
                                           oci::Compression::kZstd),
                         [](const auto& info) {
                           switch (info.param) {
                             case oci::Compression::kGzip:
                               return "Gzip";
                             case oci::Compression::kZstd:
                               return "Zstd";
                             default:
                               return "None";
                           }
                         });

TEST_F(LayerUnpackTest, DiffIdCoversBytesAfterTheEndMarker) {
  std::string tar = testing::BuildLayerTar({TarFile("a", "a")}) +
                    std::string(1 << 20, '\0');  // past any read-ahead
  std::string blob = tmp_.path() + "/padded";
  WriteFile(blob, CompressLayer(tar, oci::Compression::kGzip));
  auto stats = ApplyLayer(blob, oci::Compression::kGzip, dest_, {});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->diff_id, Digest::FromBytes(tar));
}

TEST_F(LayerUnpackTest, MislabelledOrCorruptStreamsAreDataLoss) {
  std::string tar =
      testing::BuildLayerTar({TarFile("a", std::string(100000, 'a'))});
  std::string plain = tmp_.path() + "/plain";
  WriteFile(plain, tar);
  EXPECT_EQ(
      ApplyLayer(plain, oci::Compression::kGzip, dest_, {}).status().code(),
      StatusCode::kDataLoss);
  EXPECT_EQ(
      ApplyLayer(plain, oci::Compression::kZstd, dest_, {}).status().code(),
      StatusCode::kDataLoss);

  std::string gz = CompressLayer(tar, oci::Compression::kGzip);
  std::string gz_as_plain = tmp_.path() + "/gz";
  WriteFile(gz_as_plain, gz);
  EXPECT_EQ(ApplyLayer(gz_as_plain, oci::Compression::kNone, dest_, {})
                .status()
                .code(),
            StatusCode::kDataLoss);

  std::string truncated = tmp_.path() + "/truncated";
  WriteFile(truncated, gz.substr(0, gz.size() / 2));
  auto cut = ApplyLayer(truncated, oci::Compression::kGzip, dest_, {});
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss)
      << cut.status().ToString();

  // libarchive does not check gzip trailers (CRC, size): damage inside the
  // deflate stream is caught either as a decode error or by the diff_id.
  std::string flipped = gz;
  flipped[gz.size() / 2] ^= 0x55;
  std::string damaged = tmp_.path() + "/damaged";
  WriteFile(damaged, flipped);
  auto bad = ApplyLayer(damaged, oci::Compression::kGzip, dest_, {});
  if (bad.ok()) {
    EXPECT_NE(bad->diff_id, Digest::FromBytes(tar));
  } else {
    EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss)
        << bad.status().ToString();
  }
}

TEST_F(LayerUnpackTest, MissingBlobOrDestIsNotFound) {
  EXPECT_EQ(
      ApplyLayer(tmp_.path() + "/nope", oci::Compression::kNone, dest_, {})
          .status()
          .code(),
      StatusCode::kNotFound);
  std::string blob = tmp_.path() + "/blob";
  WriteFile(blob, testing::BuildLayerTar({TarFile("a", "a")}));
  EXPECT_EQ(
      ApplyLayer(blob, oci::Compression::kNone, tmp_.path() + "/nodest", {})
          .status()
          .code(),
      StatusCode::kNotFound);
}

TEST(ChainIdsTest, FollowTheOciDefinition) {
  auto d = [](const char* s) { return *Digest::Parse(s); };
  std::vector<Digest> diff_ids = {
      d("sha256:"
        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
      d("sha256:"
        "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"),
      d("sha256:"
        "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6")};
  // Computed with sha256sum over "<chain> <diff_id>".
  EXPECT_EQ(
      ChainIds(diff_ids),
      (std::vector<Digest>{
          diff_ids[0],
          d("sha256:"
            "51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676"),
          d("sha256:"
            "2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa74963188510"
            "6")}));
  EXPECT_TRUE(ChainIds({}).empty());
}

}  // namespace
}  // namespace kiln::solver
