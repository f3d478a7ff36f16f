// SOURCE_DATE_EPOCH plumbing of `kiln build` (cmd/kiln/build_epoch.h): the
// environment into the frontend's build arg, the frontend's metadata into
// the exporters' source-date-epoch.
#include "build_epoch.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "build_flags.h"

namespace kiln::cli {
namespace {

class BuildEpochTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("SOURCE_DATE_EPOCH"); }
};

TEST_F(BuildEpochTest, EnvironmentBecomesTheBuildArg) {
  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  std::map<std::string, std::string> opts;
  ASSERT_TRUE(AddSourceDateEpochArg(opts).ok());
  EXPECT_EQ(opts["build-arg:SOURCE_DATE_EPOCH"], "1700000000");
  std::map<std::string, std::string> given = {
      {"build-arg:SOURCE_DATE_EPOCH", "5"}};  // explicit wins
  ASSERT_TRUE(AddSourceDateEpochArg(given).ok());
  EXPECT_EQ(given["build-arg:SOURCE_DATE_EPOCH"], "5");

  auto parsed = ParseBuildFlags({"--frontend", "dockerfile.v0"});
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_EQ(parsed.flags.opts["build-arg:SOURCE_DATE_EPOCH"], "1700000000");
  parsed = ParseBuildFlags({"--frontend", "dockerfile.v0", "--opt",
                            "build-arg:SOURCE_DATE_EPOCH=7"});
  EXPECT_EQ(parsed.flags.opts["build-arg:SOURCE_DATE_EPOCH"], "7");
  // An LLB build has no frontend to tell.
  parsed = ParseBuildFlags({"--llb", "def.pb"});
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_TRUE(parsed.flags.opts.empty());
}

TEST_F(BuildEpochTest, UnsetEmptyAndBadValues) {
  std::map<std::string, std::string> opts;
  ASSERT_TRUE(AddSourceDateEpochArg(opts).ok());
  EXPECT_TRUE(opts.empty());
  setenv("SOURCE_DATE_EPOCH", "", 1);
  ASSERT_TRUE(AddSourceDateEpochArg(opts).ok());
  EXPECT_TRUE(opts.empty());
  for (const char* bad : {"-1", "1.5", "soon", "99999999999999999999"}) {
    setenv("SOURCE_DATE_EPOCH", bad, 1);
    Status s = AddSourceDateEpochArg(opts);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("SOURCE_DATE_EPOCH"), std::string::npos);
    EXPECT_TRUE(opts.empty());
  }
  auto parsed = ParseBuildFlags({"--frontend", "dockerfile.v0"});
  EXPECT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code, 1);
}

TEST_F(BuildEpochTest, ExportersTakeTheFrontendsEpoch) {
  solver::ExportRequest req{.type = "oci", .attrs = {{"dest", "x"}}};
  llb::Platform amd64{"linux", "amd64", "", "", {}};
  llb::Platform arm64{"linux", "arm64", "", "", {}};
  std::map<std::string, std::string> meta = {
      {"source.date.epoch", "10"}, {"source.date.epoch/linux/arm64", "20"}};
  EXPECT_EQ(WithFrontendEpoch(req, meta, {amd64})->attrs["source-date-epoch"],
            "10");
  EXPECT_EQ(WithFrontendEpoch(req, meta, {arm64})->attrs["source-date-epoch"],
            "20");
  req.attrs["source-date-epoch"] = "30";  // the exporter's own attr wins
  EXPECT_EQ(WithFrontendEpoch(req, meta, {arm64})->attrs["source-date-epoch"],
            "30");
  req.attrs.erase("source-date-epoch");
  EXPECT_FALSE(
      WithFrontendEpoch(req, {}, {amd64})->attrs.contains("source-date-epoch"));
  EXPECT_EQ(
      FrontendBaseConfig(
          {{"containerimage.base.config/linux/arm64", "{\"a\":1}"}}, arm64),
      "{\"a\":1}");
  auto bad = WithFrontendEpoch(req, {{"source.date.epoch", "abc"}}, {amd64});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("SOURCE_DATE_EPOCH from the frontend"),
            std::string::npos);
  // Several platforms: one value for all, else an error.
  EXPECT_EQ(WithFrontendEpoch(req,
                              {{"source.date.epoch/linux/amd64", "7"},
                               {"source.date.epoch/linux/arm64", "7"}},
                              {amd64, arm64})
                ->attrs["source-date-epoch"],
            "7");
  EXPECT_EQ(WithFrontendEpoch(req, meta, {amd64, arm64}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FrontendBaseConfig({}, arm64), "");
}

}  // namespace
}  // namespace kiln::cli
