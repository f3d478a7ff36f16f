// Git sources against a real repository in a temp dir, over file://:
// identifier parsing, resolving every kind of ref, checkouts (files, modes,
// subdir, .git), clear errors, and concurrent resolves of one remote.
#include "kiln/solver/git_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::DumpTree;
using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;

pb::SourceOp Op(const std::string& identifier,
                const std::map<std::string, std::string>& attrs = {}) {
  pb::SourceOp op;
  op.set_identifier(identifier);
  for (const auto& [k, v] : attrs) (*op.mutable_attrs())[k] = v;
  return op;
}

TEST(GitSourceParseTest, IdentifierForms) {
  auto r = ParseGitSource(Op("git://github.com/moby/buildkit#v0.12:docs/"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->remote, "https://github.com/moby/buildkit");
  EXPECT_EQ(r->ref, "v0.12");
  EXPECT_EQ(r->subdir, "docs");
  EXPECT_FALSE(r->keep_git_dir);

  r = ParseGitSource(Op("git://git@github.com:moby/buildkit.git#main"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->remote, "git@github.com:moby/buildkit.git");
  EXPECT_EQ(r->ref, "main");
  EXPECT_EQ(r->subdir, "");

  r = ParseGitSource(Op("git://github.com/a/b#:/",
                        {{"git.fullurl", "https://user@github.com/a/b.git"},
                         {"git.keepgitdir", "true"},
                         {"git.authtokensecret", "GIT_AUTH_TOKEN"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->remote, "https://user@github.com/a/b.git");
  EXPECT_EQ(r->ref, "");
  EXPECT_EQ(r->subdir, "");
  EXPECT_TRUE(r->keep_git_dir);
  EXPECT_EQ(r->auth_token_secret, "GIT_AUTH_TOKEN");

  for (const char* bad :
       {"docker-image://alpine", "git://host/repo#--upload-pack=x",
        "git://host/repo#main:../etc", "git://"}) {
    auto b = ParseGitSource(Op(bad));
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << bad;
    if (!b.ok()) {
      EXPECT_NE(b.status().message().find(bad), std::string::npos)
          << b.status().message();
    }
  }
}

class GitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveProgram("git")) {
      KILN_SKIP_UNLESS_REQUIRED("git is not installed");
    }
    umask(022);
    repo_ = tmp_.path() + "/repo";
    cache_ = {.cache_dir = tmp_.path() + "/cache"};
    Git({"init", "--quiet", "-b", "main", repo_});
    WriteFile(repo_ + "/README", "one\n");
    WriteFile(repo_ + "/bin/run.sh", "#!/bin/sh\necho run\n");
    chmod((repo_ + "/bin/run.sh").c_str(), 0755);
    WriteFile(repo_ + "/sub/inner.txt", "inner\n");
    ASSERT_EQ(symlink("README", (repo_ + "/link").c_str()), 0);
    c1_ = Commit("first");
    Git({"-C", repo_, "tag", "-a", "-m", "release one", "v1"});
    Git({"-C", repo_, "checkout", "--quiet", "-b", "feature"});
    WriteFile(repo_ + "/feature.txt", "feature\n");
    c3_ = Commit("feature");
    Git({"-C", repo_, "checkout", "--quiet", "main"});
    WriteFile(repo_ + "/README", "two\n");
    c2_ = Commit("second");
  }

  std::string Git(std::vector<std::string> args) {
    args.insert(
        args.begin(),
        {"git", "-c", "user.name=kiln", "-c", "user.email=kiln@example.com",
         "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"});
    auto r = RunCommand(args, /*merge_stderr=*/false);
    EXPECT_EQ(r.exit_code, 0) << args[9] << ": " << r.output;
    return r.output.substr(0, r.output.find('\n'));
  }

  std::string Commit(const std::string& message) {
    Git({"-C", repo_, "add", "-A"});
    Git({"-C", repo_, "commit", "--quiet", "-m", message});
    return Git({"-C", repo_, "rev-parse", "HEAD"});
  }

  GitRef Ref(const std::string& fragment) {
    auto r = ParseGitSource(Op("git://example.com/repo#" + fragment,
                               {{"git.fullurl", "file://" + repo_}}));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GitRef{};
  }

  std::string Resolve(const std::string& fragment) {
    auto r = ResolveGitCommit(Ref(fragment), cache_, {});
    EXPECT_TRUE(r.ok()) << fragment << ": " << r.status().ToString();
    return r.ok() ? *r : "";
  }

  std::string NewDest() {
    std::string d = tmp_.path() + "/out" + std::to_string(++dests_);
    EXPECT_EQ(mkdir(d.c_str(), 0755), 0);
    return d;
  }

  TempDir tmp_;
  std::string repo_;
  GitSourceOptions cache_;
  std::string c1_, c2_, c3_;
  int dests_ = 0;
};

TEST_F(GitSourceTest, ResolvesEveryKindOfRef) {
  EXPECT_EQ(Resolve(""), c2_);  // HEAD: main
  EXPECT_EQ(Resolve("main"), c2_);
  EXPECT_EQ(Resolve("v1"), c1_);  // annotated tag, peeled
  EXPECT_EQ(Resolve("feature"), c3_);
  EXPECT_EQ(Resolve("refs/heads/feature"), c3_);
  EXPECT_EQ(Resolve("refs/tags/v1"), c1_);
  EXPECT_EQ(Resolve(c1_), c1_);
  EXPECT_EQ(Resolve(c3_.substr(0, 9)), c3_);  // short id, no ref named so

  // A moved branch resolves to its new commit; the old one still checks out.
  WriteFile(repo_ + "/README", "three\n");
  std::string c4 = Commit("third");
  EXPECT_EQ(Resolve("main"), c4);
  std::string dest = NewDest();
  ASSERT_TRUE(CheckoutGit(Ref("main"), c2_, dest, cache_, {}).ok());
  EXPECT_EQ(testing::ReadFile(dest + "/README"), "two\n");
}

TEST_F(GitSourceTest, FullShaFetchedByIdIntoEmptyMirror) {
  EXPECT_EQ(Resolve(c3_), c3_);
  std::string dest = NewDest();
  Status s = CheckoutGit(Ref(c3_), c3_, dest, cache_, {});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::ReadFile(dest + "/feature.txt"), "feature\n");
}

TEST_F(GitSourceTest, FullShaInMirrorNeedsNoRemote) {
  EXPECT_EQ(Resolve("main"), c2_);
  ASSERT_EQ(rename(repo_.c_str(), (repo_ + ".gone").c_str()), 0);
  EXPECT_EQ(ResolveGitCommit(Ref(c2_), cache_, {}).value_or(""), c2_);
  EXPECT_EQ(ResolveGitCommit(Ref("main"), cache_, {}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(GitSourceTest, ChecksOutFilesWithModes) {
  std::string commit = Resolve("main");
  std::string dest = NewDest();
  Status s = CheckoutGit(Ref("main"), commit, dest, cache_, {});
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::map<std::string, std::string> want = {
      {"README", "f 0644 two\n"},
      {"bin", "d 0755"},
      {"bin/run.sh", "f 0755 #!/bin/sh\necho run\n"},
      {"link", "l -> README"},
      {"sub", "d 0755"},
      {"sub/inner.txt", "f 0644 inner\n"},
  };
  EXPECT_EQ(DumpTree(dest), want);
}

TEST_F(GitSourceTest, Subdir) {
  GitRef ref = Ref("v1:sub");
  auto commit = ResolveGitCommit(ref, cache_, {});
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  std::string dest = NewDest();
  ASSERT_TRUE(CheckoutGit(ref, *commit, dest, cache_, {}).ok());
  std::map<std::string, std::string> want = {{"inner.txt", "f 0644 inner\n"}};
  EXPECT_EQ(DumpTree(dest), want);

  GitRef missing = Ref("v1:nosuch");
  Status s = CheckoutGit(missing, *commit, NewDest(), cache_, {});
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("nosuch"), std::string::npos) << s.ToString();

  GitRef file = Ref("v1:README");
  s = CheckoutGit(file, *commit, NewDest(), cache_, {});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

TEST_F(GitSourceTest, KeepGitDir) {
  struct Case {
    std::string ref, commit, name;
  };
  for (const Case& c : {Case{"v1", c1_, "refs/tags/v1"},
                        Case{"feature", c3_, "refs/heads/feature"},
                        Case{"", c2_, "refs/heads/main"}, Case{c1_, c1_, ""}}) {
    GitRef ref = Ref(c.ref);
    ref.keep_git_dir = true;
    auto commit = ResolveGitCommit(ref, cache_, {});
    ASSERT_TRUE(commit.ok()) << commit.status().ToString();
    ASSERT_EQ(*commit, c.commit);
    std::string dest = NewDest();
    Status s = CheckoutGit(ref, *commit, dest, cache_, {});
    ASSERT_TRUE(s.ok()) << c.ref << ": " << s.ToString();
    EXPECT_EQ(Git({"-C", dest, "rev-parse", "HEAD"}), c.commit) << c.ref;
    EXPECT_EQ(Git({"-C", dest, "status", "--porcelain"}), "") << c.ref;
    EXPECT_EQ(Git({"-C", dest, "remote", "get-url", "origin"}),
              "file://" + repo_);
    if (!c.name.empty()) {
      EXPECT_EQ(Git({"-C", dest, "rev-parse", c.name + "^{commit}"}), c.commit);
    }
    if (c.ref == "v1") {
      EXPECT_EQ(Git({"-C", dest, "cat-file", "-t", "v1"}), "tag");
    }
  }
}

TEST_F(GitSourceTest, BadRefIsNotFoundWithGitsMessage) {
  auto r = ResolveGitCommit(Ref("nosuch"), cache_, {});
  ASSERT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("couldn't find remote ref nosuch"),
            std::string::npos)
      << r.status().ToString();

  r = ResolveGitCommit(Ref("deadbeef"), cache_, {});  // hex, no such commit
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();

  r = ResolveGitCommit(Ref(std::string(40, 'a')), cache_, {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();

  GitRef gone = Ref("main");
  gone.remote = "file://" + tmp_.path() + "/no-repo";
  r = ResolveGitCommit(gone, cache_, {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("no-repo"), std::string::npos);

  Status s =
      CheckoutGit(Ref("main"), std::string(40, 'a'), NewDest(), cache_, {});
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
}

TEST_F(GitSourceTest, MountSshSockWithoutProviderIsUnimplemented) {
  GitRef ref = Ref("main");
  ref.mount_ssh_sock = "default";
  auto r = ResolveGitCommit(ref, cache_, {});
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("git.mountsshsock"), std::string::npos);
}

TEST_F(GitSourceTest, Cancelled) {
  std::stop_source stop;
  stop.request_stop();
  auto r = ResolveGitCommit(Ref("main"), cache_, stop.get_token());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
}

TEST_F(GitSourceTest, ConcurrentResolvesOfOneRemote) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"main", c2_}, {"v1", c1_}, {"feature", c3_}, {"", c2_}};
  std::vector<std::string> got(cases.size());
  std::vector<std::string> files(cases.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cases.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3; ++round) {
        GitRef ref = Ref(cases[i].first);
        auto r = ResolveGitCommit(ref, cache_, {});
        if (!r.ok()) {
          got[i] = r.status().ToString();
          return;
        }
        got[i] = *r;
        std::string dest = tmp_.path() + "/c" + std::to_string(i) + "-" +
                           std::to_string(round);
        mkdir(dest.c_str(), 0755);
        Status s = CheckoutGit(ref, *r, dest, cache_, {});
        files[i] = s.ok() ? testing::ReadFile(dest + "/README") : s.ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(got[i], cases[i].second) << cases[i].first;
    EXPECT_EQ(files[i], cases[i].second == c2_ ? "two\n" : "one\n");
  }
  // One mirror, and it is sound.
  std::string mirrors = tmp_.path() + "/cache/git";
  auto r = RunCommand({"sh", "-c", "ls -d " + mirrors + "/*/ | wc -l"});
  EXPECT_EQ(r.output, "1\n");
  r = RunCommand(
      {"sh", "-c",
       "git --git-dir=\"$(ls -d " + mirrors + "/*/)\" fsck --strict 2>&1"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace kiln::solver
