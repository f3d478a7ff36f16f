// HTTP sources against an in-process server on 127.0.0.1: file name, mode,
// owner and mtime, checksums, revalidation without a body, the checksum
// shortcut without a request, and clear errors.
#include "kiln/solver/http_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "support/registry_http_server.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::TempDir;
using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;

class MapSecrets : public SecretProvider {
 public:
  explicit MapSecrets(std::map<std::string, std::string> secrets)
      : secrets_(std::move(secrets)) {}
  Result<std::string> GetSecret(std::string_view id) override {
    auto it = secrets_.find(std::string(id));
    if (it == secrets_.end()) {
      return NotFoundError("no secret " + std::string(id));
    }
    return it->second;
  }

 private:
  std::map<std::string, std::string> secrets_;
};

constexpr char kLastModified[] = "Wed, 21 Oct 2015 07:28:00 GMT";
constexpr time_t kLastModifiedUnix = 1445412480;

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TestHttpServer::Start(
        [this](const TestHttpRequest& r) { return Handle(r); });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_.cache_dir = tmp_.path() + "/cache";
  }

  TestHttpResponse Handle(const TestHttpRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    if (request.Path() == "/files/hello.txt") {
      std::string etag = "\"" + std::to_string(version_) + "\"";
      auto inm = request.headers.find("if-none-match");
      if (inm != request.headers.end() && inm->second == etag) {
        ++not_modified_;
        return {304, {{"ETag", etag}}, ""};
      }
      ++bodies_;
      return {
          200, {{"ETag", etag}, {"Last-Modified", kLastModified}}, content_};
    }
    if (request.Path() == "/attachment") {
      ++bodies_;
      return {
          200,
          {{"Content-Disposition", "attachment; filename=\"../report.csv\""}},
          "a,b\n"};
    }
    if (request.Path() == "/private") {
      auto auth = request.headers.find("authorization");
      if (auth == request.headers.end()) return {401, {}, ""};
      return {200, {}, auth->second};
    }
    if (request.Path() == "/") return {200, {}, "root\n"};
    return {404, {}, "no such file\n"};
  }

  pb::SourceOp Op(const std::string& path,
                  const std::map<std::string, std::string>& attrs = {}) {
    pb::SourceOp op;
    op.set_identifier(server_->url() + path);
    for (const auto& [k, v] : attrs) (*op.mutable_attrs())[k] = v;
    return op;
  }

  std::string NewDest() {
    std::string d = tmp_.path() + "/out" + std::to_string(++dests_);
    EXPECT_EQ(mkdir(d.c_str(), 0755), 0);
    return d;
  }

  Result<HttpFetch> Fetch(const pb::SourceOp& op, const std::string& dest) {
    return FetchHttp(op, dest, options_, {});
  }

  TempDir tmp_;
  std::unique_ptr<TestHttpServer> server_;
  HttpSourceOptions options_;
  int dests_ = 0;
  std::mutex mu_;
  int version_ = 1;                  // guarded by mu_
  std::string content_ = "hello\n";  // guarded by mu_
  int bodies_ = 0;                   // guarded by mu_
  int not_modified_ = 0;             // guarded by mu_
};

TEST_F(HttpSourceTest, DefaultNameModeAndMtime) {
  std::string dest = NewDest();
  auto r = Fetch(Op("/files/hello.txt"), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->filename, "hello.txt");
  EXPECT_EQ(r->content, Digest::FromBytes("hello\n"));
  EXPECT_EQ(testing::ReadFile(dest + "/hello.txt"), "hello\n");
  struct stat st;
  ASSERT_EQ(stat((dest + "/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtime, kLastModifiedUnix);

  // No Last-Modified: the epoch. No path segment: "download".
  r = Fetch(Op("/"), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->filename, "download");
  ASSERT_EQ(stat((dest + "/download").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 0);

  // Content-Disposition names the file, reduced to a base name.
  r = Fetch(Op("/attachment"), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->filename, "report.csv");
  EXPECT_EQ(testing::ReadFile(dest + "/report.csv"), "a,b\n");
}

TEST_F(HttpSourceTest, FilenamePermAndOwner) {
  std::string dest = NewDest();
  auto r = Fetch(Op("/files/hello.txt", {{"http.filename", "sub/renamed.bin"},
                                         {"http.perm", "0755"}}),
                 dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->filename, "renamed.bin");
  struct stat st;
  ASSERT_EQ(stat((dest + "/renamed.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  auto bad = Fetch(Op("/files/hello.txt", {{"http.perm", "rwx"}}), dest);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("http.perm"), std::string::npos);

  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  r = Fetch(
      Op("/files/hello.txt", {{"http.uid", "1234"}, {"http.gid", "5678"}}),
      dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(stat((dest + "/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
}

TEST_F(HttpSourceTest, Checksum) {
  Digest good = Digest::FromBytes("hello\n");
  std::string dest = NewDest();
  auto r = Fetch(Op("/files/hello.txt", {{"http.checksum", good.str()}}), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, good);

  Digest wrong = Digest::FromBytes("something else");
  std::string dest2 = NewDest();
  r = Fetch(Op("/files/hello.txt", {{"http.checksum", wrong.str()}}), dest2);
  ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  const std::string& m = r.status().message();
  EXPECT_NE(m.find(server_->url() + "/files/hello.txt"), std::string::npos)
      << m;
  EXPECT_NE(m.find(good.str()), std::string::npos) << m;
  EXPECT_NE(m.find(wrong.str()), std::string::npos) << m;
  EXPECT_EQ(testing::DumpTree(dest2).size(), 0u);

  r = Fetch(Op("/files/hello.txt", {{"http.checksum", "sha256:nothex"}}),
            dest2);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpSourceTest, RevalidatesWithoutBody) {
  ASSERT_TRUE(Fetch(Op("/files/hello.txt"), NewDest()).ok());
  std::string dest = NewDest();
  auto r = Fetch(Op("/files/hello.txt"), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(testing::ReadFile(dest + "/hello.txt"), "hello\n");
  struct stat st;
  ASSERT_EQ(stat((dest + "/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kLastModifiedUnix);  // from the cached record
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(bodies_, 1);
    EXPECT_EQ(not_modified_, 1);
    version_ = 2;
    content_ = "changed\n";
  }
  r = Fetch(Op("/files/hello.txt"), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, Digest::FromBytes("changed\n"));
  EXPECT_EQ(testing::ReadFile(dest + "/hello.txt"), "changed\n");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(bodies_, 2);
}

TEST_F(HttpSourceTest, CachedChecksumMakesNoRequest) {
  auto first = Fetch(Op("/files/hello.txt"), NewDest());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  int before = server_->requests();
  std::string dest = NewDest();
  auto r = Fetch(
      Op("/files/hello.txt", {{"http.checksum", first->content.str()}}), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(server_->requests(), before);
  EXPECT_EQ(testing::ReadFile(dest + "/hello.txt"), "hello\n");
}

TEST_F(HttpSourceTest, NotFound) {
  std::string dest = NewDest();
  auto r = Fetch(Op("/missing.tar.gz"), dest);
  ASSERT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find(server_->url() + "/missing.tar.gz"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("404"), std::string::npos);
  EXPECT_EQ(testing::DumpTree(dest).size(), 0u);

  pb::SourceOp ftp;
  ftp.set_identifier("ftp://example.com/x");
  EXPECT_EQ(Fetch(ftp, dest).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpSourceTest, AuthFromSecrets) {
  std::string dest = NewDest();
  auto r = Fetch(Op("/private"), dest);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);

  MapSecrets secrets(
      {{"HTTP_AUTH_TOKEN_127.0.0.1", "tok"}, {"mine", "Basic abc"}});
  options_.secrets = &secrets;
  r = Fetch(Op("/private"), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(testing::ReadFile(dest + "/private"), "Bearer tok");

  r = Fetch(Op("/private", {{"http.authheadersecret", "mine"}}), dest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(testing::ReadFile(dest + "/private"), "Basic abc");

  r = Fetch(Op("/private", {{"http.authheadersecret", "absent"}}), dest);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
}

}  // namespace
}  // namespace kiln::solver
