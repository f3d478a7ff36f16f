// Exported archives against the tools that read them: skopeo inspects the
// oci and docker archives, umoci unpacks the oci layout. Skipped without
// the tools (unless KILN_REQUIRE_INTEGRATION=1).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/solver/exporter.h"
#include "layer_diff_test_util.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::RunShell;
using testing::TempDir;

TEST(ExporterToolsTest, SkopeoAndUmociAcceptExports) {
  if (!testing::HaveProgram("skopeo") || !testing::HaveProgram("umoci"))
    KILN_SKIP_UNLESS_REQUIRED("skopeo or umoci is not installed");
  TempDir tmp("kiln-export-tools-");
  auto snaps = OpenSnapshotter(tmp.path() + "/snaps", SnapshotterKind::kCopy);
  ASSERT_TRUE(snaps.ok());
  auto content = ContentStore::Open(tmp.path() + "/content");
  ASSERT_TRUE(content.ok());
  auto images = ImageStore::Open(tmp.path() + "/images", content->get());
  ASSERT_TRUE(images.ok());
  std::filesystem::create_directories(tmp.path() + "/work");
  testing::CommitStep(
      **snaps, tmp.path(), "base", "", [](const std::string& d) {
        testing::WriteFile(d + "/etc/hello", "hello from kiln\n");
      });
  testing::CommitStep(**snaps, tmp.path(), "top", "base",
                      [](const std::string& d) {
                        testing::WriteFile(d + "/app/run", "#!/bin/sh\n");
                        chmod((d + "/app/run").c_str(), 0755);
                      });
  ExportEnv env{snaps->get(), content->get(), images->get(),
                nullptr,      nullptr,        tmp.path() + "/work"};
  ExportSource source;
  source.snapshot = "top";
  source.platform = llb::Platform{"linux", "amd64", "", "", {}};

  std::string oci = tmp.path() + "/img.oci.tar";
  auto req = ParseOutputSpec("type=oci,name=kiln/test:v1,dest=" + oci);
  ASSERT_TRUE(req.ok());
  auto r = Export(*req, source, env);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto out = RunShell("skopeo inspect oci-archive:" + oci, false);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto j = nlohmann::json::parse(out.output);
  EXPECT_EQ(j["Digest"], (*r)["containerimage.digest"]);
  EXPECT_EQ(j["Layers"].size(), 2u);
  EXPECT_EQ(j["Architecture"], "amd64");

  std::string layout = tmp.path() + "/layout";
  req = ParseOutputSpec("type=oci,tar=false,name=kiln/test:v1,dest=" + layout);
  ASSERT_TRUE(req.ok());
  ASSERT_TRUE(Export(*req, source, env).ok());
  std::string bundle = tmp.path() + "/bundle";
  out = RunShell("umoci unpack --rootless --image " + layout + ":v1 " + bundle);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(testing::ReadFile(bundle + "/rootfs/etc/hello"),
            "hello from kiln\n");
  struct stat st {};
  ASSERT_EQ(stat((bundle + "/rootfs/app/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);

  std::string docker = tmp.path() + "/img.docker.tar";
  req = ParseOutputSpec("type=docker,name=kiln/test:v1,dest=" + docker);
  ASSERT_TRUE(req.ok());
  r = Export(*req, source, env);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  out = RunShell("skopeo inspect docker-archive:" + docker, false);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  j = nlohmann::json::parse(out.output);
  EXPECT_EQ(j["Layers"].size(), 2u);
}

}  // namespace
}  // namespace kiln::solver
