// Solver::DiskUsage and Solver::Prune (gc.h) over file-op builds.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "gc_test_util.h"
#include "kiln/llb/source.h"
#include "kiln/solver/cache_mounts.h"

namespace kiln::solver::gc_test {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMiB = 1 << 20;

llb::State TwoFiles(uint32_t seed) {
  return llb::Scratch()
      .File(llb::Mkfile("/a", 0644, Data(3 * kMiB, seed)))
      .File(llb::Mkfile("/b", 0644, Data(kMiB, seed + 1)));
}

llb::State OneFile(const std::string& path, size_t size, uint32_t seed) {
  return llb::Scratch().File(llb::Mkfile(path, 0644, Data(size, seed)));
}

std::set<std::string> Descriptions(const std::vector<UsageRecord>& records) {
  std::set<std::string> out;
  for (const UsageRecord& r : records) out.insert(r.description);
  return out;
}

TEST_F(GcTest, DiskUsageReportsEachSnapshotWithItsSizeOnDisk) {
  ASSERT_TRUE(Solve(TwoFiles(1)).ok());
  std::vector<UsageRecord> records = Records();
  ASSERT_EQ(records.size(), 2u);
  UsageRecord a = Find(records, "mkfile /a");
  UsageRecord b = Find(records, "mkfile /b");
  EXPECT_EQ(a.type, "regular");
  EXPECT_EQ(a.id.size(), 25u);
  EXPECT_NE(a.id, b.id);
  EXPECT_GE(a.size, int64_t{3 * kMiB});
  EXPECT_GE(b.size, int64_t{kMiB});
  EXPECT_EQ(b.parents, std::vector<std::string>{a.id});
  EXPECT_TRUE(a.parents.empty());
  EXPECT_FALSE(a.in_use || a.shared || a.is_mutable);
  EXPECT_EQ(a.usage_count, 1);
  EXPECT_GT(a.created_at_ns, 0);
  EXPECT_GE(a.last_used_at_ns, a.created_at_ns);
  // Every byte of the snapshot trees is in exactly one record (overlay: b
  // holds only /b; copy: b holds a full copy).
  int64_t measured = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           root_.path() + "/snapshots/snapshots")) {
    measured += MeasureBytes(entry.path());
  }
  EXPECT_EQ(Total(records), measured);
}

TEST_F(GcTest, ACacheHitAndAUseAsParentCountAsUse) {
  ASSERT_TRUE(Solve(TwoFiles(1)).ok());
  UsageRecord before = Find(Records(), "mkfile /a");
  std::this_thread::sleep_for(5ms);
  auto again = Solve(TwoFiles(1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->stats.cached, 2);
  UsageRecord after = Find(Records(), "mkfile /a");
  EXPECT_EQ(after.usage_count, 2);
  EXPECT_GT(after.last_used_at_ns, before.last_used_at_ns);
  EXPECT_EQ(after.created_at_ns, before.created_at_ns);
  // A new op on top of /a uses it as a parent.
  ASSERT_TRUE(Solve(llb::Scratch()
                        .File(llb::Mkfile("/a", 0644, Data(3 * kMiB, 1)))
                        .File(llb::Mkfile("/c", 0644, "c")))
                  .ok());
  EXPECT_EQ(Find(Records(), "mkfile /a").usage_count, 3);
}

TEST_F(GcTest, FiltersSelectRecordsAndBadOnesAreInvalidArgument) {
  ASSERT_TRUE(Solve(TwoFiles(1)).ok());
  UsageRecord a = Find(Records(), "mkfile /a");
  EXPECT_EQ(Records({"type==regular"}).size(), 2u);
  EXPECT_EQ(Records({"type==exec.cachemount"}).size(), 0u);
  auto by_id = Records({"id==" + a.id});
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(by_id[0].description, "mkfile /a");
  EXPECT_EQ(Descriptions(Records({"description~=/b$"})),
            std::set<std::string>{"mkfile /b"});
  EXPECT_EQ(Records({"type==regular,description!=mkfile /a"}).size(), 1u);
  EXPECT_EQ(Records({"type==regular", "id==" + a.id}).size(), 1u);
  EXPECT_EQ(Records({"until=1h"}).size(), 0u);  // both used just now
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Records({"until=10ms"}).size(), 2u);
  for (const std::string bad :
       {"bogus", "size==1", "description~=(", "until=soon", "id="}) {
    auto r = solver_->DiskUsage({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("filter \"" + bad + "\""),
              std::string::npos)
        << r.status().message();
  }
}

TEST_F(GcTest, PruneAllRemovesChildrenFirstAndTheOpsRunAgain) {
  auto first = Solve(TwoFiles(7));
  ASSERT_TRUE(first.ok());
  auto removed = solver_->Prune({.all = true});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  ASSERT_EQ(removed->size(), 2u);
  EXPECT_EQ((*removed)[0].description, "mkfile /b");  // the child first
  EXPECT_EQ((*removed)[1].description, "mkfile /a");
  EXPECT_TRUE(Records().empty());
  EXPECT_LT(MeasureBytes(root_.path() + "/snapshots/snapshots"), 64 << 10);

  auto second = Solve(TwoFiles(7));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stats.executed, 2);  // nothing stale was found
  EXPECT_EQ(second->cache_key, first->cache_key);
  EXPECT_EQ(ResultFile(*second, "/a"), Data(3 * kMiB, 7));
  EXPECT_EQ(ResultFile(*second, "/b"), Data(kMiB, 8));
}

TEST_F(GcTest, AHeldResultSurvivesPruneUntilReleased) {
  auto first = Solve(TwoFiles(9));
  ASSERT_TRUE(first.ok());
  auto hold = solver_->Hold(first->snapshot);
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  auto removed = solver_->Prune({.all = true});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_TRUE(removed->empty());  // the result and the chain below it
  EXPECT_EQ(ResultFile(*first, "/b"), Data(kMiB, 10));
  hold->reset();
  removed = solver_->Prune({.all = true});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 2u);
  auto gone = solver_->Hold(first->snapshot);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
}

TEST_F(GcTest, PruneHonoursFiltersAndKeepDuration) {
  ASSERT_TRUE(Solve(OneFile("/x", kMiB, 1)).ok());
  ASSERT_TRUE(Solve(OneFile("/y", kMiB, 2)).ok());
  auto kept = solver_->Prune({.keep_duration_ns = 3600'000'000'000});
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
  auto x = solver_->Prune({.filters = {"description==mkfile /x"}});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x->size(), 1u);
  EXPECT_EQ((*x)[0].description, "mkfile /x");
  EXPECT_EQ(Descriptions(Records()), std::set<std::string>{"mkfile /y"});
  std::this_thread::sleep_for(20ms);
  auto old = solver_->Prune({.keep_duration_ns = 10'000'000});
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->size(), 1u);
  EXPECT_TRUE(Records().empty());
  EXPECT_EQ(solver_->Prune({.filters = {"nope"}}).status().code(),
            StatusCode::kInvalidArgument);
}

// Three 1MiB builds, then x used again: LRU order y, z, x.
class GcLruTest : public GcTest {
 protected:
  void SetUp() override {
    GcTest::SetUp();
    for (const char* name : {"/x", "/y", "/z", "/x"}) {
      ASSERT_TRUE(Solve(OneFile(name, kMiB, name[1])).ok());
      std::this_thread::sleep_for(5ms);
    }
    records_ = Records();
    ASSERT_EQ(records_.size(), 3u);
  }
  int64_t SizeOf(const std::string& d) { return Find(records_, d).size; }
  std::vector<UsageRecord> records_;
};

TEST_F(GcLruTest, MaxUsedSpacePrunesLeastRecentlyUsedFirst) {
  const int64_t max = Total(records_) - SizeOf("mkfile /y") / 2;
  auto removed = solver_->Prune({.max_used_space = max});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(Descriptions(*removed), std::set<std::string>{"mkfile /y"});
  EXPECT_LE(Total(Records()), max);
  EXPECT_EQ(Descriptions(Records()),
            (std::set<std::string>{"mkfile /x", "mkfile /z"}));
}

TEST_F(GcLruTest, ReservedSpaceKeepsThatMuch) {
  const int64_t reserved = SizeOf("mkfile /x") + 1;
  auto removed = solver_->Prune({.reserved_space = reserved});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(Descriptions(*removed),
            (std::set<std::string>{"mkfile /y", "mkfile /z"}));
  // Also with a max below it: never under the reserved space.
  auto none = solver_->Prune({.reserved_space = reserved, .max_used_space = 1});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(Descriptions(Records()), std::set<std::string>{"mkfile /x"});
}

TEST_F(GcLruTest, MinFreeSpaceBeyondTheDiskPrunesEverything) {
  auto removed = solver_->Prune({.min_free_space = int64_t{1} << 60});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 3u);
  // Satisfied: nothing to do.
  ASSERT_TRUE(Solve(OneFile("/w", kMiB, 9)).ok());
  auto none = solver_->Prune({.min_free_space = 1});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Blocks the solve when `name` starts, until released.
class GateSink : public ProgressSink {
 public:
  explicit GateSink(std::string name) : name_(std::move(name)) {}
  void OnVertex(const VertexProgress& v) override {
    if (v.name != name_ || v.completed.has_value()) return;
    std::unique_lock<std::mutex> lock(mu_);
    reached_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void OnStatus(const VertexStatusEntry&) override {}
  void OnLog(const VertexLogEntry&) override {}
  void OnWarning(const VertexWarningEntry&) override {}
  void WaitReached() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return reached_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool reached_ = false, open_ = false;
};

TEST_F(GcTest, WhatARunningSolveUsesIsInUseAndNeverPruned) {
  ASSERT_TRUE(Solve(OneFile("/other", kMiB, 3)).ok());
  ASSERT_TRUE(Solve(OneFile("/a", kMiB, 4)).ok());
  GateSink gate("mkfile /b");
  SolveRequest request;
  request.progress = &gate;
  Result<SolveResult> result = InternalError("not run");
  std::thread build([&] {
    result = Solve(OneFile("/a", kMiB, 4).File(llb::Mkfile("/b", 0644, "b")),
                   request);
  });
  gate.WaitReached();
  std::vector<UsageRecord> during = Records();
  EXPECT_TRUE(Find(during, "mkfile /a").in_use);
  EXPECT_FALSE(Find(during, "mkfile /other").in_use);
  auto removed = solver_->Prune({.all = true});
  gate.Open();
  build.join();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(Descriptions(*removed), std::set<std::string>{"mkfile /other"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ResultFile(*result, "/a"), Data(kMiB, 4));
  EXPECT_FALSE(Find(Records(), "mkfile /a").in_use);
}

TEST_F(GcTest, CacheMountsAreRecordsInUseWhileLeased) {
  auto mounts = CacheMounts::Open(root_.path() + "/solver/cachemounts");
  ASSERT_TRUE(mounts.ok());
  auto lease = (*mounts)->Acquire(
      "go-build", CacheSharing::kShared,
      [](const std::string& dir) {
        testing::WriteFile(dir + "/f", Data(kMiB, 5));
        return Status::Ok();
      },
      std::stop_token());
  ASSERT_TRUE(lease.ok());
  UsageRecord r = Find(Records(), "cached mount with id \"go-build\"");
  EXPECT_EQ(r.type, "exec.cachemount");
  EXPECT_TRUE(r.in_use && r.is_mutable);
  EXPECT_GE(r.size, int64_t{kMiB});
  EXPECT_EQ(r.usage_count, 1);
  auto kept = solver_->Prune({.all = true});
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
  ASSERT_TRUE(lease->Release().ok());
  auto removed = solver_->Prune({.filters = {"type==exec.cachemount"}});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_TRUE(Records().empty());
}

TEST_F(GcTest, LocalSourcesAreRecordsAndPrunable) {
  testing::TempDir context("kiln-gc-ctx-");
  testing::WriteFile(context.path() + "/big", Data(kMiB, 6));
  SolveRequest request;
  request.locals["ctx"] = context.path();
  auto result =
      Solve(llb::Scratch().File(llb::Copy(llb::Local("ctx"), "/big", "/big")),
            request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto local = Records({"type==source.local"});
  ASSERT_FALSE(local.empty());
  int64_t local_bytes = Total(local);
  EXPECT_GE(local_bytes, int64_t{kMiB});
  auto removed = solver_->Prune({.filters = {"type==source.local"}});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), local.size());
  EXPECT_TRUE(Records({"type==source.local"}).empty());
  EXPECT_LT(MeasureBytes(root_.path() + "/solver/locals"), 64 << 10);
  // The next build syncs again and gives the same result.
  auto again =
      Solve(llb::Scratch().File(llb::Copy(llb::Local("ctx"), "/big", "/big")),
            request);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ResultFile(*again, "/big"), Data(kMiB, 6));
}

}  // namespace
}  // namespace kiln::solver::gc_test
