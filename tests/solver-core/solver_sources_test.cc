// git:// and http:// sources through the Solver: a local repository (over
// file://, via git.fullurl) with keep_git_dir and a subdir, a file served by
// an in-test HTTP server with http.filename and http.perm, an exec reading
// both, and a second solve answered from the cache.
//
// llb::Git() rejects file:// URLs (they are a kiln addition, git_source.h),
// so the definitions name a placeholder https remote and the test rewrites
// git.fullurl in the marshaled ops, recomputing the digests of the op and of
// everything downstream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/source.h"
#include "support/registry_http_server.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using ::testing::HasSubstr;
using testing::RunCommand;
using testing::WriteFile;

constexpr char kPlaceholder[] = "https://git.invalid/repo.git";

// Replaces git.fullurl of every git source naming kPlaceholder by `url`.
Result<pb::Definition> PointGitAt(const pb::Definition& def,
                                  const std::string& url) {
  pb::Definition out = def;
  out.clear_def();
  out.clear_metadata();
  std::map<std::string, std::string> renamed;  // old digest → new
  for (const std::string& bytes : def.def()) {
    pb::Op op;
    if (!op.ParseFromString(bytes)) return InvalidArgumentError("bad op");
    for (pb::Input& in : *op.mutable_inputs()) {
      if (auto it = renamed.find(in.digest()); it != renamed.end()) {
        in.set_digest(it->second);
      }
    }
    if (op.has_source()) {
      auto& attrs = *op.mutable_source()->mutable_attrs();
      if (auto it = attrs.find("git.fullurl");
          it != attrs.end() && it->second == kPlaceholder) {
        it->second = url;
      }
    }
    std::string rewritten;
    if (!op.SerializeToString(&rewritten)) return InternalError("serialize");
    const std::string old_digest = Digest::FromBytes(bytes).str();
    const std::string new_digest = Digest::FromBytes(rewritten).str();
    if (old_digest != new_digest) renamed[old_digest] = new_digest;
    out.add_def(rewritten);
    if (auto it = def.metadata().find(old_digest); it != def.metadata().end()) {
      (*out.mutable_metadata())[new_digest] = it->second;
    }
  }
  return out;
}

class SolverSourcesTest : public testing::SolverTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SolverTest::SetUp());
    if (IsSkipped()) return;
    if (!testing::HaveProgram("git")) {
      KILN_SKIP_UNLESS_REQUIRED("git is not installed");
    }
    repo_ = repo_dir_.path() + "/repo";
    Git({"init", "--quiet", "-b", "main", repo_});
    WriteFile(repo_ + "/README", "readme\n");
    WriteFile(repo_ + "/sub/inner.txt", "inner\n");
    WriteFile(repo_ + "/sub/deeper/x.txt", "x\n");
    Git({"-C", repo_, "add", "-A"});
    Git({"-C", repo_, "commit", "--quiet", "-m", "first"});
    commit_ = Git({"-C", repo_, "rev-parse", "HEAD"});
    auto server =
        testing::TestHttpServer::Start([](const testing::TestHttpRequest& req) {
          testing::TestHttpResponse resp;
          if (req.Path() == "/files/payload.bin") {
            resp.body = "payload over http\n";
            resp.headers.push_back({"Content-Type", "text/plain"});
          } else {
            resp.status = 404;
          }
          return resp;
        });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    http_ = std::move(*server);
  }

  std::string Git(std::vector<std::string> args) {
    args.insert(args.begin(),
                {"git", "-c", "user.name=kiln", "-c",
                 "user.email=kiln@example.com", "-c", "commit.gpgsign=false"});
    auto r = RunCommand(args, /*merge_stderr=*/false);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find('\n'));
  }

  Result<SolveResult> SolveWithRepo(const llb::State& state,
                                    const SolveRequest& request = {}) {
    KILN_ASSIGN_OR_RETURN(pb::Definition def, state.Marshal());
    KILN_ASSIGN_OR_RETURN(pb::Definition patched,
                          PointGitAt(def, "file://" + repo_));
    return SolveDefinition(patched, request);
  }

  testing::TempDir repo_dir_{"kiln-git-repo"};
  std::string repo_;
  std::string commit_;
  std::unique_ptr<testing::TestHttpServer> http_;
};

TEST_F(SolverSourcesTest, GitKeepGitDirThenCached) {
  llb::State git = llb::Git(kPlaceholder, "main", {.keep_git_dir = true});
  auto first = SolveWithRepo(git);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto tree = Tree(*first);
  EXPECT_EQ(ReadResultFile(*first, "/README"), "readme\n");
  EXPECT_EQ(ReadResultFile(*first, "/sub/inner.txt"), "inner\n");
  EXPECT_EQ(tree.count(".git"), 1u) << "keep_git_dir lost the .git dir";
  auto second = SolveWithRepo(git);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->snapshot, first->snapshot);
  EXPECT_EQ(second->stats.executed, 0);

  // Without keep_git_dir: no .git.
  auto plain = SolveWithRepo(llb::Git(kPlaceholder, "main"));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(Tree(*plain).count(".git"), 0u);
  EXPECT_EQ(ReadResultFile(*plain, "/README"), "readme\n");
}

TEST_F(SolverSourcesTest, GitSubdirAndHttpReadByAnExecThenCached) {
  llb::State git = llb::Git(kPlaceholder, "main", {.subdir = "sub"});
  llb::State http = llb::Http(http_->url() + "/files/payload.bin",
                              {.filename = "renamed.txt", .perm = 0750});
  llb::State state =
      Busybox()
          .Run({.args = {"/bin/sh", "-c",
                         "ls /git > /git.ls; cat /git/inner.txt > /inner; "
                         "cat /http/renamed.txt > /payload; "
                         "stat -c %a /http/renamed.txt > /perm; ls /http > "
                         "/http.ls"},
                .mounts = {llb::Mount::Bind("/git", git).Readonly(),
                           llb::Mount::Bind("/http", http).Readonly()}})
          .Root();
  auto first = SolveWithRepo(state);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(ReadResultFile(*first, "/git.ls"), "deeper\ninner.txt\n");
  EXPECT_EQ(ReadResultFile(*first, "/inner"), "inner\n");
  EXPECT_EQ(ReadResultFile(*first, "/payload"), "payload over http\n");
  EXPECT_EQ(ReadResultFile(*first, "/perm"), "750\n");
  EXPECT_EQ(ReadResultFile(*first, "/http.ls"), "renamed.txt\n");
  EXPECT_GE(first->stats.executed, 1);
  const int requests = http_->requests();
  EXPECT_GE(requests, 1);

  auto second = SolveWithRepo(state);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stats.executed, 0);
  EXPECT_EQ(second->snapshot, first->snapshot);
  EXPECT_EQ(ReadResultFile(*second, "/payload"), "payload over http\n");

  // Reopened engine: still cached.
  CloseEngine();
  ASSERT_NO_FATAL_FAILURE(OpenEngine());
  auto third = SolveWithRepo(state);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->stats.executed, 0);
  EXPECT_EQ(third->snapshot, first->snapshot);
}

// Provenance materials: each image, git and http source the solve resolved,
// with what it resolved to, recorded even when the solve is cached.
TEST_F(SolverSourcesTest, ResolvedSourcesAreRecorded) {
  llb::State git = llb::Git(kPlaceholder, "main");
  llb::State http = llb::Http(http_->url() + "/files/payload.bin");
  llb::State state =
      Busybox()
          .Run({.args = {"/bin/sh", "-c", "cat /http/* > /out"},
                .mounts = {llb::Mount::Bind("/git", git).Readonly(),
                           llb::Mount::Bind("/http", http).Readonly()}})
          .Root();
  for (int round = 0; round < 2; ++round) {
    SourceRecorder recorder;
    SolveRequest request;
    request.resolved_sources = &recorder;
    auto solved = SolveWithRepo(state, request);
    ASSERT_TRUE(solved.ok()) << solved.status().ToString();
    std::map<std::string, ResolvedSource> by_kind;
    for (const ResolvedSource& s : recorder.Sources()) {
      by_kind[s.identifier.substr(0, s.identifier.find("://"))] = s;
    }
    ASSERT_EQ(by_kind.size(), 3u) << "round " << round;
    EXPECT_EQ(by_kind["git"].digest, "sha1:" + commit_);
    EXPECT_THAT(by_kind["git"].identifier, HasSubstr("git.invalid/repo.git"));
    EXPECT_EQ(by_kind["http"].digest,
              Digest::FromBytes("payload over http\n").str());
    EXPECT_THAT(by_kind["docker-image"].identifier, HasSubstr("busybox"));
    EXPECT_THAT(by_kind["docker-image"].digest, HasSubstr("sha256:"));
    EXPECT_FALSE(by_kind["docker-image"].platform.os.empty());
  }
}

TEST_F(SolverSourcesTest, HttpNotFoundFailsNamingTheUrl) {
  const std::string url = http_->url() + "/files/missing.bin";
  auto r = Solve(llb::Http(url));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("missing.bin"));
}

}  // namespace
}  // namespace kiln::solver
