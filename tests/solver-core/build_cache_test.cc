// The build cache format and its local transport (cache_config.h,
// build_cache.h): config round trip, foreign caches refused, spec checks,
// mode=min vs max record selection and an OCI layout written and read back
// with a copy snapshotter (no root needed).
#include "kiln/solver/build_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/solver/cache_config.h"
#include "kiln/solver/cache_index.h"
#include "kiln/solver/cache_key.h"
#include "kiln/solver/layer_unpack.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;
using testing::MakeTempDir;
using testing::RemoveTree;
using testing::WriteFile;

Digest D(const std::string& s) { return Digest::FromBytes(s); }

LayerBlob Blob(const std::string& name) {
  LayerBlob b;
  b.descriptor.media_type = std::string(oci::kMediaTypeLayerGzip);
  b.descriptor.digest = D("blob " + name);
  b.descriptor.size = 10;
  b.diff_id = D("diff " + name);
  return b;
}

CacheConfig TwoLayers() {
  CacheConfig c;
  c.layers.push_back({Blob("a"), -1});
  c.layers.push_back({Blob("b"), 0});
  c.records.push_back({D("key1"), {1}});
  c.records.push_back({D("key2"), {0, -1}});
  return c;
}

TEST(CacheConfigTest, RoundTripsThroughManifestAndJson) {
  CacheConfig c = TwoLayers();
  std::string json = CacheConfigJson(c);
  EXPECT_EQ(json, CacheConfigJson(c));  // stable
  auto parsed_json = nlohmann::json::parse(json);
  EXPECT_EQ(parsed_json["kiln"]["keys"], std::string(kCacheKeyVersion));
  oci::Manifest m =
      CacheManifest(c, D(json), static_cast<int64_t>(json.size()));
  EXPECT_EQ(m.config.media_type, kCacheConfigMediaType);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[1].annotations.at(std::string(kAnnotationUncompressed)),
            D("diff b").str());
  // Through the manifest's JSON too, as a registry would hand it back.
  auto reparsed = oci::ParseManifest(oci::ToJson(m));
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  auto back = ParseCacheManifest(*reparsed, json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->layers.size(), 2u);
  EXPECT_EQ(back->layers[1].parent, 0);
  EXPECT_EQ(back->layers[1].blob.diff_id, D("diff b"));
  // The descriptor is the image layer's: the annotation is the format's.
  EXPECT_TRUE(back->layers[1].blob.descriptor.annotations.empty());
  ASSERT_EQ(back->records.size(), 2u);
  EXPECT_EQ(back->records[1].results, (std::vector<int>{0, -1}));
  std::vector<LayerBlob> chain = back->Chain(1);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].descriptor.digest, D("blob a"));
  EXPECT_EQ(chain[1].descriptor.digest, D("blob b"));
  EXPECT_TRUE(back->Chain(-1).empty());
}

TEST(CacheConfigTest, RefusesForeignAndMalformedCaches) {
  CacheConfig c = TwoLayers();
  std::string json = CacheConfigJson(c);
  oci::Manifest m = CacheManifest(c, D(json), 1);

  // BuildKit's own config: no kiln marker.
  auto foreign = ParseCacheManifest(
      m, R"({"layers":[{"blob":")" + D("blob a").str() +
             R"(","parent":-1}],"records":[{"digest":"sha256:)" +
             std::string(64, 'a') + R"(","layers":[{"layer":0}]}]})");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(foreign.status().message().find("another builder"),
            std::string::npos);

  auto j = nlohmann::json::parse(json);
  j["kiln"]["keys"] = "kiln-cachekey-v1";
  auto old = ParseCacheManifest(m, j.dump());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kFailedPrecondition);

  j = nlohmann::json::parse(json);
  j["layers"][0]["parent"] = 1;  // a parent above its layer
  auto cycle = ParseCacheManifest(m, j.dump());
  ASSERT_FALSE(cycle.ok());
  EXPECT_EQ(cycle.status().code(), StatusCode::kInvalidArgument);

  j = nlohmann::json::parse(json);
  j["records"][0]["results"][0] = 7;
  EXPECT_EQ(ParseCacheManifest(m, j.dump()).status().code(),
            StatusCode::kInvalidArgument);

  oci::Manifest image = m;
  image.config.media_type = std::string(oci::kMediaTypeImageConfig);
  EXPECT_EQ(ParseCacheManifest(image, json).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(ParseCacheManifest(m, "{not json").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CacheSpecTest, ParsesAndChecksSpecs) {
  auto bare = ParseCacheSpec("127.0.0.1:5000/app:cache");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->type, "registry");
  EXPECT_EQ(bare->attrs.at("ref"), "127.0.0.1:5000/app:cache");
  EXPECT_TRUE(ValidateCacheImport(*bare).ok());

  auto full =
      ParseCacheSpec("type=registry,ref=r/x:1,mode=max,compression=zstd");
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(ValidateCacheExport(*full).ok());
  EXPECT_EQ(CacheSpecName(*full), "r/x:1");

  auto gha = ParseCacheSpec("type=gha,scope=x");
  ASSERT_TRUE(gha.ok());
  Status s = ValidateCacheExport(*gha);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "cache type gha is not supported by kiln (supported: registry, "
            "local, inline)");
  EXPECT_FALSE(ValidateCacheImport(*ParseCacheSpec("type=s3,bucket=b")).ok());
  EXPECT_FALSE(ValidateCacheExport(*ParseCacheSpec("type=local,src=x")).ok());
  EXPECT_FALSE(ValidateCacheImport(*ParseCacheSpec("type=local,dest=x")).ok());
  EXPECT_FALSE(
      ValidateCacheExport(*ParseCacheSpec("type=local,dest=x,mode=all")).ok());
  EXPECT_FALSE(
      ValidateCacheExport(*ParseCacheSpec("type=registry,ref=r/UPPER:1")).ok());
  EXPECT_FALSE(ParseCacheSpec("").ok());
  EXPECT_FALSE(ParseCacheSpec("type=local,dest").ok());
  EXPECT_FALSE(ParseCacheSpec("ref=x,mode=max").ok());  // no type
  EXPECT_FALSE(ParseCacheSpec("type=local,dest=a,dest=b").ok());
}

// A copy snapshotter with a chain a ← b and a sibling a ← c, a cache index
// as the LayerCache, and a content store.
class CacheExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("kiln-cache-export");
    auto snaps = OpenSnapshotter(dir_ + "/snapshots", SnapshotterKind::kCopy);
    ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
    snapshots_ = std::move(*snaps);
    auto content = ContentStore::Open(dir_ + "/content");
    ASSERT_TRUE(content.ok());
    content_ = std::move(*content);
    auto index = CacheIndex::Open(dir_ + "/cache.db");
    ASSERT_TRUE(index.ok());
    index_ = std::move(*index);
    Commit("a", "", "a.txt", "base\n");
    Commit("b", "a", "b.txt", "on top\n");
    Commit("c", "a", "c.txt", "sibling\n");
    recorder_.Add(D("key-b"), {"b"});
    recorder_.Add(D("key-c"), {"c"});
    recorder_.Add(D("key-a"), {"a"});
    recorder_.Add(D("key-empty"), {""});
  }
  void TearDown() override {
    snapshots_.reset();
    RemoveTree(dir_);
  }
  void Commit(const std::string& name, const std::string& parent,
              const std::string& file, const std::string& data) {
    auto path = snapshots_->Prepare(name + "-active", parent);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    WriteFile(*path + "/" + file, data);
    ASSERT_TRUE(snapshots_->Commit(name, name + "-active").ok());
  }
  CacheServices Services() {
    return {.snapshots = snapshots_.get(),
            .content = content_.get(),
            .layers = index_.get(),
            .registry = nullptr};
  }
  Result<std::unique_ptr<ImportedCache>> ExportAndLoad(
      const std::string& mode, const std::string& dest) {
    CacheSpec spec{.type = "local", .attrs = {{"dest", dest}, {"mode", mode}}};
    KILN_ASSIGN_OR_RETURN(oci::Descriptor d,
                          ExportCache(spec, recorder_, {"b"}, Services()));
    (void)d;
    CacheSpec in{.type = "local", .attrs = {{"src", dest}}};
    return ImportedCache::Load(in, Services());
  }

  std::string dir_;
  std::unique_ptr<Snapshotter> snapshots_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<CacheIndex> index_;
  CacheRecorder recorder_;
};

TEST_F(CacheExportTest, ModeMinKeepsTheResultChainModeMaxEverything) {
  auto min = ExportAndLoad("min", dir_ + "/min");
  ASSERT_TRUE(min.ok()) << min.status().ToString();
  EXPECT_EQ((*min)->size(), 3u);  // a, b and the empty result
  EXPECT_TRUE((*min)->Find(D("key-b")).has_value());
  EXPECT_TRUE((*min)->Find(D("key-a")).has_value());
  EXPECT_FALSE((*min)->Find(D("key-c")).has_value());
  auto empty = (*min)->Find(D("key-empty"));
  ASSERT_TRUE(empty.has_value());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_TRUE((*empty)[0].empty());

  auto max = ExportAndLoad("max", dir_ + "/max");
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ((*max)->size(), 4u);
  auto c = (*max)->Find(D("key-c"));
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ((*c)[0].size(), 2u);  // a, then c on it
  auto b = (*max)->Find(D("key-b"));
  // The base layer is one blob shared by both chains.
  EXPECT_EQ((*c)[0][0].descriptor.digest, (*b)[0][0].descriptor.digest);
  EXPECT_NE((*c)[0][1].descriptor.digest, (*b)[0][1].descriptor.digest);
  // The layers are the LayerCache's: an image export would reuse them.
  auto recorded = index_->GetLayer("b");
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(recorded->descriptor.digest, (*b)[0][1].descriptor.digest);
}

TEST_F(CacheExportTest, LocalLayoutIsReadableAndBlobsAreVerified) {
  const std::string dest = dir_ + "/layout";
  auto cache = ExportAndLoad("min", dest);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  EXPECT_TRUE(fs::exists(dest + "/oci-layout"));
  std::ifstream in(dest + "/index.json");
  auto index = nlohmann::json::parse(in);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["annotations"]
                 [std::string(oci::kAnnotationRefName)],
            "latest");

  // Fetching into another store, and unpacking what it fetched, gives the
  // same tree.
  auto other = ContentStore::Open(dir_ + "/other-content");
  ASSERT_TRUE(other.ok());
  auto chains = (*cache)->Find(D("key-b"));
  ASSERT_TRUE(chains.has_value());
  oci::Manifest m;
  oci::ImageConfig config;
  for (const LayerBlob& l : (*chains)[0]) {
    ASSERT_TRUE((*cache)->Fetch(l.descriptor, **other).ok());
    EXPECT_TRUE((*other)->Has(l.descriptor.digest));
    m.layers.push_back(l.descriptor);
    config.diff_ids.push_back(l.diff_id);
  }
  auto snaps = OpenSnapshotter(dir_ + "/other-snaps", SnapshotterKind::kCopy);
  ASSERT_TRUE(snaps.ok());
  auto top = UnpackImage(**snaps, **other, m, config);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  auto own = (*snaps)->OwnDir(*top);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(testing::ReadFile(*own + "/b.txt"), "on top\n");
  EXPECT_EQ(testing::ReadFile(*own + "/a.txt"), "base\n");

  // A missing blob is NotFound, a corrupt one DataLoss (nothing stored).
  const oci::Descriptor& top_blob = (*chains)[0].back().descriptor;
  const std::string blob_path =
      dest + "/blobs/sha256/" + std::string(top_blob.digest.hex());
  auto third = ContentStore::Open(dir_ + "/third-content");
  ASSERT_TRUE(third.ok());
  WriteFile(blob_path, std::string(static_cast<size_t>(top_blob.size), 'x'));
  EXPECT_EQ((*cache)->Fetch(top_blob, **third).code(), StatusCode::kDataLoss);
  EXPECT_FALSE((*third)->Has(top_blob.digest));
  fs::remove(blob_path);
  EXPECT_EQ((*cache)->Fetch(top_blob, **third).code(), StatusCode::kNotFound);

  // Another tag keeps the first; a missing tag is NotFound.
  CacheSpec tagged{.type = "local",
                   .attrs = {{"dest", dest}, {"tag", "v2"}, {"mode", "max"}}};
  ASSERT_TRUE(ExportCache(tagged, recorder_, {"b"}, Services()).ok());
  std::ifstream in2(dest + "/index.json");
  EXPECT_EQ(nlohmann::json::parse(in2)["manifests"].size(), 2u);
  auto v2 = ImportedCache::Load(
      {.type = "local", .attrs = {{"src", dest}, {"tag", "v2"}}}, Services());
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ((*v2)->size(), 4u);
  auto none = ImportedCache::Load(
      {.type = "local", .attrs = {{"src", dest}, {"tag", "nope"}}}, Services());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  auto missing = ImportedCache::Load(
      {.type = "local", .attrs = {{"src", dir_ + "/nothing"}}}, Services());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(CacheExportTest, InlineConfigFollowsTheImageLayers) {
  auto json =
      InlineCacheConfig(recorder_, "b", Services(), oci::Compression::kGzip);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto j = nlohmann::json::parse(*json);
  ASSERT_EQ(j["layers"].size(), 2u);  // a then b: the image's layer order
  EXPECT_EQ(j["layers"][0]["blob"],
            index_->GetLayer("a")->descriptor.digest.str());
  EXPECT_EQ(j["layers"][1]["blob"],
            index_->GetLayer("b")->descriptor.digest.str());
  EXPECT_EQ(j["layers"][1]["parent"], 0);
  std::set<std::string> keys;
  for (const auto& r : j["records"]) keys.insert(r["digest"]);
  EXPECT_EQ(keys, (std::set<std::string>{D("key-a").str(), D("key-b").str(),
                                         D("key-empty").str()}));

  auto embedded =
      EmbedInlineCache(R"({"os":"linux","architecture":"amd64"})", "abc");
  ASSERT_TRUE(embedded.ok());
  EXPECT_EQ(
      *embedded,
      R"({"os":"linux","architecture":"amd64","moby.buildkit.cache.v0":"YWJj"})");
  EXPECT_FALSE(EmbedInlineCache("[1]", "abc").ok());
  EXPECT_TRUE(ValidateCacheExport(*ParseCacheSpec("type=inline")).ok());
  EXPECT_FALSE(
      ValidateCacheExport(*ParseCacheSpec("type=inline,mode=max")).ok());
  EXPECT_FALSE(ValidateCacheImport(*ParseCacheSpec("type=inline")).ok());
}

}  // namespace
}  // namespace kiln::solver
