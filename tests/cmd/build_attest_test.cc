// --attest, --provenance and --sbom of `kiln build` (build_attest.h).
#include <gtest/gtest.h>

#include "build_flags.h"

namespace kiln::cli {
namespace {

BuildFlagsResult Parse(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--frontend", "dockerfile.v0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return ParseBuildFlags(args);
}

TEST(BuildAttestTest, ProvenanceBecomesTheFrontendOpt) {
  auto r = Parse({"--attest", "type=provenance"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.opts["attest:provenance"], "mode=min");
  r = Parse({"--attest", "type=provenance,mode=max,builder-id=ci"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.opts["attest:provenance"], "mode=max,builder-id=ci");
  r = Parse({"--provenance", "true"});
  EXPECT_EQ(r.flags.opts["attest:provenance"], "mode=min");
  r = Parse({"--provenance", "mode=max"});
  EXPECT_EQ(r.flags.opts["attest:provenance"], "mode=max");
  r = Parse({"--provenance", "false"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.flags.opts.contains("attest:provenance"));
  r = Parse({});
  EXPECT_FALSE(r.flags.opts.contains("attest:provenance")) << "off by default";
}

TEST(BuildAttestTest, SbomAndBadSpecsAreRefused) {
  for (std::vector<std::string> sbom :
       {std::vector<std::string>{"--sbom", "true"},
        std::vector<std::string>{"--attest", "type=sbom"},
        std::vector<std::string>{"--sbom", "generator=x/y"}}) {
    auto r = Parse(sbom);
    EXPECT_FALSE(r.ok()) << sbom[0];
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.error.find("docker/buildkit-syft-scanner"), std::string::npos)
        << r.error;
  }
  EXPECT_TRUE(Parse({"--sbom", "false"}).ok());
  EXPECT_TRUE(Parse({"--attest", "type=sbom,disabled=true"}).ok());
  auto r = Parse({"--attest", "mode=max"});
  EXPECT_EQ(r.exit_code, 2);
  r = Parse({"--attest", "type=vex"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.error.find("vex"), std::string::npos);
  r = ParseBuildFlags({"--llb", "x.pb", "--provenance", "true"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace kiln::cli
