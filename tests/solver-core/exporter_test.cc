// Exporters with the copy snapshotter (no root): output spec parsing, local
// and tar trees, oci/docker archives and the image store, layer reuse
// through a LayerCache, history normalization.
#include "kiln/solver/exporter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "kiln/solver/layer_diff.h"
#include "layer_diff_test_util.h"
#include "support/archive_util.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
using Json = nlohmann::json;

class MapLayerCache : public LayerCache {
 public:
  std::optional<LayerBlob> GetLayer(const std::string& snapshot) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++gets;
    auto it = map.find(snapshot);
    if (it == map.end()) return std::nullopt;
    ++hits;
    return it->second;
  }
  Status PutLayer(const std::string& snapshot, const LayerBlob& l) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++puts;
    map[snapshot] = l;
    return Status::Ok();
  }
  std::mutex mu_;
  std::map<std::string, LayerBlob> map;
  int gets = 0, hits = 0, puts = 0;
};

// The entries of an (uncompressed) tar file: path → content.
std::map<std::string, std::string> ReadTar(const std::string& path) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    archive_read_free(a);
    return out;
  }
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
      data.append(buf, n);
    out[archive_entry_pathname(e)] = data;
  }
  archive_read_free(a);
  return out;
}

// The decompressed bytes of a gzip blob.
std::string Gunzip(const std::string& blob) {
  std::string out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  struct archive_entry* e = nullptr;
  if (archive_read_open_memory(a, blob.data(), blob.size()) == ARCHIVE_OK &&
      archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) out.append(buf, n);
  }
  archive_read_free(a);
  return out;
}

std::string BlobKey(const std::string& digest) {
  return "blobs/sha256/" + digest.substr(7);
}

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto snaps =
        OpenSnapshotter(tmp_.path() + "/snaps", SnapshotterKind::kCopy);
    ASSERT_TRUE(snaps.ok());
    snaps_ = std::move(*snaps);
    auto stores = testing::OpenStores(tmp_.path());
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    content_ = std::move(stores->content);
    images_ = std::move(stores->images);
    std::filesystem::create_directories(tmp_.path() + "/work");
    env_ = ExportEnv{snaps_.get(), content_.get(), images_.get(),
                     nullptr,      &cache_,        tmp_.path() + "/work"};
    // base: two files; mid: no changes; top: adds run/out, deletes b.
    testing::CommitStep(*snaps_, tmp_.path(), "base", "",
                        [](const std::string& d) {
                          WriteFile(d + "/a.txt", "alpha\n");
                          WriteFile(d + "/b.txt", "bravo\n");
                          chmod((d + "/a.txt").c_str(), 0640);
                          ASSERT_EQ(symlink("a.txt", (d + "/ln").c_str()), 0);
                        });
    testing::CommitStep(*snaps_, tmp_.path(), "mid", "base",
                        [](const std::string&) {});
    testing::CommitStep(*snaps_, tmp_.path(), "top", "mid",
                        [](const std::string& d) {
                          WriteFile(d + "/run/out", "built\n");
                          std::filesystem::remove(d + "/b.txt");
                        });
    source_.snapshot = "top";
    source_.platform = llb::Platform{"linux", "arm64", "v8", "", {}};
    source_.created_by = {
        {"base", "ADD base"}, {"mid", "RUN true"}, {"top", "RUN build"}};
  }

  Result<std::map<std::string, std::string>> Run(const std::string& spec) {
    auto req = ParseOutputSpec(spec);
    if (!req.ok()) return req.status();
    return Export(*req, source_, env_);
  }

  TempDir tmp_{"kiln-export-"};
  std::unique_ptr<Snapshotter> snaps_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
  MapLayerCache cache_;
  ExportEnv env_;
  ExportSource source_;
};

TEST(ParseOutputSpecTest, ParsesBuildctlSyntax) {
  auto r = ParseOutputSpec("type=local,dest=out");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, "local");
  EXPECT_EQ(r->attrs, (std::map<std::string, std::string>{{"dest", "out"}}));
  r = ParseOutputSpec(R"(type=image,"name=a:1,b:2",push=true)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attrs["name"], "a:1,b:2");
  r = ParseOutputSpec(R"(type=image,name="x,y")");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attrs["name"], "x,y");
  r = ParseOutputSpec("type=registry,name=r/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, "image");
  EXPECT_EQ(r->attrs["push"], "true");
  EXPECT_EQ(ParseOutputSpec("dest=out").status().code(),
            StatusCode::kInvalidArgument);
  auto bad = ParseOutputSpec("type=bogus,dest=x");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().ToString().find("local, tar, oci"), std::string::npos);
  EXPECT_FALSE(ParseOutputSpec("type=tar,dest=\"x").ok());
  EXPECT_FALSE(ParseOutputSpec("type=tar,dest=a,dest=b").ok());
}

TEST_F(ExporterTest, LocalCopiesTheTree) {
  std::string dest = tmp_.path() + "/out/local";
  WriteFile(dest + "/a.txt", "stale, replaced\n");
  WriteFile(dest + "/other", "kept\n");
  auto r = Run("type=local,dest=" + dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto tree = testing::DumpTree(dest);
  EXPECT_EQ(tree["a.txt"], "f 0640 alpha\n");
  EXPECT_EQ(tree["ln"], "l -> a.txt");
  EXPECT_EQ(tree["run/out"], "f 0644 built\n");
  EXPECT_EQ(tree["other"], "f 0644 kept\n");
  EXPECT_EQ(tree.count("b.txt"), 0u);
  EXPECT_EQ(tree.size(), 5u) << "no staging dir left";
}

TEST_F(ExporterTest, TarHoldsTheTree) {
  std::string dest = tmp_.path() + "/out.tar";
  auto r = Run("type=tar,dest=" + dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto entries = ReadTar(dest);
  EXPECT_EQ(entries["a.txt"], "alpha\n");
  EXPECT_EQ(entries["run/out"], "built\n");
  EXPECT_EQ(entries.count("run/"), 1u);
  EXPECT_EQ(entries.count("ln"), 1u);
  EXPECT_EQ(entries.size(), 4u);
}

TEST_F(ExporterTest, OciArchiveHasManifestConfigAndLayers) {
  std::string dest = tmp_.path() + "/out.oci.tar";
  auto r = Run("type=oci,dest=" + dest + ",name=example.com/app:v1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto entries = ReadTar(dest);
  Json index = Json::parse(entries["index.json"]);
  ASSERT_EQ(index["manifests"].size(), 1u);
  const Json& desc = index["manifests"][0];
  EXPECT_EQ(desc["digest"], (*r)["containerimage.digest"]);
  EXPECT_EQ(desc["annotations"]["org.opencontainers.image.ref.name"], "v1");
  EXPECT_EQ(desc["platform"]["architecture"], "arm64");
  Json manifest = Json::parse(entries[BlobKey(desc["digest"])]);
  EXPECT_EQ(manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(manifest["config"]["digest"], (*r)["containerimage.config.digest"]);
  Json config = Json::parse(entries[BlobKey(manifest["config"]["digest"])]);
  EXPECT_EQ(config["architecture"], "arm64");
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["variant"], "v8");
  // mid changed nothing: two layers, three history entries.
  ASSERT_EQ(manifest["layers"].size(), 2u);
  ASSERT_EQ(config["rootfs"]["diff_ids"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Json& layer = manifest["layers"][i];
    EXPECT_EQ(layer["mediaType"],
              "application/vnd.oci.image.layer.v1.tar+gzip");
    std::string blob = entries[BlobKey(layer["digest"])];
    EXPECT_EQ(Digest::FromBytes(blob).str(), layer["digest"]);
    std::string tar = Gunzip(blob);
    EXPECT_EQ(Digest::FromBytes(tar).str(), config["rootfs"]["diff_ids"][i]);
  }
  ASSERT_EQ(config["history"].size(), 3u);
  EXPECT_EQ(config["history"][0]["created_by"], "ADD base");
  EXPECT_EQ(config["history"][1]["created_by"], "RUN true");
  EXPECT_EQ(config["history"][1]["empty_layer"], true);
  EXPECT_EQ(config["history"][2]["created_by"], "RUN build");
  EXPECT_EQ(config["history"][2]["comment"], "kiln");
  EXPECT_FALSE(config["history"][2].contains("empty_layer"));
  // The descriptor response key is base64 JSON of the manifest descriptor.
  EXPECT_FALSE((*r)["containerimage.descriptor"].empty());
  EXPECT_EQ((*r)["image.name"], "example.com/app:v1");
}

TEST_F(ExporterTest, LayersAreReusedFromTheCache) {
  auto first = Run("type=image,name=x/a,source-date-epoch=5");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(cache_.puts, 3);
  EXPECT_EQ(cache_.hits, 0);
  auto second = Run("type=image,name=x/b,source-date-epoch=5");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(cache_.hits, 3);
  EXPECT_EQ(cache_.puts, 3);
  EXPECT_EQ((*first)["containerimage.digest"],
            (*second)["containerimage.digest"]);
  // Another compression is not served from the cache entry of gzip.
  auto zstd = Run("type=image,name=x/c,compression=zstd");
  ASSERT_TRUE(zstd.ok());
  EXPECT_EQ(cache_.puts, 6);
}

TEST_F(ExporterTest, ImageIsNamedInTheStoreWithItsPlatform) {
  auto r =
      Run("type=image,\"name=x/app:1,x/app:2\",source-date-epoch=1000,"
          "oci-mediatypes=false");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const char* name : {"x/app:1", "x/app:2"}) {
    auto rec = images_->Get(name);
    ASSERT_TRUE(rec.ok()) << name;
    EXPECT_EQ(rec->target.digest.str(), (*r)["containerimage.digest"]);
    ASSERT_TRUE(rec->target.platform.has_value());
    EXPECT_EQ(rec->target.platform->architecture, "arm64");
  }
  auto manifest =
      content_->ReadAll(*Digest::Parse((*r)["containerimage.digest"]));
  ASSERT_TRUE(manifest.ok());
  Json m = Json::parse(*manifest);
  EXPECT_EQ(m["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(m["layers"][0]["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip");
  auto config =
      content_->ReadAll(*Digest::Parse((*r)["containerimage.config.digest"]));
  ASSERT_TRUE(config.ok());
  Json c = Json::parse(*config);
  EXPECT_EQ(c["created"], "1970-01-01T00:16:40Z");
  EXPECT_EQ(c["history"][2]["created"], "1970-01-01T00:16:40Z");
  EXPECT_EQ((*r)["image.name"], "docker.io/x/app:1,docker.io/x/app:2");
  EXPECT_EQ(Run("type=image").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Run("type=image,name=x/y,unpack=true").status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(Run("type=image,name=x/y,push=true").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(ExporterTest, BaseHistoryIsKeptAndPadded) {
  // A base config accounting for the first layer only.
  source_.image_config =
      R"({"architecture":"arm64","os":"linux","config":{"Env":["A=1"]},)"
      R"("rootfs":{"type":"layers","diff_ids":[]},)"
      R"("history":[{"created_by":"base step"},)"
      R"({"created_by":"ENV A=1","empty_layer":true}]})";
  auto r = Run("type=image,name=x/h");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json c = Json::parse(
      *content_->ReadAll(*Digest::Parse((*r)["containerimage.config.digest"])));
  EXPECT_EQ(c["config"]["Env"][0], "A=1");
  ASSERT_EQ(c["history"].size(), 4u) << c.dump();
  EXPECT_EQ(c["history"][0]["created_by"], "base step");
  EXPECT_EQ(c["history"][2]["created_by"], "RUN true");
  EXPECT_EQ(c["history"][3]["created_by"], "RUN build");
  int non_empty = 0;
  for (const auto& h : c["history"])
    non_empty += !h.value("empty_layer", false);
  EXPECT_EQ(non_empty, 2);
  EXPECT_EQ(c["rootfs"]["diff_ids"].size(), 2u);
  // Entries without a time get one (umoci stat fails on a missing one):
  // the first timed entry's for those before it, else the previous one's.
  for (const auto& h : c["history"]) {
    EXPECT_TRUE(h.contains("created")) << h.dump();
  }
  EXPECT_EQ(c["history"][0]["created"], c["history"][2]["created"]);
}

TEST_F(ExporterTest, HistoryTimesFillFromNeighbours) {
  source_.image_config =
      R"({"architecture":"amd64","os":"linux","config":{},)"
      R"("history":[{"created_by":"a"},)"
      R"({"created":"2020-01-02T03:04:05Z","created_by":"b"},)"
      R"({"created_by":"c","empty_layer":true}]})";
  auto r = Run("type=image,name=x/t");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json c = Json::parse(
      *content_->ReadAll(*Digest::Parse((*r)["containerimage.config.digest"])));
  ASSERT_GE(c["history"].size(), 3u) << c.dump();
  EXPECT_EQ(c["history"][0]["created"], "2020-01-02T03:04:05Z");
  EXPECT_EQ(c["history"][1]["created"], "2020-01-02T03:04:05Z");
  EXPECT_EQ(c["history"][2]["created"], "2020-01-02T03:04:05Z");
}

TEST_F(ExporterTest, DockerArchiveAndOciDirectory) {
  std::string tar = tmp_.path() + "/docker.tar";
  auto r = Run("type=docker,dest=" + tar + ",name=x/d:1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto entries = ReadTar(tar);
  Json manifest = Json::parse(entries["manifest.json"]);
  EXPECT_EQ(manifest[0]["RepoTags"][0], "x/d:1");
  EXPECT_EQ(manifest[0]["Layers"].size(), 2u);
  EXPECT_EQ(Run("type=docker,dest=" + tar).status().code(),
            StatusCode::kInvalidArgument);

  std::string dir = tmp_.path() + "/layout";
  r = Run("type=oci,tar=false,dest=" + dir);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json index = Json::parse(ReadFile(dir + "/index.json"));
  std::string digest = index["manifests"][0]["digest"];
  EXPECT_EQ(digest, (*r)["containerimage.digest"]);
  EXPECT_FALSE(index["manifests"][0].contains("annotations"));
  std::string m = ReadFile(dir + "/" + BlobKey(digest));
  EXPECT_EQ(Digest::FromBytes(m).str(), digest);
  EXPECT_FALSE(ReadFile(dir + "/oci-layout").empty());
}

TEST_F(ExporterTest, EmptySourceGivesAnImageWithoutLayers) {
  source_.snapshot = "";
  auto r = Run("type=image,name=x/empty");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json c = Json::parse(
      *content_->ReadAll(*Digest::Parse((*r)["containerimage.config.digest"])));
  EXPECT_TRUE(c["rootfs"]["diff_ids"].empty());
  std::string dest = tmp_.path() + "/empty-local";
  ASSERT_TRUE(Run("type=local,dest=" + dest).ok());
  EXPECT_TRUE(testing::DumpTree(dest).empty());
}

// The mtime of each entry of an uncompressed tar file.
std::map<std::string, int64_t> TarTimes(const std::string& path) {
  std::map<std::string, int64_t> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    ADD_FAILURE() << "cannot read " << path;
    archive_read_free(a);
    return out;
  }
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    out[archive_entry_pathname(e)] = archive_entry_mtime(e);
    EXPECT_FALSE(archive_entry_atime_is_set(e)) << archive_entry_pathname(e);
    EXPECT_FALSE(archive_entry_ctime_is_set(e)) << archive_entry_pathname(e);
  }
  archive_read_free(a);
  // Every caller reads a tar with entries: an empty map would make its
  // loops over the times pass without checking anything.
  EXPECT_FALSE(out.empty()) << path << " has no entries";
  return out;
}

TEST_F(ExporterTest, TarAndLocalSetEveryTimeToTheEpoch) {
  std::string tar = tmp_.path() + "/epoch.tar";
  ASSERT_TRUE(Run("type=tar,source-date-epoch=86400,dest=" + tar).ok());
  auto times = TarTimes(tar);
  ASSERT_EQ(times.size(), 4u);
  for (const auto& [path, mtime] : times) EXPECT_EQ(mtime, 86400) << path;
  // Set, not clamped: a later epoch moves the times forward too.
  ASSERT_TRUE(Run("type=tar,source-date-epoch=4000000000,dest=" + tar).ok());
  for (const auto& [path, mtime] : TarTimes(tar))
    EXPECT_EQ(mtime, 4000000000) << path;
  // Without an epoch the tree's own times are kept (now-ish here).
  ASSERT_TRUE(Run("type=tar,dest=" + tar).ok());
  EXPECT_GT(TarTimes(tar)["a.txt"], 1600000000);

  std::string dest = tmp_.path() + "/epoch-local";
  ASSERT_TRUE(Run("type=local,source-date-epoch=86400,dest=" + dest).ok());
  for (const char* path : {"a.txt", "ln", "run", "run/out"}) {
    struct stat st {};
    ASSERT_EQ(lstat((dest + "/" + path).c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mtime, 86400) << path;
  }
  auto bad = Run("type=tar,source-date-epoch=soon,dest=" + tar);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("source-date-epoch=soon"),
            std::string::npos);
}

TEST_F(ExporterTest, TarBytesAreTheSameForTheSameTree) {
  std::string a = tmp_.path() + "/a.tar", b = tmp_.path() + "/b.tar";
  ASSERT_TRUE(Run("type=tar,source-date-epoch=5,dest=" + a).ok());
  ASSERT_TRUE(Run("type=tar,source-date-epoch=5,dest=" + b).ok());
  EXPECT_EQ(ReadFile(a), ReadFile(b));
  std::string oa = tmp_.path() + "/a.oci", ob = tmp_.path() + "/b.oci";
  ASSERT_TRUE(
      Run("type=oci,source-date-epoch=5,rewrite-timestamp=true,dest=" + oa)
          .ok());
  ASSERT_TRUE(
      Run("type=oci,source-date-epoch=5,rewrite-timestamp=true,dest=" + ob)
          .ok());
  EXPECT_EQ(ReadFile(oa), ReadFile(ob));
  // The archive's own entries carry no build time.
  for (const auto& [path, mtime] : TarTimes(oa)) EXPECT_EQ(mtime, 0) << path;
}

TEST_F(ExporterTest, EpochClampsHistoryAfterTheBaseImage) {
  const std::string base =
      R"({"architecture":"arm64","os":"linux",)"
      R"("history":[{"created":"2030-01-01T00:00:00Z","created_by":"base"}]})";
  source_.base_image_config = base;
  source_.image_config =
      R"({"architecture":"arm64","os":"linux",)"
      R"("created":"2031-01-01T00:00:00+02:00",)"
      R"("history":[{"created":"2030-01-01T00:00:00Z","created_by":"base"},)"
      R"({"created_by":"ENV A=1","empty_layer":true},)"
      R"({"created":"1999-12-31T23:59:59.5Z","created_by":"old"},)"
      R"({"created":"2029-06-01T00:00:00-01:30","created_by":"new"}]})";
  auto r = Run("type=image,name=x/e,source-date-epoch=1700000000");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json c = Json::parse(
      *content_->ReadAll(*Digest::Parse((*r)["containerimage.config.digest"])));
  EXPECT_EQ(c["created"], "2023-11-14T22:13:20Z");
  ASSERT_GE(c["history"].size(), 4u) << c.dump();
  EXPECT_EQ(c["history"][0]["created"], "2030-01-01T00:00:00Z") << "base kept";
  EXPECT_EQ(c["history"][1]["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(c["history"][2]["created"], "1999-12-31T23:59:59.5Z")
      << "older kept (clamp, not set)";
  EXPECT_EQ(c["history"][3]["created"], "2023-11-14T22:13:20Z");
  for (size_t i = 4; i < c["history"].size(); ++i)
    EXPECT_EQ(c["history"][i]["created"], "2023-11-14T22:13:20Z");
  // Without the base config every later entry is clamped, as BuildKit does
  // without a base image.
  source_.base_image_config.clear();
  r = Run("type=image,name=x/f,source-date-epoch=1700000000");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  c = Json::parse(
      *content_->ReadAll(*Digest::Parse((*r)["containerimage.config.digest"])));
  EXPECT_EQ(c["history"][0]["created"], "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace kiln::solver
