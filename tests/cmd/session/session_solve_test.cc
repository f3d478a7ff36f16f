// The solver's session hook: a local:// source that is not in
// SolveRequest::locals comes from SolveRequest::local_provider, synced into
// a tree keyed by the client's shared key, so a second session of the same
// client transfers nothing and hits the cache.
#include <gtest/gtest.h>

#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/session/session_providers.h"
#include "session_harness.h"
#include "support/solver_fixture.h"

namespace kiln::session {
namespace {

using solver::testing::WriteFile;

class SessionSolveTest : public solver::testing::SolverTest {};

TEST_F(SessionSolveTest, LocalFromSessionProviderAndReuseAcrossSessions) {
  testing::SessionHarness h;
  ASSERT_TRUE(h.ok());
  std::string ctx = h.dir() + "/ctx";
  for (int i = 0; i < 50; ++i) {
    WriteFile(ctx + "/f" + std::to_string(i),
              "file " + std::to_string(i) + "\n");
  }
  WriteFile(ctx + "/skip.log", "not wanted\n");
  auto build = [&](const std::string& session_id) {
    llb::State local = llb::Local(
        "context", {.session_id = session_id, .exclude_patterns = {"*.log"}});
    return llb::Scratch().File(llb::Copy(local, "/", "/out/"));
  };
  auto run = [&](TransferStats* stats) -> Result<solver::SolveResult> {
    auto client =
        h.Connect({.shared_key = "same-client", .dirs = {{"context", ctx}}});
    if (!client.ok()) return client.status();
    SessionLocalProvider provider(h.manager(), (*client)->id());
    solver::SolveRequest request;
    request.local_provider = &provider;
    auto result = Solve(build((*client)->id()), request);
    *stats = provider.stats();
    KILN_RETURN_IF_ERROR((*client)->Close());
    return result;
  };
  TransferStats first_stats;
  auto first = run(&first_stats);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto tree = Tree(*first);
  EXPECT_EQ(tree["out/f7"], "f 0644 file 7\n");
  EXPECT_EQ(tree.count("out/skip.log"), 0u);
  EXPECT_EQ(first_stats.files_requested, 50u);

  TransferStats second_stats;
  auto second = run(&second_stats);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second_stats.files_requested, 0u);
  EXPECT_EQ(second_stats.data_bytes, 0u);
  EXPECT_EQ(second_stats.entries_listed, 50u);
  EXPECT_EQ(second->stats.executed, 0);  // the copy is cached
  EXPECT_EQ(second->snapshot, first->snapshot);

  WriteFile(ctx + "/f3", "edited\n");
  TransferStats third_stats;
  auto third = run(&third_stats);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third_stats.files_requested, 1u);
  EXPECT_EQ(Tree(*third)["out/f3"], "f 0644 edited\n");
}

TEST_F(SessionSolveTest, WithoutLocalsOrProviderTheLocalIsNotFound) {
  auto result = Solve(
      llb::Scratch().File(llb::Copy(llb::Local("context"), "/", "/out/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound)
      << result.status().ToString();
}

}  // namespace
}  // namespace kiln::session
