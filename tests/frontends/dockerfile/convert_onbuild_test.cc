// Convert(): ONBUILD triggers of base images and base stages (run after
// FROM, --from and mounts as dependencies, cleared from the config) and
// COPY --parents (FileOp copy from the pivot with include patterns).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/dockerfile/convert.h"
#include "kiln/llb/definition.h"

namespace kiln::dockerfile {
namespace {

using Json = nlohmann::json;

constexpr char kDigest[] =
    "sha256:3333333333333333333333333333333333333333333333333333333333333333";

// A resolver serving configs by normalized reference; others get {}.
ConvertOptions Options(std::map<std::string, std::string> configs) {
  ConvertOptions o;
  o.target_platform = {.os = "linux", .architecture = "amd64"};
  o.build_platform = o.target_platform;
  o.resolve_image = [configs = std::move(configs)](
                        std::string_view ref,
                        const llb::Platform&) -> Result<ImageMeta> {
    auto it = configs.find(std::string(ref));
    return ImageMeta{std::string(ref), kDigest,
                     it == configs.end() ? "{}" : it->second};
  };
  return o;
}

std::vector<pb::Op> Ops(const ConvertResult& r) {
  auto loaded = llb::LoadDefinition(r.definition);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<pb::Op> ops;
  if (!loaded.ok()) return ops;
  for (const auto& op : loaded->ops) ops.push_back(op.op);
  return ops;
}

// The shell lines of the exec ops ("/bin/sh -c LINE"), in graph order.
std::vector<std::string> RunLines(const ConvertResult& r) {
  std::vector<std::string> out;
  for (const pb::Op& op : Ops(r)) {
    if (op.has_exec() && op.exec().meta().args_size() == 3)
      out.push_back(op.exec().meta().args(2));
  }
  return out;
}

std::vector<pb::FileActionCopy> Copies(const ConvertResult& r) {
  std::vector<pb::FileActionCopy> out;
  for (const pb::Op& op : Ops(r)) {
    if (!op.has_file()) continue;
    for (const auto& a : op.file().actions()) {
      if (a.has_copy()) out.push_back(a.copy());
    }
  }
  return out;
}

const char kBase[] = "docker.io/library/base:latest";

TEST(ConvertOnbuild, BaseImageTriggersRunAfterFromAndAreCleared) {
  ConvertOptions o = Options(
      {{kBase, R"({"config":{"Env":["A=1"],"OnBuild":["RUN echo trigger $A",)"
               R"("ENV B=2"]},"rootfs":{"type":"layers"}})"}});
  auto r = Convert("FROM base\nRUN echo own $B\nONBUILD RUN next\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(RunLines(*r),
            (std::vector<std::string>{"echo trigger $A", "echo own $B"}));
  Json image = Json::parse(r->image_config);
  // Inherited triggers cleared; the stage's own ONBUILD kept.
  EXPECT_EQ(image["config"]["OnBuild"], Json::array({"RUN next"}));
  // The ENV trigger applied to the config and to later RUNs.
  EXPECT_EQ(image["config"]["Env"], Json::array({"A=1", "B=2"}));
  bool saw_env = false;
  for (const pb::Op& op : Ops(*r)) {
    if (!op.has_exec() || op.exec().meta().args(2) != "echo own $B") continue;
    for (const auto& e : op.exec().meta().env()) saw_env |= e == "B=2";
  }
  EXPECT_TRUE(saw_env);
  // The base config is reported as resolved, triggers included.
  EXPECT_NE(r->base_image_config.find("OnBuild"), std::string::npos);
  // Display names count every trigger (as upstream's cmdTotal).
  bool named = false;
  for (const auto& [d, md] : r->definition.metadata()) {
    auto it = md.description().find("llb.customname");
    if (it != md.description().end() &&
        it->second == "[2/4] RUN echo trigger 1")
      named = true;
  }
  EXPECT_TRUE(named);
}

TEST(ConvertOnbuild, TriggerFromAndMountAddStageDependencies) {
  ConvertOptions o = Options(
      {{kBase, R"({"config":{"OnBuild":["COPY --from=assets /a /a",)"
               R"("RUN --mount=type=bind,from=tools,target=/t /t/run"]}})"}});
  // `assets` and `tools` are reachable only through the triggers.
  auto t = Convert(
      "FROM scratch AS assets\nCOPY <<EOF /a\nhi\nEOF\n"
      "FROM busybox AS tools\nRUN build-tools\n"
      "FROM busybox AS unused\nRUN never\n"
      "FROM base\nRUN after\n",
      o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::vector<std::string> lines = RunLines(*t);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "build-tools"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "/t/run"), lines.end());
  EXPECT_EQ(std::find(lines.begin(), lines.end(), "never"), lines.end());
  bool copied = false;
  for (const auto& c : Copies(*t))
    copied |= c.src() == "/a" && c.dest() == "/a";
  EXPECT_TRUE(copied);
}

TEST(ConvertOnbuild, TriggerNamingAnImagePrefixesStageNames) {
  ConvertOptions o = Options(
      {{kBase, R"({"config":{"OnBuild":["COPY --from=alpine /a /a"]}})"}});
  auto r = Convert("FROM base\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool prefixed = false;
  for (const auto& [d, md] : r->definition.metadata()) {
    auto it = md.description().find("llb.customname");
    if (it != md.description().end() &&
        it->second == "[stage-0 2/2] COPY --from=alpine /a /a")
      prefixed = true;
  }
  EXPECT_TRUE(prefixed) << r->definition.DebugString();
}

TEST(ConvertOnbuild, BaseStageTriggersRunInTheChildStage) {
  auto r = Convert(
      "FROM busybox AS parent\nONBUILD RUN child-trigger\nRUN parent-own\n"
      "FROM parent\nRUN child-own\n",
      Options({}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(RunLines(*r), (std::vector<std::string>{
                              "parent-own", "child-trigger", "child-own"}));
  EXPECT_TRUE(Json::parse(r->image_config)["config"]["OnBuild"].is_null());
  // The parent itself keeps its trigger unrun.
  ConvertOptions o = Options({});
  o.target = "parent";
  auto p = Convert(
      "FROM busybox AS parent\nONBUILD RUN child-trigger\nRUN parent-own\n"
      "FROM parent\n",
      o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(RunLines(*p), std::vector<std::string>{"parent-own"});
  EXPECT_EQ(Json::parse(p->image_config)["config"]["OnBuild"],
            Json::array({"RUN child-trigger"}));
}

TEST(ConvertOnbuild, HeredocTriggerAndBadTriggers) {
  ConvertOptions o = Options(
      {{kBase, R"({"config":{"OnBuild":["COPY <<EOF /f\nhello\nEOF"]}})"}});
  auto r = Convert("FROM base\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool mkfile = false;
  for (const pb::Op& op : Ops(*r)) {
    if (!op.has_file()) continue;
    for (const auto& a : op.file().actions())
      mkfile |= a.has_mkfile() && a.mkfile().data() == "hello\n";
  }
  EXPECT_TRUE(mkfile);

  auto bad =
      Convert("# c\nFROM base\n",
              Options({{kBase, R"({"config":{"OnBuild":["BOGUS x"]}})"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("Dockerfile:2"), std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().ToString().find("ONBUILD trigger"), std::string::npos)
      << bad.status().ToString();
  auto from =
      Convert("FROM base\n",
              Options({{kBase, R"({"config":{"OnBuild":["FROM alpine"]}})"}}));
  EXPECT_FALSE(from.ok());
}

TEST(ConvertParents, PivotAndWildcardsBecomeIncludePatterns) {
  auto r = Convert(
      "FROM scratch\nWORKDIR /w\n"
      "COPY --parents a/b/c.txt x/./y/*.go /out/\n"
      "COPY --parents ./src/**/*.h inc/\n",
      Options({}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<pb::FileActionCopy> copies = Copies(*r);
  ASSERT_EQ(copies.size(), 3u);
  EXPECT_EQ(copies[0].src(), "/");
  ASSERT_EQ(copies[0].include_patterns_size(), 1);
  EXPECT_EQ(copies[0].include_patterns(0), "a/b/c.txt");
  EXPECT_EQ(copies[0].dest(), "/out/");
  EXPECT_TRUE(copies[0].dircopycontents());
  EXPECT_TRUE(copies[0].allowwildcard());
  EXPECT_EQ(copies[1].src(), "/x");
  ASSERT_EQ(copies[1].include_patterns_size(), 1);
  EXPECT_EQ(copies[1].include_patterns(0), "y/*.go");
  EXPECT_EQ(copies[2].src(), "/");
  ASSERT_EQ(copies[2].include_patterns_size(), 1);
  EXPECT_EQ(copies[2].include_patterns(0), "src/**/*.h");
  EXPECT_EQ(copies[2].dest(), "/w/inc/");
  Json image = Json::parse(r->image_config);
  std::string created = image["history"].back()["created_by"];
  EXPECT_EQ(created.rfind("COPY --parents ./src/**/*.h inc/", 0), 0u)
      << created;
  // Without --parents the source is the path itself and nothing is included.
  auto plain = Convert("FROM scratch\nCOPY a/b/c.txt /out/\n", Options({}));
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(Copies(*plain).size(), 1u);
  EXPECT_EQ(Copies(*plain)[0].src(), "/a/b/c.txt");
  EXPECT_EQ(Copies(*plain)[0].include_patterns_size(), 0);
}

TEST(ConvertParents, FromStageAndFollowPaths) {
  auto r = Convert(
      "FROM scratch AS b\nCOPY x /x\n"
      "FROM scratch\nCOPY --parents --from=b /./x/y /o/\n"
      "COPY --parents d/./e /o/\n",
      Options({}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<pb::FileActionCopy> copies = Copies(*r);
  ASSERT_EQ(copies.size(), 3u);
  EXPECT_EQ(copies[1].src(), "/");
  EXPECT_EQ(copies[1].include_patterns(0), "x/y");
  EXPECT_EQ(copies[2].src(), "/d");
  EXPECT_EQ(copies[2].include_patterns(0), "e");
  // The context follows the sources, pivot removed.
  for (const pb::Op& op : Ops(*r)) {
    if (!op.has_source() || op.source().identifier().rfind("local://", 0) != 0)
      continue;
    auto it = op.source().attrs().find("local.followpaths");
    ASSERT_NE(it, op.source().attrs().end());
    EXPECT_NE(it->second.find("d/e"), std::string::npos) << it->second;
  }
}

}  // namespace
}  // namespace kiln::dockerfile
