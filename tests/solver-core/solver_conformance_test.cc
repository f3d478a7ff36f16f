// Solves every upstream LLB conformance case (shared/conformance/llb/*/
// llb.pb, from BuildKit v0.11.6's Dockerfile frontend) with the real engine
// and checks the files each Dockerfile implies, then solves it again fully
// cached.
//
// The ops name docker-image://127.0.0.1:5000/library/busybox@sha256:109dee…
// The engine starts with EMPTY stores (no busybox blobs at all, so the
// digest-pinned reference cannot be satisfied locally); busybox is pushed to
// a TestRegistry on a free port, and the engine's RegistryClient maps
// 127.0.0.1:5000 to it with a pull mirror (registry_config.h), the test
// registry's own entry allowing plain http.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "kiln/llb/definition.h"
#include "kiln/solver/graph.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/secret_providers.h"
#include "support/registry_fixture.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFile;
using testing::WriteFile;

constexpr char kBusyboxDigest[] =
    "sha256:109dee47a1d67d8dbe720e5f348f596f97e17bfdce7208882449a823a9bd6d88";
constexpr char kToken[] = "s3cr3t-token-value-0123456789";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

class ConformanceTest : public testing::SolverTest {
 protected:
  void SetUp() override {
    if (std::string why = testing::TestRegistry::UnavailableReason();
        !why.empty()) {
      KILN_SKIP_UNLESS_REQUIRED(why);
    }
    import_busybox_ = false;
    ASSERT_NO_FATAL_FAILURE(SolverTest::SetUp());
    if (IsSkipped()) return;
    auto registry = testing::TestRegistry::Start();
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_server_ = std::move(*registry);

    // Push busybox from a separate store: the engine's stays empty.
    auto layout = testing::MakeBusyboxLayout(root_ + "/push", "latest");
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    auto push_store = ContentStore::Open(root_ + "/push/content");
    ASSERT_TRUE(push_store.ok()) << push_store.status().ToString();
    auto desc = testing::ImportLayout(*layout, push_store->get());
    ASSERT_TRUE(desc.ok()) << desc.status().ToString();
    ASSERT_EQ(desc->digest.str(), kBusyboxDigest)
        << "make-busybox-oci.sh no longer gives the digest the llb.pb name";
    {
      RegistryClient pusher(registry_server_->ClientConfig(),
                            push_store->get());
      auto ref = llb::ParseImageReference(registry_server_->host() +
                                          "/library/busybox:latest");
      ASSERT_TRUE(ref.ok()) << ref.status().ToString();
      Status pushed = pusher.Push(*ref, *desc);
      ASSERT_TRUE(pushed.ok()) << pushed.ToString();
    }
    ASSERT_FALSE(content_->Has(desc->digest))
        << "the engine store must be empty";

    RegistryConfig config = registry_server_->ClientConfig();
    config.hosts["127.0.0.1:5000"].mirrors = {registry_server_->host()};
    config.retry_attempts = 1;
    client_ = std::make_unique<RegistryClient>(config, content_.get());
    registry_ = client_.get();
    CloseEngine();
    ASSERT_NO_FATAL_FAILURE(OpenEngine());
  }

  void TearDown() override {
    SolverTest::TearDown();
    client_.reset();
    registry_server_.reset();
  }

  // The case's context directory (outside root_), built as its Dockerfile
  // implies.
  std::string MakeContext() {
    const std::string dir = context_.path();
    WriteFile(dir + "/a.txt", "file a\n");
    WriteFile(dir + "/c.txt", "file c\n");
    WriteFile(dir + "/d.txt", "file d\n");
    WriteFile(dir + "/src/main.c", "int main() { return 0; }\n");
    WriteFile(dir + "/src/util.h", "#pragma once\n");
    WriteFile(dir + "/src/lib/x.c", "int x;\n");
    WriteFile(dir + "/b.tar", testing::MakeTar({{"t1.txt", "tar one\n"},
                                                {"dir/t2.txt", "tar two\n"}}));
    return dir;
  }

  Result<SolveResult> SolveCase(const std::string& name) {
    const std::string path =
        std::string(KILN_SHARED_DIR) + "/conformance/llb/" + name + "/llb.pb";
    const std::string bytes = ReadFile(path);
    if (bytes.empty()) return NotFoundError("cannot read " + path);
    KILN_ASSIGN_OR_RETURN(pb::Definition def, llb::ParseDefinition(bytes));
    SolveRequest request;
    request.locals["context"] = context_dir_;
    request.secrets = &secrets_;
    return SolveDefinition(def, request);
  }

  void SetUpSecrets() {
    WriteFile(secret_dir_.path() + "/token", kToken);
    ASSERT_TRUE(
        secrets_.Add({.id = "token", .file = secret_dir_.path() + "/token"})
            .ok());
  }

  // Solves `name`, runs `check` on the result, then solves it again and
  // expects nothing to run.
  void RunCase(const std::string& name,
               const std::function<void(const SolveResult&)>& check) {
    context_dir_ = MakeContext();
    ASSERT_NO_FATAL_FAILURE(SetUpSecrets());
    auto first = SolveCase(name);
    ASSERT_TRUE(first.ok()) << name << ": " << first.status().ToString();
    EXPECT_GT(first->stats.executed, 0);
    check(*first);
    auto second = SolveCase(name);
    ASSERT_TRUE(second.ok()) << name << ": " << second.status().ToString();
    EXPECT_EQ(second->stats.executed, 0) << name;
    EXPECT_EQ(second->snapshot, first->snapshot) << name;
    check(*second);
  }

  struct stat Stat(const SolveResult& result, const std::string& path) {
    struct stat st = {};
    testing::MountedSnapshot mounted(*snapshots_, result.snapshot);
    EXPECT_EQ(lstat((mounted.path() + path).c_str(), &st), 0) << path;
    return st;
  }

  std::unique_ptr<testing::TestRegistry> registry_server_;
  std::unique_ptr<RegistryClient> client_;
  testing::TempDir context_{"kiln-conf-ctx"};
  testing::TempDir secret_dir_{"kiln-conf-secret"};
  std::string context_dir_;
  MapSecretProvider secrets_;
};

TEST_F(ConformanceTest, EveryCaseHasAChecker) {
  std::vector<std::string> cases;
  for (const auto& e : fs::directory_iterator(std::string(KILN_SHARED_DIR) +
                                              "/conformance/llb")) {
    if (e.is_directory()) cases.push_back(e.path().filename().string());
  }
  std::sort(cases.begin(), cases.end());
  // A new case needs a TEST_F below.
  EXPECT_EQ(cases,
            (std::vector<std::string>{"args-env", "copy-flags", "multistage",
                                      "run-mounts", "workdir-user"}));
}

TEST_F(ConformanceTest, ArgsEnv) {
  RunCase("args-env", [&](const SolveResult& r) {
    EXPECT_EQ(ReadResultFile(r, "/v.txt"), "1.0 hello world default\n");
  });
}

TEST_F(ConformanceTest, CopyFlags) {
  RunCase("copy-flags", [&](const SolveResult& r) {
    EXPECT_EQ(ReadResultFile(r, "/app/a.txt"), "file a\n");
    struct stat st = Stat(r, "/app/a.txt");
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1000u);
    EXPECT_EQ(ReadResultFile(r, "/app/src/main.c"),
              "int main() { return 0; }\n");
    EXPECT_EQ(ReadResultFile(r, "/app/src/util.h"), "#pragma once\n");
    EXPECT_EQ(ReadResultFile(r, "/app/src/lib/x.c"), "int x;\n");
    EXPECT_EQ(ReadResultFile(r, "/unpacked/t1.txt"), "tar one\n");
    EXPECT_EQ(ReadResultFile(r, "/unpacked/dir/t2.txt"), "tar two\n");
    auto tree = Tree(r);
    EXPECT_EQ(tree.count("unpacked/b.tar"), 0u) << "ADD must unpack the tar";
    EXPECT_EQ(ReadResultFile(r, "/glob/a.txt"), "file a\n");
    EXPECT_EQ(ReadResultFile(r, "/glob/c.txt"), "file c\n");
    EXPECT_EQ(ReadResultFile(r, "/glob/d.txt"), "file d\n");
    std::vector<std::string> glob;
    for (const auto& [path, what] : tree) {
      if (path.rfind("glob/", 0) == 0) glob.push_back(path);
    }
    EXPECT_EQ(glob, (std::vector<std::string>{"glob/a.txt", "glob/c.txt",
                                              "glob/d.txt"}));
    EXPECT_TRUE(S_ISDIR(Stat(r, "/app").st_mode));
    EXPECT_EQ(tree.count("bin/busybox"), 1u);
  });
}

TEST_F(ConformanceTest, Multistage) {
  RunCase("multistage", [&](const SolveResult& r) {
    EXPECT_EQ(ReadResultFile(r, "/out/test.txt"), "test\n");
    // src/ holds main.c, util.h and lib.
    EXPECT_EQ(Trim(ReadResultFile(r, "/out/build.txt")), "3");
    EXPECT_EQ(ReadResultFile(r, "/out/a.txt"), "file a\n");
    auto tree = Tree(r);
    // The final stage is busybox plus /out only.
    EXPECT_EQ(tree.count("deps.txt"), 0u);
    EXPECT_EQ(tree.count("src"), 0u);
  });
}

TEST_F(ConformanceTest, RunMounts) {
  RunCase("run-mounts", [&](const SolveResult& r) {
    EXPECT_EQ(Trim(ReadResultFile(r, "/len")),
              std::to_string(std::string(kToken).size()));
    EXPECT_EQ(ReadResultFile(r, "/ls.txt"),
              "a.txt\nb.tar\nc.txt\nd.txt\nsrc\n");
    auto tree = Tree(r);
    EXPECT_EQ(tree.count("cache/log"), 0u) << "cache mount content leaked";
    EXPECT_EQ(tree.count("scratch/x"), 0u) << "tmpfs content leaked";
    EXPECT_EQ(tree.count("run/secrets/token"), 0u) << "secret leaked";
    EXPECT_EQ(tree.count("ctx/a.txt"), 0u);
    for (const auto& [path, what] : tree) {
      EXPECT_THAT(what, Not(HasSubstr(kToken))) << path;
    }
  });
}

TEST_F(ConformanceTest, WorkdirUser) {
  RunCase("workdir-user", [&](const SolveResult& r) {
    EXPECT_THAT(ReadResultFile(r, "/tmp/id.txt"),
                HasSubstr("uid=65534(nobody)"));
    EXPECT_TRUE(S_ISDIR(Stat(r, "/srv/app").st_mode));
  });
}

}  // namespace
}  // namespace kiln::solver
