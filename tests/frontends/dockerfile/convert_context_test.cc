// Convert() with named contexts (reference frontend-images.md §6):
// docker-image:// and local: values replacing images in FROM, COPY --from
// and RUN --mount=from; stage names win; the base image config.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(ConvertContext, StageNamesWinAndScratchIsEmpty) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"build", "local:nope"},
                      {"img", "docker-image://scratch"}};
  auto r = Convert(
      "FROM img AS build\nCOPY <<EOF /f\nx\nEOF\n"
      "FROM scratch\nCOPY --from=build /f /f\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(Has(Sources(*r), "local://nope"));
  EXPECT_TRUE(rec.refs.empty());
}

TEST(ConvertContext, OtherFormsAreUnimplementedAndLocated) {
  Recorder rec;
  ConvertOptions o = rec.Options();
  o.named_contexts = {{"base", "oci-layout://store@sha256:abc"}};
  auto r = Convert("# c\nFROM base\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().ToString().find("Dockerfile:2:1"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("named context base"), std::string::npos);
}

}  // namespace
}  // namespace kiln::dockerfile
