// Fixture of the GC tests (solver_gc_test.cc, solver_gc_auto_test.cc): an
// engine without an executor (file ops only: no root or runc needed) in a
// temporary root, and helpers to build file-op graphs and measure the
// cache on disk independently of the code under test.
#ifndef KILN_TESTS_SOLVER_CORE_GC_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_GC_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/llb/file.h"
#include "kiln/llb/state.h"
#include "kiln/solver/gc.h"
#include "kiln/solver/solver.h"
#include "support/engine_setup.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver::gc_test {

// `size` pseudo-random bytes, different for each seed.
inline std::string Data(size_t size, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

// st_blocks bytes of everything under `path` (0 when missing), hard links
// counted once: an independent du.
inline int64_t MeasureBytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) return;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
        !seen.insert({st.st_dev, st.st_ino}).second) {
      return;
    }
    total += int64_t{st.st_blocks} * 512;
  };
  add(path);
  for (auto it = fs::recursive_directory_iterator(
           path, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    add(it->path());
  }
  return total;
}

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stores = testing::OpenStores(root_.path());
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    stores_ = std::move(*stores);
    Open();
  }
  void TearDown() override {
    solver_.reset();
    snapshots_.reset();
  }

  void Open(std::vector<PruneOptions> policies = {}) {
    solver_.reset();
    snapshots_.reset();
    auto snapshots =
        OpenSnapshotter(root_.path() + "/snapshots", SnapshotterKind::kAuto);
    ASSERT_TRUE(snapshots.ok()) << snapshots.status().ToString();
    snapshots_ = std::move(*snapshots);
    auto solver = Solver::Open({.root = root_.path(),
                                .images = stores_.images.get(),
                                .snapshots = snapshots_.get(),
                                .parallelism = 2,
                                .gc_policies = std::move(policies)});
    ASSERT_TRUE(solver.ok()) << solver.status().ToString();
    solver_ = std::move(*solver);
  }

  Result<SolveResult> Solve(const llb::State& state,
                            const SolveRequest& request = {}) {
    KILN_ASSIGN_OR_RETURN(pb::Definition def, state.Marshal());
    KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition loaded,
                          llb::LoadDefinition(def));
    KILN_ASSIGN_OR_RETURN(Graph graph, BuildGraph(loaded));
    return solver_->Solve(graph, request, std::stop_token());
  }

  std::vector<UsageRecord> Records(const std::vector<std::string>& f = {}) {
    auto records = solver_->DiskUsage(f);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    return records.ok() ? *records : std::vector<UsageRecord>{};
  }

  static int64_t Total(const std::vector<UsageRecord>& records) {
    int64_t total = 0;
    for (const UsageRecord& r : records) total += r.size;
    return total;
  }

  // The record whose description is `description` (fails when not one).
  static UsageRecord Find(const std::vector<UsageRecord>& records,
                          const std::string& description) {
    std::vector<UsageRecord> found;
    for (const UsageRecord& r : records) {
      if (r.description == description) found.push_back(r);
    }
    EXPECT_EQ(found.size(), 1u) << description;
    return found.empty() ? UsageRecord{} : found[0];
  }

  // The bytes of the engine's cache directories as du measures them:
  // snapshot trees, content blobs and the solver's caches.
  int64_t MeasuredCache() const {
    const std::string& r = root_.path();
    return MeasureBytes(r + "/snapshots/snapshots") +
           MeasureBytes(r + "/content/blobs") +
           MeasureBytes(r + "/solver/cachemounts") +
           MeasureBytes(r + "/solver/locals") +
           MeasureBytes(r + "/solver/git") + MeasureBytes(r + "/solver/http");
  }

  std::string ResultFile(const SolveResult& result, const std::string& path) {
    testing::MountedSnapshot mounted(*snapshots_, result.snapshot);
    return testing::ReadFile(mounted.path() + path);
  }

  testing::TempDir root_{"kiln-gc-"};
  testing::TestStores stores_;
  std::unique_ptr<Snapshotter> snapshots_;
  std::unique_ptr<Solver> solver_;
};

}  // namespace kiln::solver::gc_test

#endif  // KILN_TESTS_SOLVER_CORE_GC_TEST_UTIL_H_
