// Build checks and subrequests end to end: kiln::dockerfile::Build served to
// an in-process BridgeServer with a real solver (FrontendTest): warnings
// reach the bridge with their location, error=true fails the build at the
// first warning, and frontend.lint / targets / describe return their
// metadata without building; outline lists the args and secrets. Needs root and
// runc; skips otherwise.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frontend_fixture.h"

namespace kiln::dockerfile::testing {
namespace {

using Json = nlohmann::json;

struct CheckedRun {
  int exit_code = -1;
  gateway::FinalResult result;
  std::vector<gateway::Warning> warnings;
};

class FrontendChecksTest : public FrontendTest {
 protected:
  // RunBuild, also keeping the bridge's warnings.
  CheckedRun RunChecked(const std::vector<std::string>& opts) {
    CheckedRun run;
    gateway::BuildEnv env;
    env.solver = solver_.get();
    env.snapshots = snapshots_.get();
    env.images = image_source_.get();
    env.base_request.locals = locals_;
    gateway::testing::InProcessRun in_process =
        gateway::testing::RunFrontendInProcess(std::move(env), opts,
                                               dockerfile::Build);
    EXPECT_TRUE(in_process.error.ok()) << in_process.error.ToString();
    run.exit_code = in_process.exit_code;
    if (in_process.result) run.result = std::move(*in_process.result);
    run.warnings = std::move(in_process.warnings);
    return run;
  }
};

constexpr char kLinted[] =
    "FROM busybox AS Build\n"  // StageNameCasing, line 1
    "MAINTAINER me\n"          // MaintainerDeprecated, line 2
    "RUN echo ok > /ok\n";

TEST_F(FrontendChecksTest, WarningsReachTheBridgeAndTheBuildContinues) {
  Write("Dockerfile", kLinted);
  CheckedRun run = RunChecked({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  ASSERT_TRUE(run.result.ref.has_value());
  ASSERT_EQ(run.warnings.size(), 2u);
  const gateway::Warning& w = run.warnings[0];
  EXPECT_EQ(w.short_text,
            "StageNameCasing: Stage name 'Build' should be lowercase (line 1)");
  EXPECT_EQ(w.level, 1);
  ASSERT_EQ(w.detail.size(), 1u);
  EXPECT_EQ(w.detail[0], "Stage names should be lowercase");
  EXPECT_EQ(w.url,
            "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/");
  EXPECT_EQ(w.filename, "Dockerfile");
  ASSERT_EQ(w.ranges.size(), 1u);
  EXPECT_EQ(w.ranges[0].line, 1);
  EXPECT_TRUE(w.vertex.starts_with("sha256:")) << w.vertex;
  EXPECT_EQ(w.vertex.size(), 71u);
  EXPECT_EQ(run.warnings[1].ranges[0].line, 2);
  EXPECT_TRUE(run.warnings[1].short_text.starts_with("MaintainerDeprecated: "));

  // The directive and the build arg configure them.
  Write("Dockerfile", std::string("# check=skip=StageNameCasing\n") + kLinted);
  CheckedRun skipped = RunChecked({});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.result.error.ToString();
  ASSERT_EQ(skipped.warnings.size(), 1u);
  EXPECT_TRUE(
      skipped.warnings[0].short_text.starts_with("MaintainerDeprecated"));
  CheckedRun none =
      RunChecked({"build-arg:BUILDKIT_DOCKERFILE_CHECK=skip=all"});
  ASSERT_EQ(none.exit_code, 0) << none.result.error.ToString();
  EXPECT_TRUE(none.warnings.empty());
}

TEST_F(FrontendChecksTest, ErrorTrueFailsWithALocatedError) {
  Write("Dockerfile", std::string("# check=error=true\n") + kLinted);
  CheckedRun run = RunChecked({});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_FALSE(run.result.ref.has_value());
  EXPECT_EQ(run.result.error.code(), StatusCode::kInvalidArgument);
  const std::string text = run.result.error.ToString();
  EXPECT_NE(text.find("lint violation found for rules: StageNameCasing, "
                      "MaintainerDeprecated"),
            std::string::npos)
      << text;
  ASSERT_FALSE(run.result.error.ranges().empty()) << text;
  EXPECT_EQ(run.result.error.ranges()[0].file, "Dockerfile");
  EXPECT_EQ(run.result.error.ranges()[0].line, 2);
  EXPECT_EQ(run.warnings.size(), 2u);  // still sent before failing

  // A malformed directive is located at its line.
  Write("Dockerfile", "# check=error=perhaps\nFROM busybox\n");
  CheckedRun bad = RunChecked({});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.result.error.code(), StatusCode::kInvalidArgument);
  ASSERT_FALSE(bad.result.error.ranges().empty())
      << bad.result.error.ToString();
  EXPECT_EQ(bad.result.error.ranges()[0].line, 1);
  EXPECT_NE(bad.result.error.message().find("error=perhaps"),
            std::string::npos);
}

TEST_F(FrontendChecksTest, LintSubrequestReturnsTheWarnings) {
  Write("Dockerfile", kLinted);
  CheckedRun run = RunChecked({"requestid=frontend.lint"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  // Nothing was built: no ref, or the empty one.
  EXPECT_TRUE(!run.result.ref || run.result.ref->snapshot.empty());
  EXPECT_TRUE(run.warnings.empty());
  const auto& md = run.result.metadata;
  ASSERT_TRUE(md.contains("result.json"));
  EXPECT_EQ(md.at("result.statuscode"), "1");
  EXPECT_EQ(md.at("version"), "1.0.0");
  Json doc = Json::parse(md.at("result.json"));
  ASSERT_EQ(doc["warnings"].size(), 2u) << doc.dump();
  EXPECT_EQ(doc["warnings"][0]["ruleName"], "StageNameCasing");
  EXPECT_EQ(doc["warnings"][0]["detail"],
            "Stage name 'Build' should be lowercase");
  EXPECT_EQ(doc["warnings"][0]["location"]["ranges"][0]["start"]["line"], 1);
  EXPECT_EQ(doc["sources"][0]["fileName"], "Dockerfile");
  EXPECT_NE(md.at("result.txt").find("Lint Rule StageNameCasing"),
            std::string::npos)
      << md.at("result.txt");

  Write("Dockerfile", "FROM busybox AS build\nRUN true\n");
  CheckedRun clean = RunChecked({"requestid=frontend.lint"});
  ASSERT_EQ(clean.exit_code, 0) << clean.result.error.ToString();
  EXPECT_EQ(clean.result.metadata.at("result.statuscode"), "0");
  EXPECT_EQ(Json::parse(clean.result.metadata.at("result.json"))["warnings"],
            Json::array());
}

TEST_F(FrontendChecksTest, TargetsOutlineDescribeAndUnknownSubrequests) {
  Write("Dockerfile",
        "# base stage\nFROM busybox AS base\n# final stage\nFROM base AS "
        "final\n");
  CheckedRun targets = RunChecked({"requestid=frontend.targets"});
  ASSERT_EQ(targets.exit_code, 0) << targets.result.error.ToString();
  Json doc = Json::parse(targets.result.metadata.at("result.json"));
  ASSERT_EQ(doc["targets"].size(), 2u) << doc.dump();
  EXPECT_EQ(doc["targets"][0]["name"], "base");
  EXPECT_EQ(doc["targets"][0]["description"], "stage");
  EXPECT_EQ(doc["targets"][1]["default"], true);
  EXPECT_NE(targets.result.metadata.at("result.txt").find("final (default)"),
            std::string::npos);

  CheckedRun describe = RunChecked({"requestid=frontend.subrequests.describe",
                                    "frontend.caps=moby.buildkit.frontend."
                                    "subrequests"});
  ASSERT_EQ(describe.exit_code, 0) << describe.result.error.ToString();
  Json list = Json::parse(describe.result.metadata.at("result.json"));
  std::vector<std::string> names;
  for (const Json& r : list) names.push_back(r["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "frontend.outline", "frontend.targets",
                       "frontend.subrequests.describe", "frontend.lint"}));

  Write("Dockerfile",
        "FROM busybox AS base\nARG VERSION=1\n"
        "RUN --mount=type=secret,id=token echo $VERSION\n");
  CheckedRun outline =
      RunChecked({"requestid=frontend.outline", "build-arg:VERSION=2"});
  ASSERT_EQ(outline.exit_code, 0) << outline.result.error.ToString();
  Json o = Json::parse(outline.result.metadata.at("result.json"));
  ASSERT_EQ(o["args"].size(), 1u) << o.dump();
  EXPECT_EQ(o["args"][0]["name"], "VERSION");
  EXPECT_EQ(o["args"][0]["value"], "2");
  EXPECT_EQ(o["secrets"][0]["name"], "token");

  CheckedRun unknown = RunChecked({"requestid=frontend.convertllb"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.result.error.code(), StatusCode::kUnimplemented);
  EXPECT_NE(unknown.result.error.message().find("frontend.convertllb"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::dockerfile::testing
