// Remote build contexts (opt context=URL, reference frontend-images.md §5):
// an http(s) download that is the Dockerfile itself, or a tarball unpacked
// into the context (opt contextsubdir scoping it), served from 127.0.0.1.
// In-process frontend against a real solver; needs root (FrontendTest).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "frontend_fixture.h"
#include "support/registry_http_server.h"

namespace kiln::dockerfile::testing {
namespace {

using solver::testing::TestHttpRequest;
using solver::testing::TestHttpResponse;
using solver::testing::TestHttpServer;

class RemoteContextTest : public FrontendTest {
 protected:
  void SetUp() override {
    FrontendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto server = TestHttpServer::Start([this](const TestHttpRequest& r) {
      auto it = files_.find(r.Path());
      if (it == files_.end()) return TestHttpResponse{404, {}, "not found"};
      return TestHttpResponse{200, {}, it->second};
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    // The local context holds something else: the remote one must win.
    Write("Dockerfile", "FROM scratch\nCOPY <<EOF /hello\nlocal\nEOF\n");
  }
  void TearDown() override {
    server_.reset();
    FrontendTest::TearDown();
  }

  std::map<std::string, std::string> files_;  // path -> body (set first)
  std::unique_ptr<TestHttpServer> server_;
};

TEST_F(RemoteContextTest, PlainDownloadIsTheDockerfile) {
  files_["/df"] = "FROM scratch\nCOPY <<EOF /hello\nremote\nEOF\n";
  BuildRun run = RunBuild({"context=" + server_->url() + "/df"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/hello"), "remote\n");
}

TEST_F(RemoteContextTest, TarballIsUnpackedAndSubdirScopesIt) {
  std::string src = ExtraDir();
  solver::testing::WriteFile(src + "/Dockerfile",
                             "FROM scratch\nCOPY sub/data.txt /data.txt\n");
  solver::testing::WriteFile(src + "/Dockerfile.sub",
                             "FROM scratch\nCOPY data.txt /data.txt\n");
  solver::testing::WriteFile(src + "/sub/data.txt", "from the tarball");
  std::string out = ExtraDir() + "/ctx.tar.gz";
  ASSERT_EQ(std::system(("tar -C " + src + " -czf " + out + " .").c_str()), 0);
  files_["/ctx.tar.gz"] = solver::testing::ReadFile(out);
  const std::string url = "context=" + server_->url() + "/ctx.tar.gz";

  BuildRun run = RunBuild({url});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/data.txt"), "from the tarball");

  // The Dockerfile is read from the whole download, the context is sub/.
  BuildRun sub =
      RunBuild({url, "filename=Dockerfile.sub", "contextsubdir=sub"});
  ASSERT_EQ(sub.exit_code, 0) << sub.result.error.ToString();
  EXPECT_EQ(ResultFile(sub, "/data.txt"), "from the tarball");
}

// A git repository over git's dumb http protocol (static files): the
// checkout is the context and holds the Dockerfile; .git only with
// build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR.
TEST_F(RemoteContextTest, GitCheckoutIsTheContext) {
  std::string src = ExtraDir();
  solver::testing::WriteFile(src + "/Dockerfile", "FROM scratch\nCOPY . /\n");
  solver::testing::WriteFile(src + "/data.txt", "from git");
  std::string served = ExtraDir();
  const std::string script =
      "set -e; cd " + src +
      "; git init -q -b main .; git add .;"
      " git -c user.name=t -c user.email=t@t commit -q -m init;"
      " git clone -q --bare . " +
      served + "/repo.git; cd " + served + "/repo.git; git update-server-info";
  ASSERT_EQ(std::system(("sh -c '" + script + "' >/dev/null").c_str()), 0);
  server_.reset();
  auto server = TestHttpServer::Start([served](const TestHttpRequest& r) {
    std::string path = served + r.Path();
    if (r.Path().find("..") != std::string::npos ||
        !solver::testing::Exists(path)) {
      return TestHttpResponse{404, {}, "not found"};
    }
    return TestHttpResponse{200, {}, solver::testing::ReadFile(path)};
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  server_ = std::move(*server);
  const std::string url = "context=" + server_->url() + "/repo.git#main";

  BuildRun run = RunBuild({url});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/data.txt"), "from git");
  EXPECT_EQ(ResultFile(run, "/.git/HEAD"), "<missing>");

  BuildRun keep =
      RunBuild({url, "build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR=true"});
  ASSERT_EQ(keep.exit_code, 0) << keep.result.error.ToString();
  EXPECT_EQ(ResultFile(keep, "/data.txt"), "from git");
  EXPECT_NE(ResultFile(keep, "/.git/HEAD"), "<missing>");
}

TEST_F(RemoteContextTest, MissingDownloadFails) {
  BuildRun run = RunBuild({"context=" + server_->url() + "/nope"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_FALSE(run.result.error.ok());
}

}  // namespace
}  // namespace kiln::dockerfile::testing
