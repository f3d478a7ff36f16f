// The image store is a valid OCI layout for other tools: skopeo and umoci
// address kiln's full normalized names ("docker.io/library/busybox:latest")
// as written in org.opencontainers.image.ref.name.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/solver/image_import.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

bool HaveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command; returns its exit code and stdout.
int Shell(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ImageToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/bin/busybox"))
      GTEST_SKIP() << "busybox-static is not installed";
    char tmpl[] = "/tmp/kiln-tools-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto content = ContentStore::Open(root_ + "/content");
    ASSERT_TRUE(content.ok());
    content_ = std::move(*content);
    auto images = ImageStore::Open(root_ + "/images", content_.get());
    ASSERT_TRUE(images.ok());
    images_ = std::move(*images);

    // The tree of shared/tools/make-busybox-oci.sh.
    std::string rootfs = root_ + "/rootfs";
    std::string out;
    ASSERT_EQ(
        Shell(
            "set -e; r=" + rootfs +
                "; mkdir -p $r/bin $r/etc $r/tmp $r/root $r/dev $r/proc $r/sys;"
                " cp /bin/busybox $r/bin/busybox;"
                " for a in $(/bin/busybox --list); do [ $a = busybox ] || "
                "ln -sf busybox $r/bin/$a; done;"
                " printf 'root:x:0:0:root:/root:/bin/sh\\n' > $r/etc/passwd;"
                " chmod 1777 $r/tmp",
            &out),
        0)
        << out;
    ImportOptions options;
    options.source = rootfs;
    options.name = "busybox";
    options.source_date_epoch = 0;
    options.config_json = R"({"config":{"Env":["PATH=/bin"],"Cmd":["sh"]}})";
    auto desc = ImportImage(*images_, options);
    ASSERT_TRUE(desc.ok()) << desc.status().ToString();
    manifest_ = *desc;
  }
  void TearDown() override {
    images_.reset();
    content_.reset();
    if (!root_.empty()) fs::remove_all(root_);
  }

  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
  oci::Descriptor manifest_;
};

TEST_F(ImageToolsTest, SkopeoInspectsTheStoreByFullName) {
  if (!HaveTool("skopeo")) GTEST_SKIP() << "skopeo is not installed";
  std::string out;
  ASSERT_EQ(Shell("skopeo inspect oci:" + root_ +
                      "/images:docker.io/library/busybox:latest",
                  &out),
            0)
      << out;
  auto doc = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << out;
  EXPECT_EQ(doc["Digest"], manifest_.digest.str());
  EXPECT_EQ(doc["Os"], "linux");
  EXPECT_EQ(doc["Architecture"], llb::HostPlatform().architecture);
  EXPECT_EQ(doc["Created"], "1970-01-01T00:00:00Z");
  auto resolved = images_->Resolve(manifest_, llb::HostPlatform());
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(doc["Layers"].size(), 1u);
  EXPECT_EQ(doc["Layers"][0], resolved->manifest.layers[0].digest.str());

  // Copying out reads every blob through the blobs link.
  out.clear();
  ASSERT_EQ(Shell("skopeo copy oci:" + root_ +
                      "/images:docker.io/library/busybox:latest oci:" + root_ +
                      "/copy:latest",
                  &out),
            0)
      << out;
  EXPECT_EQ(FileBytes(root_ + "/copy/blobs/sha256/" +
                      std::string(manifest_.digest.hex())),
            *content_->ReadAll(manifest_.digest));
}

TEST_F(ImageToolsTest, UmociUnpacksTheStoreByFullName) {
  if (!HaveTool("umoci")) GTEST_SKIP() << "umoci is not installed";
  std::string out;
  ASSERT_EQ(
      Shell("umoci unpack --rootless --image " + root_ +
                "/images:docker.io/library/busybox:latest " + root_ + "/bundle",
            &out),
      0)
      << out;
  std::string rootfs = root_ + "/bundle/rootfs";
  EXPECT_EQ(FileBytes(rootfs + "/bin/busybox"), FileBytes("/bin/busybox"));
  EXPECT_EQ(fs::read_symlink(rootfs + "/bin/sh"), fs::path("busybox"));
  EXPECT_EQ(fs::status(rootfs + "/tmp").permissions(),
            fs::perms::all | fs::perms::sticky_bit);
  out.clear();
  ASSERT_EQ(Shell(rootfs + "/bin/busybox echo hello", &out), 0);
  EXPECT_EQ(out, "hello\n");
  // umoci leaves the layout as it found it: kiln still reads its index.
  EXPECT_EQ(images_->Get("busybox")->target.digest, manifest_.digest);
}

}  // namespace
}  // namespace kiln::solver
