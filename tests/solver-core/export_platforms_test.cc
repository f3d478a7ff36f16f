// Multi-platform exports (ExportPlatforms) with the copy snapshotter: the
// image index of oci and image (platform order, variants, media types),
// attestation manifests as BuildKit lays them out, the docker refusal, and
// the platform-split directories of local and tar.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/solver/exporter.h"
#include "layer_diff_test_util.h"
#include "support/engine_setup.h"
#include "support/export_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
using Json = nlohmann::json;

class ExportPlatformsTest : public testing::ExportFixture {
 protected:
  ExportPlatformsTest() : ExportFixture("kiln-export-platforms-") {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ExportFixture::SetUp());
    testing::CommitStep(*snaps_, tmp_.path(), "amd", "",
                        [](const std::string& d) {
                          WriteFile(d + "/out-amd64", "amd64\n");
                          WriteFile(d + "/common", "x\n");
                        });
    testing::CommitStep(
        *snaps_, tmp_.path(), "arm", "",
        [](const std::string& d) { WriteFile(d + "/out-arm", "arm/v7\n"); });
    sources_.push_back(ExportSource{.snapshot = "amd",
                                    .platform = {"linux", "amd64", "", "", {}},
                                    .image_config = "",
                                    .created_by = {},
                                    .attestations = {}});
    sources_.push_back(ExportSource{.snapshot = "arm",
                                    .platform = {"linux", "arm", "v7", "", {}},
                                    .image_config = "",
                                    .created_by = {},
                                    .attestations = {}});
  }
};

TEST_F(ExportPlatformsTest, OciDirHoldsAnIndexInPlatformOrder) {
  std::string dir = tmp_.path() + "/layout";
  auto out = Run("type=oci,tar=false,name=app:1,dest=" + dir);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->count("containerimage.config.digest"), 0u);
  Json top = Json::parse(ReadFile(dir + "/index.json"));
  ASSERT_EQ(top["manifests"].size(), 1u);
  const Json& root = top["manifests"][0];
  EXPECT_EQ(root["mediaType"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(root["digest"], out->at("containerimage.digest"));
  EXPECT_EQ(root["annotations"]["org.opencontainers.image.ref.name"], "1");
  std::string digest = root["digest"];
  Json index = Json::parse(ReadFile(dir + "/blobs/sha256/" + digest.substr(7)));
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["platform"]["architecture"], "amd64");
  EXPECT_EQ(index["manifests"][1]["platform"]["architecture"], "arm");
  EXPECT_EQ(index["manifests"][1]["platform"]["variant"], "v7");
  // Each manifest's config names its platform, and its one layer is there.
  for (int i = 0; i < 2; ++i) {
    std::string m = index["manifests"][i]["digest"];
    Json manifest = Json::parse(ReadFile(dir + "/blobs/sha256/" + m.substr(7)));
    std::string c = manifest["config"]["digest"];
    Json config = Json::parse(ReadFile(dir + "/blobs/sha256/" + c.substr(7)));
    EXPECT_EQ(config["architecture"], i == 0 ? "amd64" : "arm");
    ASSERT_EQ(manifest["layers"].size(), 1u);
    std::string l = manifest["layers"][0]["digest"];
    EXPECT_TRUE(std::filesystem::exists(dir + "/blobs/sha256/" + l.substr(7)));
  }
}

TEST_F(ExportPlatformsTest, DockerTypesGiveAManifestList) {
  std::string dir = tmp_.path() + "/layout";
  auto out = Run("type=oci,tar=false,oci-mediatypes=false,dest=" + dir);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Json index = Blob(out->at("containerimage.digest"));
  EXPECT_EQ(index["mediaType"],
            "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_EQ(index["manifests"][0]["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json");
}

TEST_F(ExportPlatformsTest, ImageStoreNamesTheIndexAndResolvesEachPlatform) {
  auto out = Run("type=image,name=multi:1");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto record = images_->Get("multi:1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->target.digest.str(), out->at("containerimage.digest"));
  auto arm = images_->Resolve(record->target, {"linux", "arm", "v7", "", {}});
  ASSERT_TRUE(arm.ok()) << arm.status().ToString();
  EXPECT_EQ(Json::parse(arm->config_bytes)["architecture"], "arm");
  auto s390 = images_->Resolve(record->target, {"linux", "s390x", "", "", {}});
  EXPECT_FALSE(s390.ok());
}

TEST_F(ExportPlatformsTest, DockerRefusesSeveralPlatforms) {
  auto out = Run("type=docker,name=a:1,dest=" + tmp_.path() + "/d.tar");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(out.status().message().find("type=oci or type=image"),
            std::string::npos)
      << out.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/d.tar"));
}

TEST_F(ExportPlatformsTest, LocalSplitsByPlatform) {
  std::string dest = tmp_.path() + "/out";
  ASSERT_TRUE(Run("type=local,dest=" + dest).ok());
  EXPECT_EQ(ReadFile(dest + "/linux_amd64/out-amd64"), "amd64\n");
  EXPECT_EQ(ReadFile(dest + "/linux_arm_v7/out-arm"), "arm/v7\n");
  EXPECT_FALSE(std::filesystem::exists(dest + "/out-amd64"));
}

TEST_F(ExportPlatformsTest, LocalWithoutSplitMergesOrRefusesConflicts) {
  std::string dest = tmp_.path() + "/merged";
  ASSERT_TRUE(Run("type=local,platform-split=false,dest=" + dest).ok());
  EXPECT_EQ(ReadFile(dest + "/out-amd64"), "amd64\n");
  EXPECT_EQ(ReadFile(dest + "/out-arm"), "arm/v7\n");
  testing::CommitStep(
      *snaps_, tmp_.path(), "arm2", "",
      [](const std::string& d) { WriteFile(d + "/common", "y\n"); });
  sources_[1].snapshot = "arm2";
  auto out =
      Run("type=local,platform-split=false,dest=" + tmp_.path() + "/conflict");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("cannot overwrite common"),
            std::string::npos)
      << out.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/conflict/common"));
}

TEST_F(ExportPlatformsTest, LocalWithoutSplitMergesSharedDirectories) {
  testing::CommitStep(*snaps_, tmp_.path(), "etc-a", "",
                      [](const std::string& d) {
                        std::filesystem::create_directories(d + "/etc/sub");
                        WriteFile(d + "/etc/a", "a\n");
                        WriteFile(d + "/etc/sub/x", "x\n");
                      });
  testing::CommitStep(*snaps_, tmp_.path(), "etc-b", "",
                      [](const std::string& d) {
                        std::filesystem::create_directories(d + "/etc/sub");
                        WriteFile(d + "/etc/b", "b\n");
                        WriteFile(d + "/etc/sub/y", "y\n");
                      });
  sources_[0].snapshot = "etc-a";
  sources_[1].snapshot = "etc-b";
  std::string dest = tmp_.path() + "/merged";
  auto out = Run("type=local,platform-split=false,dest=" + dest);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(ReadFile(dest + "/etc/a"), "a\n");
  EXPECT_EQ(ReadFile(dest + "/etc/b"), "b\n");
  EXPECT_EQ(ReadFile(dest + "/etc/sub/x"), "x\n");
  EXPECT_EQ(ReadFile(dest + "/etc/sub/y"), "y\n");
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dest)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);  // etc only: no staging left behind
}

TEST_F(ExportPlatformsTest, LocalWithoutSplitRefusesFileDirectoryConflicts) {
  testing::CommitStep(
      *snaps_, tmp_.path(), "file-a", "",
      [](const std::string& d) { WriteFile(d + "/a", "file\n"); });
  testing::CommitStep(*snaps_, tmp_.path(), "dir-a", "",
                      [](const std::string& d) {
                        std::filesystem::create_directories(d + "/a");
                        WriteFile(d + "/a/b", "b\n");
                        WriteFile(d + "/new", "new\n");
                      });
  sources_[0].snapshot = "file-a";
  sources_[1].snapshot = "dir-a";
  std::string dest = tmp_.path() + "/conflict";
  std::filesystem::create_directories(dest);
  WriteFile(dest + "/a", "kept\n");
  auto out = Run("type=local,platform-split=false,dest=" + dest);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find(
                "cannot overwrite a from linux/amd64 with linux/arm/v7 when "
                "split option is disabled"),
            std::string::npos)
      << out.status().ToString();
  // Nothing moved into place: the old file stays, nothing new appears.
  EXPECT_EQ(ReadFile(dest + "/a"), "kept\n");
  EXPECT_FALSE(std::filesystem::exists(dest + "/new"));
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dest)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST_F(ExportPlatformsTest, FailedSplitExportLeavesNoPlatform) {
  sources_[1].snapshot = "no-such-snapshot";
  std::string dest = tmp_.path() + "/split";
  auto out = Run("type=local,dest=" + dest);
  ASSERT_FALSE(out.ok());
  // The first platform copied fine but must not appear alone.
  EXPECT_FALSE(std::filesystem::exists(dest + "/linux_amd64"));
  EXPECT_TRUE(std::filesystem::is_empty(dest));
}

TEST_F(ExportPlatformsTest, PlatformsSharingADirectoryNameAreRefused) {
  sources_[0].platform = {"linux", "arm_v7", "", "", {}};
  auto out = Run("type=local,dest=" + tmp_.path() + "/same");
  ASSERT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("linux_arm_v7"), std::string::npos)
      << out.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/same"));
}

TEST_F(ExportPlatformsTest, SplitDirectoriesAreNamedAfterThePlatformIds) {
  // As BuildKit: the refs.platforms ID with '/' as '_'.
  sources_[0].id = "custom/amd";
  std::string dest = tmp_.path() + "/ids";
  auto out = Run("type=local,dest=" + dest);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(ReadFile(dest + "/custom_amd/out-amd64"), "amd64\n");
  EXPECT_EQ(ReadFile(dest + "/linux_arm_v7/out-arm"), "arm/v7\n");
  sources_[0].id = "..";
  auto bad = Run("type=local,dest=" + tmp_.path() + "/dots");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/dots"));
  sources_[0].id = "linux/arm/v7";  // linux/arm/v7's directory twice
  EXPECT_EQ(Run("type=tar,dest=" + tmp_.path() + "/t.tar").status().code(),
            StatusCode::kInvalidArgument);
}

// The split directories' mtimes in a tar, by name.
std::map<std::string, int64_t> DirTimes(const std::string& path) {
  std::map<std::string, int64_t> times;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    archive_read_free(a);
    return times;
  }
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.find('/') + 1 == name.size()) times[name] = archive_entry_mtime(e);
  }
  archive_read_free(a);
  return times;
}

TEST_F(ExportPlatformsTest, TarSplitDirectoriesHaveFixedTimes) {
  std::string file = tmp_.path() + "/out.tar";
  ASSERT_TRUE(Run("type=tar,dest=" + file).ok());
  std::map<std::string, int64_t> want = {{"linux_amd64/", 0},
                                         {"linux_arm_v7/", 0}};
  EXPECT_EQ(DirTimes(file), want);
  ASSERT_TRUE(Run("type=tar,source-date-epoch=1700000000,dest=" + file).ok());
  want = {{"linux_amd64/", 1700000000}, {"linux_arm_v7/", 1700000000}};
  EXPECT_EQ(DirTimes(file), want);
  auto bad = Run("type=tar,source-date-epoch=soon,dest=" + file);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ExportPlatformsTest, TarSplitsByPlatform) {
  std::string file = tmp_.path() + "/out.tar";
  ASSERT_TRUE(Run("type=tar,dest=" + file).ok());
  std::vector<std::string> names = testing::TarNames(file);
  std::sort(names.begin(), names.end());
  std::vector<std::string> want = {"linux_amd64", "linux_amd64/common",
                                   "linux_amd64/out-amd64", "linux_arm_v7",
                                   "linux_arm_v7/out-arm"};
  for (std::string& n : names) {
    if (n.ends_with("/")) n.pop_back();
  }
  EXPECT_EQ(names, want);
  auto refused = Run("type=tar,platform-split=false,dest=" + file);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ExportPlatformsTest, OneSourceKeepsThePlainManifest) {
  sources_.pop_back();
  auto out = Run("type=image,name=one:1");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto record = images_->Get("one:1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->target.media_type,
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(out->count("containerimage.config.digest"), 1u);
  // local: no split for one platform unless asked.
  std::string dest = tmp_.path() + "/one";
  ASSERT_TRUE(Run("type=local,dest=" + dest).ok());
  EXPECT_TRUE(std::filesystem::exists(dest + "/out-amd64"));
  ASSERT_TRUE(Run("type=local,platform-split=true,dest=" + dest + "2").ok());
  EXPECT_TRUE(std::filesystem::exists(dest + "2/linux_amd64/out-amd64"));
}

TEST_F(ExportPlatformsTest, SamePlatformTwiceIsRefused) {
  sources_[1].platform = sources_[0].platform;
  auto out = Run("type=local,dest=" + tmp_.path() + "/twice");
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::solver
