// OCI / Docker documents: parsing both families, stable serialization, and
// platform selection as containerd's default matcher does it.
#include "kiln/solver/oci.h"

#include <gtest/gtest.h>

namespace kiln::solver::oci {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

TEST(OciManifest, ParsesDockerSchema2) {
  std::string doc = R"({"schemaVersion":2,
    "mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,
              "digest":")" +
                    kA + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2,
               "digest":")" +
                    kB + R"("},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","size":3,
               "digest":")" +
                    kC + R"(","annotations":{"k":"v"}}]})";
  auto m = ParseManifest(doc);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, kMediaTypeDockerManifest);
  EXPECT_EQ(m->config.digest.str(), kA);
  EXPECT_EQ(m->config.size, 1469);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(*LayerCompression(m->layers[0].media_type), Compression::kGzip);
  EXPECT_EQ(*LayerCompression(m->layers[1].media_type), Compression::kZstd);
  EXPECT_EQ(m->layers[1].annotations.at("k"), "v");
  EXPECT_EQ(*LayerCompression(kMediaTypeDockerLayer), Compression::kNone);
  EXPECT_FALSE(LayerCompression(kMediaTypeImageConfig).ok());
}

TEST(OciManifest, ErrorsNameTheField) {
  auto bad_digest =
      ParseManifest(R"({"schemaVersion":2,"config":{"digest":")" + kA +
                    R"(","size":1},"layers":[{"digest":")" + kB +
                    R"(","size":1},{"digest":"sha256:XYZ","size":1}]})");
  ASSERT_FALSE(bad_digest.ok());
  EXPECT_NE(bad_digest.status().message().find("manifest.layers[1].digest"),
            std::string::npos)
      << bad_digest.status().message();

  auto wrong_type =
      ParseManifest(R"({"schemaVersion":2,"mediaType":")" +
                    std::string(kMediaTypeImageIndex) + R"(","manifests":[]})");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("not an image manifest"),
            std::string::npos);

  EXPECT_FALSE(ParseManifest("{").ok());
  EXPECT_FALSE(ParseManifest("[]").ok());
  EXPECT_FALSE(ParseManifest(R"({"schemaVersion":1,"config":{}})").ok());
  auto neg = ParseDescriptor(R"({"digest":")" + kA + R"(","size":-4})");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("size"), std::string::npos);
}

TEST(OciManifest, RoundTripsThroughJson) {
  Manifest m;
  m.media_type = kMediaTypeImageManifest;
  m.config = {std::string(kMediaTypeImageConfig),
              *Digest::Parse(kA),
              10,
              {},
              {},
              {},
              {}};
  m.layers.push_back({std::string(kMediaTypeLayerGzip),
                      *Digest::Parse(kB),
                      20,
                      {},
                      {},
                      {},
                      {}});
  std::string json = ToJson(m);
  EXPECT_EQ(
      json.rfind(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":)",
          0),
      0u)
      << json;
  auto back = ParseManifest(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ToJson(*back), json);
  EXPECT_EQ(*SniffMediaType(json), kMediaTypeImageManifest);
  EXPECT_EQ(*SniffMediaType(R"({"schemaVersion":2,"manifests":[]})"),
            kMediaTypeImageIndex);
}

TEST(OciConfig, ParsesAndSerializesStably) {
  std::string doc = R"({"architecture":"arm","variant":"v7","os":"linux",
    "created":"2024-01-02T03:04:05Z",
    "config":{"User":"app","ExposedPorts":{"8080/tcp":{},"53/udp":{}},"Env":["PATH=/bin"],
              "Entrypoint":null,"Cmd":[],"WorkingDir":"/srv","Labels":{"a":"1"},
              "Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Retries":3},
              "OnBuild":["RUN x"],"Shell":["/bin/sh","-c"]},
    "rootfs":{"type":"layers","diff_ids":[")" +
                    kA + R"("]},
    "history":[{"created_by":"x","empty_layer":true},{"comment":"c"}],
    "unknown":{"kept":"no"}})";
  auto c = ParseImageConfig(doc);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(llb::FormatPlatform(c->platform()), "linux/arm/v7");
  EXPECT_EQ(c->config.user, "app");
  EXPECT_EQ(c->config.exposed_ports,
            (std::vector<std::string>{"53/udp", "8080/tcp"}));
  EXPECT_FALSE(c->config.entrypoint.has_value());  // null
  ASSERT_TRUE(c->config.cmd.has_value());          // [] is kept apart from null
  EXPECT_TRUE(c->config.cmd->empty());
  ASSERT_TRUE(c->config.healthcheck.has_value());
  EXPECT_EQ(c->config.healthcheck->interval_ns, 1000000000);
  EXPECT_EQ(c->config.healthcheck->retries, 3);
  ASSERT_EQ(c->diff_ids.size(), 1u);
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_TRUE(c->history[0].empty_layer);

  std::string out = ToJson(*c);
  EXPECT_EQ(
      out.rfind(
          R"({"created":"2024-01-02T03:04:05Z","architecture":"arm","os":"linux","variant":"v7","config":{"User":"app","ExposedPorts":{"53/udp":{},"8080/tcp":{}})",
          0),
      0u)
      << out;
  EXPECT_NE(out.find(R"("Cmd":[])"), std::string::npos);
  EXPECT_EQ(out.find("Entrypoint"), std::string::npos);
  EXPECT_EQ(out.find("unknown"), std::string::npos);
  EXPECT_EQ(ToJson(*ParseImageConfig(out)), out);

  auto bad = ParseImageConfig(R"({"rootfs":{"diff_ids":["nope"]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("diff_ids[0]"), std::string::npos);
}

Index MultiPlatform() {
  auto entry = [](const std::string& digest, std::string os, std::string arch,
                  std::string variant) {
    Descriptor d{std::string(kMediaTypeImageManifest),
                 *Digest::Parse(digest),
                 100,
                 {},
                 {},
                 {},
                 {}};
    d.platform = llb::Platform{
        std::move(os), std::move(arch), std::move(variant), "", {}};
    return d;
  };
  Index x;
  x.media_type = kMediaTypeImageIndex;
  x.manifests = {
      entry(kA, "linux", "amd64", ""), entry(kB, "linux", "arm", "v6"),
      entry(kC, "linux", "arm", "v7"),
      entry("sha256:" + std::string(64, 'd'), "linux", "arm64", "v8")};
  return x;
}

TEST(OciPlatform, SelectsTheBestMatch) {
  Index x = MultiPlatform();
  auto pick = [&](std::string_view spec) -> std::string {
    auto d = SelectManifest(x, *llb::ParsePlatform(spec));
    return d.ok() ? d->digest.str() : d.status().message();
  };
  EXPECT_EQ(pick("linux/amd64"), kA);
  EXPECT_EQ(pick("linux/x86_64"), kA);  // normalized
  EXPECT_EQ(pick("linux/arm/v7"), kC);
  EXPECT_EQ(pick("linux/arm/v6"), kB);
  EXPECT_EQ(pick("linux/arm64"), "sha256:" + std::string(64, 'd'));
  EXPECT_EQ(pick("linux/aarch64"), "sha256:" + std::string(64, 'd'));
  std::string missing = pick("linux/s390x");
  EXPECT_NE(missing.find("no image for platform linux/s390x"),
            std::string::npos)
      << missing;
  EXPECT_NE(
      missing.find("linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64"),
      std::string::npos)
      << missing;
  // arm/v8 runs v7 and v6 images, not the other way round.
  EXPECT_TRUE(PlatformMatches(*llb::ParsePlatform("linux/arm/v8"),
                              {"linux", "arm", "v6", "", {}}));
  EXPECT_FALSE(PlatformMatches(*llb::ParsePlatform("linux/arm/v6"),
                               {"linux", "arm", "v7", "", {}}));
  EXPECT_FALSE(PlatformMatches(*llb::ParsePlatform("windows/amd64"),
                               {"linux", "amd64", "", "", {}}));
}

TEST(OciIndex, RoundTripsAndRejectsManifests) {
  Index x = MultiPlatform();
  std::string json = ToJson(x);
  auto back = ParseIndex(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->manifests.size(), 4u);
  EXPECT_EQ(back->manifests[2].platform->variant, "v7");
  EXPECT_EQ(ToJson(*back), json);
  EXPECT_FALSE(ParseIndex(R"({"schemaVersion":2,"mediaType":")" +
                          std::string(kMediaTypeDockerManifest) + R"("})")
                   .ok());
}

}  // namespace
}  // namespace kiln::solver::oci
