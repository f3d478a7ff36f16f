// `kiln image …` end to end: the real binary on a temporary state root, a real
// registry on 127.0.0.1 for push and pull.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../solver-core/support/registry_fixture.h"
#include "../solver-core/support/test_util.h"

namespace kiln::cli {
namespace {

using solver::testing::CommandResult;
using solver::testing::MakeTempDir;
using solver::testing::RemoveTree;
using solver::testing::RunCommand;
using solver::testing::WriteFile;

class ImageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("kiln-image-cli");
    root_ = dir_ + "/root";
    // A small root file system to import.
    rootfs_ = dir_ + "/rootfs";
    ASSERT_EQ(mkdir(rootfs_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((rootfs_ + "/etc").c_str(), 0755), 0);
    WriteFile(rootfs_ + "/etc/hostname", "kiln\n");
    WriteFile(rootfs_ + "/hello.txt", "hello from kiln\n");
  }
  void TearDown() override { RemoveTree(dir_); }

  // Runs kiln with --root `root` (default: this test's) and extra env.
  CommandResult Kiln(std::vector<std::string> args, const std::string& root = "",
                     const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv{"env", "-u", "KILN_CONFIG", "SOURCE_DATE_EPOCH=0"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(KILN_BINARY);
    argv.push_back("--root");
    argv.push_back(root.empty() ? root_ : root);
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::vector<nlohmann::json> List(const std::string& root = "") {
    CommandResult r = Kiln({"image", "ls", "--format", "json"}, root);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<nlohmann::json> out;
    size_t start = 0;
    while (start < r.output.size()) {
      size_t end = r.output.find('\n', start);
      if (end == std::string::npos) end = r.output.size();
      if (end > start) out.push_back(nlohmann::json::parse(r.output.substr(start, end - start)));
      start = end + 1;
    }
    return out;
  }

  std::string Import(const std::string& name) {
    CommandResult r = Kiln({"image", "import", rootfs_, name});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find('\n'));
  }

  std::string dir_, root_, rootfs_;
};

TEST_F(ImageCli, ImportListTagInspectRemove) {
  std::string digest = Import("demo/app:1");
  EXPECT_EQ(digest.rfind("sha256:", 0), 0u) << digest;
  // Deterministic: the same tree under SOURCE_DATE_EPOCH gives the same image.
  EXPECT_EQ(Import("demo/app:again"), digest);

  ASSERT_EQ(Kiln({"image", "tag", "demo/app:1", "127.0.0.1:5000/app:latest"}).exit_code, 0);
  auto images = List();
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(images[0]["Name"], "127.0.0.1:5000/app:latest");
  EXPECT_EQ(images[1]["Name"], "docker.io/demo/app:1");
  EXPECT_EQ(images[1]["Digest"], digest);
  EXPECT_GT(images[1]["Size"].get<int64_t>(), 0);

  CommandResult inspect = Kiln({"image", "inspect", "demo/app:1"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  auto doc = nlohmann::json::parse(inspect.output);
  EXPECT_EQ(doc["Name"], "docker.io/demo/app:1");
  EXPECT_EQ(doc["Descriptor"]["digest"], digest);
  EXPECT_EQ(doc["Manifest"]["layers"].size(), 1u);
  EXPECT_EQ(doc["Config"]["rootfs"]["diff_ids"].size(), 1u);
  EXPECT_EQ(doc["Config"]["created"], "1970-01-01T00:00:00Z");

  CommandResult rm = Kiln({"image", "rm", "demo/app:1", "demo/app:again"});
  ASSERT_EQ(rm.exit_code, 0) << rm.output;
  images = List();
  ASSERT_EQ(images.size(), 1u);
  // The tag still names the image, so its blobs stayed.
  ASSERT_EQ(Kiln({"image", "inspect", "127.0.0.1:5000/app"}).exit_code, 0);

  CommandResult missing = Kiln({"image", "rm", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("docker.io/library/nope:latest"), std::string::npos)
      << missing.output;
}

TEST_F(ImageCli, SaveAndLoadBothFormats) {
  std::string digest = Import("demo/app:1");
  for (const char* format : {"oci", "docker"}) {
    SCOPED_TRACE(format);
    std::string archive = dir_ + "/app-" + format + ".tar";
    CommandResult save = Kiln({"image", "save", "--format", format, "-o", archive, "demo/app:1"});
    ASSERT_EQ(save.exit_code, 0) << save.output;
    std::string other = dir_ + "/other-" + format;
    CommandResult load = Kiln({"image", "load", "-i", archive, "--name", "demo/app:1"}, other);
    ASSERT_EQ(load.exit_code, 0) << load.output;
    auto images = List(other);
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0]["Name"], "docker.io/demo/app:1");
    // An OCI archive carries the image as is; a Docker archive carries
    // uncompressed layers, so the loaded manifest differs but the config's
    // diff_ids are the same.
    if (std::string(format) == "oci") {
      EXPECT_EQ(images[0]["Digest"], digest);
    }
    auto a = nlohmann::json::parse(Kiln({"image", "inspect", "demo/app:1"}).output);
    auto b = nlohmann::json::parse(Kiln({"image", "inspect", "demo/app:1"}, other).output);
    EXPECT_EQ(a["Config"]["rootfs"], b["Config"]["rootfs"]);
  }
  CommandResult no_output = Kiln({"image", "save", "demo/app:1"});
  EXPECT_EQ(no_output.exit_code, 2);
  CommandResult bad = Kiln({"image", "load", "-i", dir_ + "/does-not-exist.tar"});
  EXPECT_EQ(bad.exit_code, 1);
}

TEST_F(ImageCli, PushAndPullThroughARegistry) {
  if (auto why = solver::testing::TestRegistry::UnavailableReason(); !why.empty()) {
    KILN_SKIP_UNLESS_REQUIRED(why);
  }
  auto registry = solver::testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  std::string host = (*registry)->host();
  std::string config = dir_ + "/kiln.toml";
  WriteFile(config, "[registry.\"" + host + "\"]\n  http = true\n");
  std::vector<std::string> env{"KILN_CONFIG=" + config};

  std::string digest = Import("demo/app:1");
  std::string remote = host + "/demo/app:1";

  // Without the config, plain http to the registry is not allowed.
  CommandResult refused = Kiln({"image", "push", "demo/app:1", remote});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find(host), std::string::npos) << refused.output;

  CommandResult push = Kiln({"image", "push", "demo/app:1", remote}, "", env);
  ASSERT_EQ(push.exit_code, 0) << push.output;
  EXPECT_NE(push.output.find(host + "/demo/app@" + digest), std::string::npos) << push.output;

  // Into a fresh root, by tag and by digest, unpacked.
  std::string fresh = dir_ + "/fresh";
  CommandResult pull = Kiln({"image", "pull", "--unpack", remote}, fresh, env);
  ASSERT_EQ(pull.exit_code, 0) << pull.output;
  EXPECT_NE(pull.output.find("unpacked sha256:"), std::string::npos) << pull.output;
  auto images = List(fresh);
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0]["Digest"], digest);

  CommandResult by_digest =
      Kiln({"image", "pull", host + "/demo/app@" + digest}, dir_ + "/fresh2", env);
  ASSERT_EQ(by_digest.exit_code, 0) << by_digest.output;

  CommandResult unknown = Kiln({"image", "pull", host + "/demo/nothing:1"}, fresh, env);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("demo/nothing"), std::string::npos) << unknown.output;
}

TEST_F(ImageCli, UsageErrors) {
  EXPECT_EQ(Kiln({"image"}).exit_code, 2);
  EXPECT_EQ(Kiln({"image", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Kiln({"image", "ls", "--bogus"}).exit_code, 2);
  EXPECT_EQ(Kiln({"image", "tag", "only-one"}).exit_code, 2);
  CommandResult help = Kiln({"image", "pull", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("Usage: kiln image pull"), std::string::npos);
}

}  // namespace
}  // namespace kiln::cli
