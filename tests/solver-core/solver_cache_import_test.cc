// Imported caches in the solver (solver.h SolveRequest::cache_imports and
// cache_recorder): a build recorded and exported from one state root
// answers the same build on a fresh root without running its execs, and a
// cache with a missing blob only makes the step run. Needs root and runc.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/llb/exec.h"
#include "kiln/solver/build_cache.h"
#include "support/engine_setup.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver::testing {
namespace {

namespace fs = std::filesystem;

class SolverCacheImportTest : public SolverTest {
 protected:
  void TearDown() override {
    SolverTest::TearDown();
    for (const std::string& d : old_roots_) RemoveTree(d);
    if (!layout_.empty()) RemoveTree(layout_);
  }

  llb::State Build() const {
    return Busybox()
        .Run({.args = {"/bin/sh", "-c", "echo one > /one.txt"}})
        .Root()
        .Run({.args = {"/bin/sh", "-c", "echo two > /two.txt"}})
        .Root();
  }

  CacheServices Services() {
    return {.snapshots = snapshots_.get(),
            .content = content_.get(),
            .layers = &solver_->layers(),
            .registry = nullptr};
  }

  // Moves the test to a fresh state root with busybox imported: the first
  // root stays until TearDown, as another machine's would.
  void FreshRoot() {
    CloseEngine();
    images_.reset();
    content_.reset();
    old_roots_.push_back(root_);
    root_ = MakeTempDir("kiln-solver");
    auto stores = OpenStores(root_);
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    content_ = std::move(stores->content);
    images_ = std::move(stores->images);
    ASSERT_TRUE(ImportBusybox(root_, *content_, *images_).ok());
    ASSERT_NO_FATAL_FAILURE(OpenEngine());
  }

  // Builds once, recording, and exports the cache into a new layout_.
  void BuildAndExport(SolveResult* built) {
    CacheRecorder recorder;
    SolveRequest first;
    first.cache_recorder = &recorder;
    auto solved = Solve(Build(), first);
    ASSERT_TRUE(solved.ok()) << solved.status().ToString();
    *built = *std::move(solved);
    layout_ = MakeTempDir("kiln-cache-layout");
    CacheSpec out{.type = "local", .attrs = {{"dest", layout_}}};
    auto exported = ExportCache(out, recorder, {built->snapshot}, Services());
    ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  }

  // On a fresh root, solves Build() with layout_ imported.
  void SolveFromLayout(RecordingSink* sink, SolveResult* reused) {
    ASSERT_NO_FATAL_FAILURE(FreshRoot());
    CacheSpec in{.type = "local", .attrs = {{"src", layout_}}};
    auto cache = ImportedCache::Load(in, Services());
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    SolveRequest second;
    second.cache_imports = {cache->get()};
    second.progress = sink;
    auto solved = Solve(Build(), second);
    ASSERT_TRUE(solved.ok()) << solved.status().ToString();
    *reused = *std::move(solved);
  }

  std::vector<std::string> old_roots_;
  std::string layout_;
};

TEST_F(SolverCacheImportTest, ImportedResultsAnswerAFreshRoot) {
  CacheRecorder recorder;
  SolveRequest first;
  first.cache_recorder = &recorder;
  auto built = Solve(Build(), first);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->stats.executed, 2);
  EXPECT_EQ(recorder.Entries().size(), 2u);
  layout_ = MakeTempDir("kiln-cache-layout");
  CacheSpec out{.type = "local", .attrs = {{"dest", layout_}}};
  auto exported = ExportCache(out, recorder, {built->snapshot}, Services());
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();

  ASSERT_NO_FATAL_FAILURE(FreshRoot());
  CacheSpec in{.type = "local", .attrs = {{"src", layout_}}};
  auto cache = ImportedCache::Load(in, Services());
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  SolveRequest second;
  second.cache_imports = {cache->get()};
  CacheRecorder again;
  second.cache_recorder = &again;
  auto reused = Solve(Build(), second);
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  EXPECT_EQ(reused->stats.executed, 0);
  EXPECT_EQ(reused->stats.cached, 2);
  EXPECT_EQ(ReadResultFile(*reused, "/one.txt"), "one\n");
  EXPECT_EQ(ReadResultFile(*reused, "/two.txt"), "two\n");
  EXPECT_EQ(again.Entries().size(), 2u);  // cached results are recorded too
  // The pulled blobs are the layers an image export of this root uses.
  auto layer = solver_->layers().GetLayer(reused->snapshot);
  ASSERT_TRUE(layer.has_value());
  EXPECT_TRUE(content_->Has(layer->descriptor.digest));

  // Recorded locally: without the import the next solve is a local hit.
  auto local = Solve(Build());
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->stats.executed, 0);
  EXPECT_EQ(local->snapshot, reused->snapshot);
}

TEST_F(SolverCacheImportTest, AMissingBlobMakesTheStepRun) {
  SolveResult built;
  ASSERT_NO_FATAL_FAILURE(BuildAndExport(&built));
  // The top layer's blob (the second RUN's) goes missing.
  auto top = solver_->layers().GetLayer(built.snapshot);
  ASSERT_TRUE(top.has_value());
  fs::remove(layout_ + "/blobs/sha256/" +
             std::string(top->descriptor.digest.hex()));

  RecordingSink sink;
  SolveResult reused;
  ASSERT_NO_FATAL_FAILURE(SolveFromLayout(&sink, &reused));
  EXPECT_EQ(reused.stats.cached, 1);
  EXPECT_EQ(reused.stats.executed, 1);
  EXPECT_EQ(ReadResultFile(reused, "/two.txt"), "two\n");
  EXPECT_NE(sink.logs().find("could not be used"), std::string::npos)
      << sink.logs();
}

// A record is untrusted input: one giving fewer results than the op has
// outputs (here none) is no answer — the step runs, nothing crashes, and
// the local index never learns the bad record.
TEST_F(SolverCacheImportTest, ARecordWithoutItsResultsMakesTheStepRun) {
  SolveResult built;
  ASSERT_NO_FATAL_FAILURE(BuildAndExport(&built));
  // Rewrite the cache config with every record's results emptied, then the
  // manifest and index.json that name it.
  using Json = nlohmann::json;
  auto blob = [&](const Json& d) {
    std::string digest = d["digest"].get<std::string>();
    return layout_ + "/blobs/sha256/" + digest.substr(7);
  };
  auto put = [&](const std::string& bytes, Json& d) {
    Digest digest = Digest::FromBytes(bytes);
    WriteFile(layout_ + "/blobs/sha256/" + std::string(digest.hex()), bytes);
    d["digest"] = digest.str();
    d["size"] = bytes.size();
  };
  Json index = Json::parse(ReadFile(layout_ + "/index.json"));
  ASSERT_EQ(index["manifests"].size(), 1u);
  Json manifest = Json::parse(ReadFile(blob(index["manifests"][0])));
  Json config = Json::parse(ReadFile(blob(manifest["config"])));
  ASSERT_FALSE(config["records"].empty());
  for (Json& r : config["records"]) r["results"] = Json::array();
  put(config.dump(), manifest["config"]);
  put(manifest.dump(), index["manifests"][0]);
  WriteFile(layout_ + "/index.json", index.dump());

  RecordingSink sink;
  SolveResult reused;
  ASSERT_NO_FATAL_FAILURE(SolveFromLayout(&sink, &reused));
  EXPECT_EQ(reused.stats.executed, 2);
  EXPECT_EQ(reused.stats.cached, 0);
  EXPECT_EQ(ReadResultFile(reused, "/two.txt"), "two\n");
  EXPECT_NE(sink.logs().find("0 results for 1 outputs"), std::string::npos)
      << sink.logs();
}

}  // namespace
}  // namespace kiln::solver::testing
