// Unit tests of Convert(): ARG scoping and platform args, targets and
// pruning, image config rules, mounts, --link, and the Unimplemented errors
// for features not supported yet (named contexts of other forms).
#include "kiln/dockerfile/convert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/llb/definition.h"

namespace kiln::dockerfile {
namespace {

using Json = nlohmann::json;

constexpr char kDigest[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

ConvertOptions Options() {
  ConvertOptions o;
  o.build_platform = {.os = "linux", .architecture = "amd64"};
  o.target_platform = {.os = "linux", .architecture = "arm64"};
  o.resolve_image = [](std::string_view ref,
                       const llb::Platform&) -> Result<ImageMeta> {
    return ImageMeta{
        std::string(ref), kDigest,
        R"({"config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/w"}})"};
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

std::vector<pb::ExecOp> Execs(const ConvertResult& r) {
  std::vector<pb::ExecOp> out;
  for (const pb::Op& op : Ops(r)) {
    if (op.has_exec()) out.push_back(op.exec());
  }
  return out;
}

bool HasEnv(const pb::ExecOp& e, const std::string& kv) {
  for (const auto& x : e.meta().env()) {
    if (x == kv) return true;
  }
  return false;
}

TEST(Convert, PlatformArgsAndArgScoping) {
  auto r = Convert(
      "ARG IMG=base\nFROM --platform=$BUILDPLATFORM $IMG\nARG TARGETARCH\nARG "
      "BUILDOS\nARG V=1\nRUN echo $V\n",
      Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto execs = Execs(*r);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_TRUE(HasEnv(execs[0], "TARGETARCH=arm64"));
  EXPECT_TRUE(HasEnv(execs[0], "BUILDOS=linux"));
  EXPECT_TRUE(HasEnv(execs[0], "V=1"));
  EXPECT_EQ(execs[0].meta().cwd(), "/w");  // inherited WorkingDir
  bool amd64_source = false;
  for (const pb::Op& op : Ops(*r)) {
    if (op.has_source()) {
      EXPECT_EQ(
          op.source().identifier(),
          std::string("docker-image://docker.io/library/base@") + kDigest);
      amd64_source = op.platform().architecture() == "amd64";
    }
  }
  EXPECT_TRUE(amd64_source);
  Json cfg = Json::parse(r->image_config);
  EXPECT_EQ(cfg["history"].back()["created_by"],
            "RUN |3 TARGETARCH=arm64 BUILDOS=linux V=1 /bin/sh -c echo $V # "
            "buildkit");
  EXPECT_EQ(cfg["config"]["Env"],
            Json::array({"PATH=/bin"}));  // ARGs not persisted
}

TEST(Convert, BuildArgOverridesMetaArgAndStageArg) {
  ConvertOptions o = Options();
  o.build_args = {{"IMG", "other"}, {"V", "2"}};
  auto r = Convert("ARG IMG=base\nFROM $IMG\nARG V=1\nRUN true\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto execs = Execs(*r);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_TRUE(HasEnv(execs[0], "V=2"));
  bool found = false;
  for (const pb::Op& op : Ops(*r)) {
    if (op.has_source())
      found =
          op.source().identifier().find("library/other@") != std::string::npos;
  }
  EXPECT_TRUE(found);
}

TEST(Convert, TargetAndPruning) {
  std::string df =
      "FROM scratch AS a\nRUN a\nFROM scratch AS unused\nRUN unused\nFROM a AS "
      "b\nRUN b\n";
  ConvertOptions o = Options();
  o.target = "B";
  auto r = Convert(df, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> cmds;
  for (const auto& e : Execs(*r)) cmds.push_back(e.meta().args(2));
  EXPECT_EQ(cmds, (std::vector<std::string>{"a", "b"}));
  o.target = "nope";
  EXPECT_EQ(Convert(df, o).status().code(), StatusCode::kNotFound);
}

TEST(Convert, EntrypointResetsInheritedCmd) {
  auto r = Convert("FROM base\nENTRYPOINT [\"/x\"]\n", Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json cfg = Json::parse(r->image_config);
  EXPECT_FALSE(cfg["config"].contains("Cmd"));
  EXPECT_EQ(cfg["config"]["Entrypoint"], Json::array({"/x"}));
  EXPECT_EQ(cfg["architecture"], "arm64");
}

TEST(Convert, CacheMountDefaultsAndRelativeTarget) {
  auto r =
      Convert("FROM base\nWORKDIR /app\nRUN --mount=type=cache,target=c true\n",
              Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto execs = Execs(*r);
  ASSERT_EQ(execs.size(), 1u);
  ASSERT_EQ(execs[0].mounts_size(), 2);
  EXPECT_EQ(execs[0].mounts(1).dest(), "/app/c");
  EXPECT_EQ(execs[0].mounts(1).cacheopt().id(), "/c");
  EXPECT_EQ(execs[0].mounts(1).mounttype(), pb::MountType::CACHE);
}

TEST(Convert, CopyLinkMergesAndRelativeDest) {
  ConvertOptions o = Options();
  o.excludes = {"*.tmp"};
  auto r = Convert("FROM base\nWORKDIR /app\nCOPY --link a b/\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool merge = false, copy = false;
  for (const pb::Op& op : Ops(*r)) {
    merge |= op.has_merge();
    if (op.has_file() && op.file().actions(0).has_copy()) {
      copy = true;
      EXPECT_EQ(op.file().actions(0).copy().dest(), "/app/b/");
      EXPECT_EQ(op.file().actions(0).input(), -1);  // onto scratch
    }
    if (op.has_source() && op.source().identifier() == "local://context") {
      EXPECT_EQ(op.source().attrs().at("local.followpaths"), "[\"a\"]");
      EXPECT_EQ(op.source().attrs().at("local.excludepatterns"), "[\"*.tmp\"]");
    }
  }
  EXPECT_TRUE(merge);
  EXPECT_TRUE(copy);
}

struct UnsupportedCase {
  const char* dockerfile;
  const char* what;
};

TEST(Convert, UnsupportedFeaturesFailWithLocation) {
  // Named contexts of an unknown form (the supported ones are tested in
  // convert_context_test.cc).
  ConvertOptions o = Options();
  o.named_contexts = {{"ctx", "ftp://example.com/x"}};
  auto r = Convert("FROM base\nCOPY --from=ctx a /a\n", o);
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().ToString().find("Dockerfile:2:1"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace kiln::dockerfile

namespace kiln::dockerfile {
namespace {

TEST(Convert, ResolverGetsNormalizedTaggedReference) {
  ConvertOptions o = Options();
  std::vector<std::string> refs;
  o.resolve_image = [&](std::string_view ref,
                        const llb::Platform&) -> Result<ImageMeta> {
    refs.emplace_back(ref);
    return ImageMeta{std::string(ref), kDigest, ""};
  };
  auto r = Convert("FROM alpine\nFROM busybox:1.36\nCOPY --from=0 / /\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(refs, (std::vector<std::string>{"docker.io/library/alpine:latest",
                                            "docker.io/library/busybox:1.36"}));
  bool tagged_pin = false;
  for (const pb::Op& op : Ops(*r)) {
    if (op.has_source() &&
        op.source().identifier() ==
            std::string("docker-image://docker.io/library/busybox:1.36@") +
                kDigest) {
      tagged_pin = true;
    }
  }
  EXPECT_TRUE(tagged_pin);
}

TEST(Convert, AddHttpDownloadsAndCopiesTheFile) {
  auto r = Convert("FROM base\nADD --checksum=" + std::string(kDigest) +
                       "  https://example.com/d/f.tgz?x=1 "
                       "/opt/\n",
                   Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool http = false, copy = false;
  for (const pb::Op& op : Ops(*r)) {
    if (op.has_source() &&
        op.source().identifier() == "https://example.com/d/f.tgz?x=1") {
      http = true;
      EXPECT_EQ(op.source().attrs().at("http.filename"), "f.tgz");
      EXPECT_EQ(op.source().attrs().at("http.checksum"), kDigest);
    }
    if (op.has_file() && op.file().actions(0).has_copy()) {
      copy = true;
      EXPECT_EQ(op.file().actions(0).copy().src(), "/f.tgz");
      EXPECT_EQ(op.file().actions(0).copy().dest(), "/opt/");
      EXPECT_FALSE(
          op.file().actions(0).copy().attemptunpackdockercompatibility());
    }
  }
  EXPECT_TRUE(http);
  EXPECT_TRUE(copy);
  EXPECT_EQ(Convert("FROM base\nCOPY https://example.com/x /x\n", Options())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(Convert, AddGitCopiesTheRepositoryRoot) {
  auto r = Convert(
      "FROM base\nADD --keep-git-dir=true https://github.com/a/b.git#v1:sub "
      "/src/\n",
      Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool git = false, copy = false;
  for (const pb::Op& op : Ops(*r)) {
    if (op.has_source() && op.source().identifier().rfind("git://", 0) == 0) {
      git = true;
      EXPECT_EQ(op.source().identifier(), "git://github.com/a/b.git#v1:sub");
      EXPECT_EQ(op.source().attrs().at("git.keepgitdir"), "true");
    }
    if (op.has_file() && op.file().actions(0).has_copy()) {
      copy = true;
      EXPECT_EQ(op.file().actions(0).copy().src(), "/");
      EXPECT_EQ(op.file().actions(0).copy().dest(), "/src/");
    }
  }
  EXPECT_TRUE(git);
  EXPECT_TRUE(copy);
}

TEST(Convert, OnbuildRecordedAndBaseTriggersRun) {
  auto r = Convert("FROM base\nONBUILD RUN make\n", Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Json::parse(r->image_config)["config"]["OnBuild"],
            Json::array({"RUN make"}));

  // Triggers of the base image run after FROM (convert_onbuild_test.cc).
  ConvertOptions o = Options();
  o.resolve_image = [](std::string_view ref,
                       const llb::Platform&) -> Result<ImageMeta> {
    return ImageMeta{std::string(ref), kDigest,
                     R"({"config":{"OnBuild":["RUN make"]}})"};
  };
  auto ran = Convert("FROM base\nRUN true\n", o);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ(Execs(*ran).size(), 2u);
  EXPECT_TRUE(Json::parse(ran->image_config)["config"]["OnBuild"].is_null());
}

TEST(Convert, Heredocs) {
  auto r = Convert(
      "FROM base\nARG N=1\nRUN <<EOF\necho \"$N\"\nEOF\nCOPY <<EOF "
      "/f\nn='$N'\nEOF\n"
      "RUN <<EOF\n#!/bin/sh\necho s\nEOF\n",
      Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto execs = Execs(*r);
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].meta().args(2), "echo \"$N\"\n");  // the shell expands
  // The script runs through the shell, as upstream (PrependShell).
  EXPECT_EQ(execs[1].meta().args(2), "/dev/pipes/EOF");
  ASSERT_EQ(execs[1].mounts_size(), 2);
  EXPECT_EQ(execs[1].mounts(1).dest(), "/dev/pipes/");
  std::vector<std::string> files;
  for (const pb::Op& op : Ops(*r)) {
    if (op.has_file() && op.file().actions(0).has_mkfile()) {
      files.push_back(op.file().actions(0).mkfile().data());
    }
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files,
            (std::vector<std::string>{"#!/bin/sh\necho s\n", "n='1'\n"}));
}

TEST(Convert, ProxyBuildArgsAndLaterStageReference) {
  ConvertOptions o = Options();
  o.build_args = {{"http_proxy", "http://proxy:3128"}};
  auto r = Convert("FROM base\nRUN true\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto execs = Execs(*r);
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].meta().proxy_env().http_proxy(), "http://proxy:3128");
  EXPECT_FALSE(HasEnv(execs[0], "http_proxy=http://proxy:3128"));

  auto bad =
      Convert("FROM base AS a\nCOPY --from=b /x /x\nFROM base AS b\n", [] {
        ConvertOptions x = Options();
        x.target = "a";
        return x;
      }());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument)
      << bad.status().ToString();
}

}  // namespace
}  // namespace kiln::dockerfile
