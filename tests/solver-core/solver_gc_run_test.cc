// Automatic GC over RUN builds (runc, busybox): the acceptance loop of
// solver_gc_auto_test.cc with execs writing the new cache, on top of an
// image's layer snapshots.
#include <gtest/gtest.h>

#include <string>

#include "kiln/llb/exec.h"
#include "kiln/llb/state.h"
#include "support/solver_fixture.h"

namespace kiln::solver::testing {
namespace {

constexpr int64_t kMiB = 1 << 20;

class GcRunTest : public SolverTest {
 protected:
  void SetUp() override {
    SolverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    solver_.reset();
    auto solver = Solver::Open({.root = root_,
                                .images = images_.get(),
                                .snapshots = snapshots_.get(),
                                .executor = executor_.get(),
                                .gc_policies = {{.max_used_space = kLimit}}});
    ASSERT_TRUE(solver.ok()) << solver.status().ToString();
    solver_ = std::move(*solver);
  }
  static constexpr int64_t kLimit = 20 * kMiB;
};

TEST_F(GcRunTest, AutomaticGcKeepsRunBuildsUnderTheLimit) {
  for (int i = 0; i < 8; ++i) {
    const std::string n = std::to_string(i);
    auto result = Solve(
        Busybox()
            .Run({.args = {"/bin/sh", "-c",
                           "head -c 3145728 /dev/urandom > /data && echo " + n +
                               " > /n"}})
            .Root());
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto records = solver_->DiskUsage({});
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    int64_t total = 0, runs = 0;
    for (const UsageRecord& r : *records) {
      total += r.size;
      if (r.description.find("/dev/urandom") != std::string::npos) ++runs;
    }
    EXPECT_LE(total, kLimit) << "after build " << i;
    EXPECT_GE(runs, 1) << "after build " << i;
    if (i == 7) {
      EXPECT_LT(runs, 8);  // 8 runs made 24MiB: some were pruned
    }
    EXPECT_EQ(ReadResultFile(*result, "/n"), n + "\n");
    EXPECT_EQ(ReadResultFile(*result, "/data").size(), 3u * kMiB);
  }
}

}  // namespace
}  // namespace kiln::solver::testing
