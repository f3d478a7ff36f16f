// Convert() with named contexts (reference frontend-images.md §6):
// docker-image://, local:, input: (with input-metadata), git, http(s) and
// oci-layout:// values replacing images in FROM, COPY --from and
// RUN --mount=from, and whole stages by name; the base image config.
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
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

struct Recorder {
  std::vector<std::string> refs;
  ConvertOptions Options() {
    ConvertOptions o;
    o.target_platform = {.os = "linux", .architecture = "amd64"};
    o.build_platform = o.target_platform;
    o.resolve_image = [this](std::string_view ref,
                             const llb::Platform&) -> Result<ImageMeta> {
      refs.emplace_back(ref);
      return ImageMeta{std::string(ref), kDigest,
                       R"({"config":{"Env":["FROM_IMAGE=)" + std::string(ref) +
                           R"("]},"rootfs":{"type":"layers"}})"};
    };
    return o;
  }
};

// The identifiers of the source ops.
std::vector<std::string> Sources(const ConvertResult& r) {
  std::vector<std::string> out;
  auto loaded = llb::LoadDefinition(r.definition);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return out;
  for (const auto& op : loaded->ops) {
    if (op.op.has_source()) out.push_back(op.op.source().identifier());
  }
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ConvertContext, DockerImageReplacesTheFromImage) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"alpine", "docker-image://mirror.io/alp:3"}};
  auto r = Convert("FROM alpine:latest\nRUN true\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(rec.refs, std::vector<std::string>{"mirror.io/alp:3"});
  EXPECT_TRUE(Has(Sources(*r),
                  std::string("docker-image://mirror.io/alp:3@") + kDigest));
  Json config = Json::parse(r->image_config);
  EXPECT_EQ(config["config"]["Env"][0], "FROM_IMAGE=mirror.io/alp:3");
  // The base config as resolved, rootfs included.
  Json base = Json::parse(r->base_image_config);
  EXPECT_TRUE(base.contains("rootfs"));
}

TEST(ConvertContext, SameNameImageDoesNotLoop) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"busybox", "docker-image://busybox:1.36"},
                      {"busybox:1.36", "docker-image://busybox"}};
  auto r = Convert("FROM busybox\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(rec.refs,
            std::vector<std::string>{"docker.io/library/busybox:1.36"});
}

TEST(ConvertContext, LocalContextInCopyFromAndRunMount) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"files", "local:extra"}, {"tools", "local:tooldir"}};
  auto r = Convert(
      "FROM scratch\nCOPY --from=files a.txt /a.txt\n"
      "FROM busybox\nRUN --mount=from=tools,target=/t /t/run\n"
      "COPY --from=0 /a.txt /\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> sources = Sources(*r);
  EXPECT_TRUE(Has(sources, "local://extra"))
      << ::testing::PrintToString(sources);
  EXPECT_TRUE(Has(sources, "local://tooldir"))
      << ::testing::PrintToString(sources);
  EXPECT_EQ(rec.refs,
            std::vector<std::string>{"docker.io/library/busybox:latest"});
}

TEST(ConvertContext, LocalContextAsBaseHasAnEmptyConfig) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"base", "local:rootfs"}};
  auto r = Convert("FROM base\nENV A=1\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Has(Sources(*r), "local://rootfs"));
  EXPECT_TRUE(rec.refs.empty());
  EXPECT_TRUE(r->base_image_config.empty());
  Json config = Json::parse(r->image_config);
  EXPECT_EQ(config["architecture"], "amd64");
}

TEST(ConvertContext, ScratchImageIsEmpty) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"img", "docker-image://scratch"}};
  auto r = Convert(
      "FROM img AS build\nCOPY <<EOF /f\nx\nEOF\n"
      "FROM scratch\nCOPY --from=build /f /f\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(rec.refs.empty());
}

// The source ops' attrs, by identifier.
std::map<std::string, std::map<std::string, std::string>> SourceAttrs(
    const ConvertResult& r) {
  std::map<std::string, std::map<std::string, std::string>> out;
  auto loaded = llb::LoadDefinition(r.definition);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return out;
  for (const auto& op : loaded->ops) {
    if (!op.op.has_source()) continue;
    auto& attrs = out[op.op.source().identifier()];
    for (const auto& [k, v] : op.op.source().attrs()) attrs[k] = v;
  }
  return out;
}

TEST(ConvertContext, StageNameContextReplacesTheWholeStage) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"build", "local:prebuilt"}};
  auto r = Convert(
      "FROM busybox AS build\nRUN make\nCOPY src /src\n"
      "FROM scratch\nCOPY --from=build /out /out\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> sources = Sources(*r);
  EXPECT_TRUE(Has(sources, "local://prebuilt"))
      << ::testing::PrintToString(sources);
  // Neither the stage's base image nor its context paths are loaded.
  EXPECT_TRUE(rec.refs.empty()) << ::testing::PrintToString(rec.refs);
  EXPECT_FALSE(Has(sources, "local://context"))
      << ::testing::PrintToString(sources);
}

TEST(ConvertContext, StageNameContextAsTargetUsesItsConfig) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"base", "docker-image://mirror.io/base:1"}};
  auto r = Convert("FROM scratch AS base\nENV NOT_RUN=1\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(rec.refs, std::vector<std::string>{"mirror.io/base:1"});
  Json config = Json::parse(r->image_config);
  ASSERT_EQ(config["config"]["Env"].size(), 1u) << config.dump();
  EXPECT_EQ(config["config"]["Env"][0], "FROM_IMAGE=mirror.io/base:1");
}

TEST(ConvertContext, GitContextWithRefAndSubdir) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"src", "https://github.com/org/repo.git#v1.2:sub/dir"},
                      {"tools", "git@github.com:org/tools.git"}};
  auto r = Convert(
      "FROM scratch\nCOPY --from=src /a /a\nCOPY --from=tools /b /b\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto attrs = SourceAttrs(*r);
  ASSERT_TRUE(attrs.contains("git://github.com/org/repo.git#v1.2:sub/dir"))
      << ::testing::PrintToString(Sources(*r));
  const auto& a = attrs["git://github.com/org/repo.git#v1.2:sub/dir"];
  EXPECT_EQ(a.at("git.fullurl"), "https://github.com/org/repo.git");
  EXPECT_EQ(a.at("git.keepgitdir"), "true");  // named contexts keep .git
  ASSERT_TRUE(attrs.contains("git://github.com/org/tools.git"))
      << ::testing::PrintToString(Sources(*r));
  EXPECT_EQ(attrs["git://github.com/org/tools.git"].at("git.fullurl"),
            "git@github.com:org/tools.git");
}

TEST(ConvertContext, GitContextQueryForm) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {
      {"src",
       "https://example.com/r.git?tag=v2&subdir=pkg&keep-git-dir=false"
       "&commit=0123abcd&submodules=false"}};
  auto r = Convert("FROM src\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto attrs = SourceAttrs(*r);
  const std::string id = "git://example.com/r.git#refs/tags/v2:pkg";
  ASSERT_TRUE(attrs.contains(id)) << ::testing::PrintToString(Sources(*r));
  EXPECT_FALSE(attrs[id].contains("git.keepgitdir"));
  EXPECT_EQ(attrs[id].at("git.checksum"), "0123abcd");
  EXPECT_EQ(attrs[id].at("git.skipsubmodules"), "true");
  EXPECT_EQ(attrs[id].at("git.fullurl"), "https://example.com/r.git");
}

TEST(ConvertContext, GitContextBadQueryIsInvalid) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"src", "https://example.com/r.git?nope=1"}};
  auto r = Convert("FROM src\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
  o.named_contexts = {{"src", "https://example.com/r.git?ref=a#b"}};
  r = Convert("FROM src\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(ConvertContext, AddGitQueryFormUsesTheSameParser) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  auto r = Convert(
      "FROM scratch\nADD https://example.com/r.git?branch=main /src\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Has(Sources(*r), "git://example.com/r.git#refs/heads/main"))
      << ::testing::PrintToString(Sources(*r));
}

TEST(ConvertContext, HttpContextIsOneFileNamedContext) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"data", "https://example.com/files/data.tar"}};
  auto r = Convert("FROM scratch\nCOPY --from=data /context /d\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto attrs = SourceAttrs(*r);
  ASSERT_TRUE(attrs.contains("https://example.com/files/data.tar"))
      << ::testing::PrintToString(Sources(*r));
  EXPECT_EQ(attrs["https://example.com/files/data.tar"].at("http.filename"),
            "context");
}

TEST(ConvertContext, OciLayoutContext) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {
      {"alpine", std::string("oci-layout://mystore@") + kDigest}};
  auto r = Convert("FROM alpine\nRUN true\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(rec.refs.empty());
  auto attrs = SourceAttrs(*r);
  const std::string id =
      std::string("oci-layout://docker.io/library/alpine@") + kDigest;
  ASSERT_TRUE(attrs.contains(id)) << ::testing::PrintToString(Sources(*r));
  EXPECT_EQ(attrs[id].at("oci.store"), "mystore");
  // No resolver for OCI layouts: an empty config for the platform.
  Json config = Json::parse(r->image_config);
  EXPECT_EQ(config["architecture"], "amd64");
  EXPECT_TRUE(r->base_image_config.empty());
}

TEST(ConvertContext, OciLayoutWithoutDigestIsInvalid) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"base", "oci-layout://store"}};
  auto r = Convert("# c\nFROM base\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().ToString().find("Dockerfile:2:1"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("named context base"), std::string::npos);
}

TEST(ConvertContext, InputContextTakesInputMetadataConfig) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.inputs["built"] = llb::Scratch();
  o.input_configs["built"] =
      R"({"architecture":"amd64","os":"linux","config":{"Env":["FROM_INPUT=1"],"WorkingDir":"/w"}})";
  o.named_contexts = {{"base", "input:built"}};
  auto r = Convert("FROM base\nRUN true\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json config = Json::parse(r->image_config);
  EXPECT_EQ(config["config"]["Env"][0], "FROM_INPUT=1");
  EXPECT_EQ(config["config"]["WorkingDir"], "/w");
  EXPECT_EQ(r->base_image_config, o.input_configs["built"]);
}

TEST(ConvertContext, OtherFormsAreUnimplementedAndLocated) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"base", "ftp://store/x"}};
  auto r = Convert("# c\nFROM base\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().ToString().find("Dockerfile:2:1"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("named context base"), std::string::npos);
}

}  // namespace
}  // namespace kiln::dockerfile
