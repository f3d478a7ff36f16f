// Integration tests of the Solver: real runc, overlay snapshots, busybox.
#include "kiln/solver/solver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>

#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::WriteFile;

class SolverRunTest : public testing::SolverTest {};

llb::State Sh(const llb::State& base, const std::string& script) {
  return base.Run({.args = {"/bin/sh", "-c", script}}).Root();
}

TEST_F(SolverRunTest, RunsAnExecAndKeepsItsOutput) {
  testing::RecordingSink sink;
  SolveRequest request;
  request.progress = &sink;
  auto result =
      Solve(Sh(Busybox(), "echo hello > /out.txt; echo logged"), request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadResultFile(*result, "/out.txt"), "hello\n");
  EXPECT_EQ(result->stats.executed, 1);
  EXPECT_EQ(result->stats.cached, 0);
  EXPECT_THAT(sink.logs(), HasSubstr("logged"));
  // busybox's own files are there too (the image is the parent).
  EXPECT_EQ(Tree(*result).count("bin/busybox"), 1u);
}

TEST_F(SolverRunTest, SecondSolveIsAnsweredFromTheCache) {
  llb::State state = Sh(Sh(Busybox(), "echo 1 > /a"), "cat /a > /b");
  auto first = Solve(state);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->stats.executed, 2);
  // Reopened engine: the cache is persistent.
  CloseEngine();
  ASSERT_NO_FATAL_FAILURE(OpenEngine());
  testing::RecordingSink sink;
  SolveRequest request;
  request.progress = &sink;
  auto second = Solve(state, request);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stats.executed, 0);
  EXPECT_EQ(second->stats.cached, 2);
  EXPECT_EQ(second->snapshot, first->snapshot);
  EXPECT_EQ(ReadResultFile(*second, "/b"), "1\n");
  int cached_events = 0;
  for (const VertexProgress& v : sink.vertices()) {
    if (v.completed.has_value() && v.cached) ++cached_events;
  }
  EXPECT_EQ(cached_events, 2);
}

TEST_F(SolverRunTest, IgnoreCacheRunsAgain) {
  llb::State base = Busybox();
  llb::ExecState run = base.Run(
      {.args = {"/bin/sh", "-c", "cat /proc/sys/kernel/random/uuid > /t"},
       .op = {.ignore_cache = true}});
  auto first = Solve(run.Root());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Solve(run.Root());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stats.executed, 1);
  EXPECT_NE(ReadResultFile(*first, "/t"), ReadResultFile(*second, "/t"));
}

TEST_F(SolverRunTest, IndependentExecsRunInParallel) {
  // Each exec announces itself in a shared cache mount and waits (at most
  // 30 s) for the other: run one after the other, the first would give up
  // and fail. No timing threshold, so a loaded machine cannot make it flaky.
  // A fresh cache id, so this also covers two first leases of one id.
  auto meet = [this](const std::string& self, const std::string& other) {
    llb::RunOptions run;
    run.args = {"/bin/sh", "-c",
                "touch /meet/" + self + "; i=0; while [ ! -e /meet/" + other +
                    " ]; do i=$((i+1)); [ $i -gt 30 ] && exit 7; sleep 1; "
                    "done; echo " +
                    self + " > /" + self};
    run.mounts.push_back(llb::Mount::Cache("/meet", "parallel-meet"));
    return Busybox().Run(run).Root();
  };
  auto result = Solve(llb::Merge({meet("a", "b"), meet("b", "a")}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadResultFile(*result, "/a"), "a\n");
  EXPECT_EQ(ReadResultFile(*result, "/b"), "b\n");
}

TEST_F(SolverRunTest, FailedExecNamesTheOpCommandExitCodeAndOutput) {
  llb::State bad = Sh(Busybox(), "echo about to fail; exit 3");
  llb::State after = Sh(bad, "echo never > /never");
  auto result = Solve(after);
  ASSERT_FALSE(result.ok());
  const std::string msg = result.status().message();
  EXPECT_THAT(msg, HasSubstr("/bin/sh -c echo about to fail; exit 3"));
  EXPECT_THAT(msg, HasSubstr("exit code: 3"));
  EXPECT_THAT(msg, HasSubstr("about to fail"));
  EXPECT_THAT(msg, HasSubstr("(op sha256:"));
  // Nothing was recorded for the failed op: a second try runs it again.
  auto again = Solve(after);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("exit code: 3"));
}

TEST_F(SolverRunTest, CancelKillsRunningExecAndLeavesNoWork) {
  llb::State slow = Sh(Busybox(), "sleep 60");
  auto def = slow.Marshal();
  ASSERT_TRUE(def.ok());
  auto loaded = llb::LoadDefinition(*def);
  ASSERT_TRUE(loaded.ok());
  auto graph = BuildGraph(*loaded);
  ASSERT_TRUE(graph.ok());
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    stop.request_stop();
  });
  auto start = std::chrono::steady_clock::now();
  auto result = solver_->Solve(*graph, {}, stop.get_token());
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled)
      << result.status().ToString();
  auto all = snapshots_->List();
  ASSERT_TRUE(all.ok());
  for (const SnapshotInfo& info : *all) {
    EXPECT_NE(info.kind, SnapshotKind::kActive) << info.name;
  }
}

TEST_F(SolverRunTest, CopyFromLocalStaysCachedWhenAnotherFileChanges) {
  std::string ctx = root_ + "/ctx";
  WriteFile(ctx + "/a.txt", "aaa\n");
  WriteFile(ctx + "/b.txt", "bbb\n");
  llb::State copied =
      Busybox().File(llb::Copy(llb::Local("context"), "/a.txt", "/app/"));
  llb::State built = Sh(copied, "cat /app/a.txt > /app/seen");
  SolveRequest request;
  request.locals["context"] = ctx;
  auto first = Solve(built, request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(ReadResultFile(*first, "/app/seen"), "aaa\n");
  EXPECT_EQ(first->stats.executed, 2);

  WriteFile(ctx + "/b.txt", "changed\n");
  auto second = Solve(built, request);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stats.executed, 0);

  WriteFile(ctx + "/a.txt", "new a\n");
  auto third = Solve(built, request);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->stats.executed, 2);
  EXPECT_EQ(ReadResultFile(*third, "/app/seen"), "new a\n");
}

TEST_F(SolverRunTest, FileOpsMergeAndDiff) {
  llb::State base =
      llb::Scratch().File(llb::Mkdir("/d", 0755).Mkfile("/d/f", 0640, "data"));
  llb::State other = llb::Scratch().File(llb::Mkfile("/g", 0600, "g"));
  llb::State merged = llb::Merge({base, other});
  auto result = Solve(merged);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto tree = Tree(*result);
  EXPECT_EQ(tree["d/f"], "f 0640 data");
  EXPECT_EQ(tree["g"], "f 0600 g");

  llb::State upper = Sh(Busybox(), "echo new > /new.txt");
  auto diff = Solve(llb::Diff(Busybox(), upper));
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  auto diff_tree = Tree(*diff);
  EXPECT_EQ(diff_tree["new.txt"], "f 0644 new\n");
  EXPECT_EQ(diff_tree.count("bin/busybox"), 0u);
}

TEST_F(SolverRunTest, IdenticalVerticesInConcurrentSolvesRunOnce) {
  // Different final ops, one shared slow step.
  llb::State shared =
      Sh(Busybox(), "sleep 1; cat /proc/sys/kernel/random/uuid > /id");
  llb::State a = Sh(shared, "cp /id /a");
  llb::State b = Sh(shared, "cp /id /b");
  Result<SolveResult> ra = InternalError("not run");
  Result<SolveResult> rb = InternalError("not run");
  std::thread ta([&] { ra = Solve(a); });
  std::thread tb([&] { rb = Solve(b); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  // The shared step ran once: both saw the same id, and across both solves
  // three execs ran (shared once, a, b) and one was answered by the other.
  EXPECT_EQ(ReadResultFile(*ra, "/a"), ReadResultFile(*rb, "/b"));
  EXPECT_EQ(ra->stats.executed + rb->stats.executed, 3);
  EXPECT_EQ(ra->stats.cached + rb->stats.cached, 1);
}

TEST_F(SolverRunTest, CopyKeyFollowsOwnersAndWildcardSymlinkTargets) {
  std::string ctx = root_ + "/ctx";
  WriteFile(ctx + "/owned.txt", "same bytes\n");
  WriteFile(ctx + "/real/a.conf", "v1\n");
  ASSERT_EQ(symlink("real/a.conf", (ctx + "/link.conf").c_str()), 0);
  SolveRequest request;
  request.locals["context"] = ctx;

  // A chown that keeps the bytes still re-runs the copy.
  llb::State owned =
      llb::Scratch().File(llb::Copy(llb::Local("context"), "/owned.txt", "/"));
  auto first = Solve(owned, request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(lchown((ctx + "/owned.txt").c_str(), 1000, 1000), 0);
  auto chowned = Solve(owned, request);
  ASSERT_TRUE(chowned.ok()) << chowned.status().ToString();
  EXPECT_EQ(chowned->stats.executed, 1);
  EXPECT_NE(chowned->snapshot, first->snapshot);

  // A wildcard copy that follows symlinks re-runs when a matched link's
  // target changes, though the link itself does not.
  llb::State globbed =
      llb::Scratch().File(llb::Copy(llb::Local("context"), "/*.conf", "/out/",
                                    {.follow_symlinks = true,
                                     .create_dest_path = true,
                                     .allow_wildcard = true}));
  auto before = Solve(globbed, request);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(ReadResultFile(*before, "/out/link.conf"), "v1\n");
  WriteFile(ctx + "/real/a.conf", "v2 longer\n");
  auto after = Solve(globbed, request);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->stats.executed, 1);
  EXPECT_EQ(ReadResultFile(*after, "/out/link.conf"), "v2 longer\n");
}

TEST_F(SolverRunTest, OpenRemovesOutputSnapshotsNoRecordNames) {
  auto kept = Solve(Sh(Busybox(), "echo kept > /k"));
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  // An output committed but never recorded, as a crash between Commit and
  // the index Record leaves it.
  ASSERT_TRUE(snapshots_->Prepare("kiln-work/orphan", "").ok());
  ASSERT_TRUE(snapshots_->Commit("kiln/orphan/0/x", "kiln-work/orphan").ok());
  CloseEngine();
  ASSERT_NO_FATAL_FAILURE(OpenEngine());
  EXPECT_EQ(snapshots_->Stat("kiln/orphan/0/x").status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(snapshots_->Stat(kept->snapshot).ok());
  auto again = Solve(Sh(Busybox(), "echo kept > /k"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->stats.cached, 1);
}

TEST_F(SolverRunTest, MissingLocalIsAClearError) {
  auto result =
      Solve(Busybox().File(llb::Copy(llb::Local("context"), "/a", "/a")));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("local source \"context\" was not provided"));
}

}  // namespace
}  // namespace kiln::solver
