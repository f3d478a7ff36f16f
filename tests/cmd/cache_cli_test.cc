// `kiln build --export-cache/--import-cache` end to end (issue 9): two
// state roots sharing one docker-registry on 127.0.0.1. The second root's
// build of the same project runs no RUN step, pulls only the blobs of the
// final image plus the cache and base documents, and exports the same
// image. Also a type=local round trip. Needs root, runc and
// docker-registry.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "../solver-core/support/registry_fixture.h"
#include "cli_engine.h"
#include "cli_run.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;

class CacheCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = cli_test::EngineMissing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    if (auto why = solver::testing::TestRegistry::UnavailableReason();
        !why.empty()) {
      GTEST_SKIP() << why;
    }
    auto registry = solver::testing::TestRegistry::Start();
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(*registry);
    dir_ = fs::temp_directory_path() /
           ("kiln-cache-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    for (const char* d : {"a", "b", "ctx"}) fs::create_directories(dir_ / d);
    // Plain http to the test registry, for every kiln this test runs.
    std::ofstream(dir_ / "kiln.toml")
        << "[registry.\"" << registry_->host() << "\"]\n  http = true\n";
    setenv("KILN_CONFIG", (dir_ / "kiln.toml").c_str(), 1);
    ASSERT_EQ(cli_test::PrepareRoot(dir_ / "a", Root("a")), "");
    ASSERT_EQ(cli_test::PrepareRoot(dir_ / "b", Root("b")), "");
    // The base image comes from the registry, as on two real machines.
    base_ = registry_->host() + "/base/busybox:1";
    CliRun push = Kiln("a", "image push busybox:latest " + base_);
    ASSERT_EQ(push.exit_code, 0) << push.err;
    std::ofstream(dir_ / "ctx/Dockerfile")
        << "FROM " << base_
        << "\nCOPY data.txt /data.txt\n"
           "RUN echo marker-run-one && echo one > /one.txt\n"
           "RUN echo marker-run-two && cat /data.txt /one.txt > /two.txt\n";
    std::ofstream(dir_ / "ctx/data.txt") << "from the context\n";
  }
  void TearDown() override {
    unsetenv("KILN_CONFIG");
    registry_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Root(const std::string& which) const {
    return (dir_ / ("root-" + which)).string();
  }
  CliRun Kiln(const std::string& which, const std::string& args) {
    return cli_test::RunKilnIn(dir_ / which,
                               "--root " + Root(which) + " " + args, "");
  }
  nlohmann::json Inspect(const std::string& which, const std::string& image) {
    CliRun r = Kiln(which, "image inspect " + image);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  // Whether a RUN step printed its marker (a log line of plain progress:
  // "#N 0.012 marker-run-one"; the step's name line says "RUN echo ...").
  static bool RanRun(const std::string& progress) {
    static const std::regex kOutput(R"(\n#[0-9]+ [0-9.]+ marker-run-)");
    return std::regex_search(progress, kOutput);
  }
  // Whether the plain progress shows the vertex whose name contains `what`
  // as CACHED.
  static bool Cached(const std::string& progress, const std::string& what) {
    std::istringstream in(progress);
    std::string line, id;
    while (std::getline(in, line)) {
      if (id.empty() && line.starts_with("#") &&
          line.find(what) != std::string::npos) {
        id = line.substr(0, line.find(' '));
      }
      if (!id.empty() && line == id + " CACHED") return true;
    }
    return false;
  }

  std::unique_ptr<solver::testing::TestRegistry> registry_;
  fs::path dir_;
  std::string base_;
};

TEST_F(CacheCliTest, SecondRootReusesTheRegistryCache) {
  const std::string ctx = (dir_ / "ctx").string();
  const std::string cache = registry_->host() + "/cache/app:latest";
  CliRun first = Kiln("a",
                      "build --progress plain -t app:1 --export-cache "
                      "type=registry,ref=" +
                          cache + " " + ctx);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(RanRun(first.err)) << first.err;
  EXPECT_NE(first.err.find("exported cache sha256:"), std::string::npos)
      << first.err;

  const size_t log_before = registry_->Log().size();
  CliRun second = Kiln("b",
                       "build --progress plain -t app:1 --import-cache "
                       "type=registry,ref=" +
                           cache + " " + ctx);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  // No RUN step ran: no output of theirs, both reported CACHED.
  EXPECT_FALSE(RanRun(second.err)) << second.err;
  EXPECT_TRUE(Cached(second.err, "RUN echo marker-run-one")) << second.err;
  EXPECT_TRUE(Cached(second.err, "RUN echo marker-run-two")) << second.err;
  EXPECT_NE(second.err.find("importing cache manifest from " + cache),
            std::string::npos)
      << second.err;

  // The same image: equal diff_ids (the layers are the same blobs).
  nlohmann::json a = Inspect("a", "app:1");
  nlohmann::json b = Inspect("b", "app:1");
  ASSERT_FALSE(b.is_null());
  EXPECT_EQ(a["Config"]["rootfs"]["diff_ids"],
            b["Config"]["rootfs"]["diff_ids"]);
  EXPECT_EQ(a["Manifest"]["layers"], b["Manifest"]["layers"]);

  // Blob GETs of the second build: only the final image's layers, the
  // base image's config and the cache config.
  std::set<std::string> allowed;
  for (const auto& l : b["Manifest"]["layers"]) {
    allowed.insert(l["digest"].get<std::string>());
  }
  nlohmann::json base = Inspect("b", base_);
  ASSERT_FALSE(base.is_null());
  allowed.insert(base["Manifest"]["config"]["digest"].get<std::string>());
  std::string log = registry_->Log().substr(log_before);
  std::regex get_blob(
      R"re(http\.request\.method=GET[^\n]*http\.request\.uri="/v2/([^"]+)/blobs/(sha256:[0-9a-f]{64})")re");
  int layer_gets = 0;
  std::string cache_config;
  for (std::sregex_iterator it(log.begin(), log.end(), get_blob), end;
       it != end; ++it) {
    const std::string repo = (*it)[1];
    const std::string digest = (*it)[2];
    if (repo == "cache/app" && !allowed.contains(digest) &&
        cache_config.empty()) {
      cache_config = digest;  // the one document blob of the cache
      continue;
    }
    EXPECT_TRUE(allowed.contains(digest))
        << repo << " " << digest << " is not a blob of the final image";
    ++layer_gets;
  }
  EXPECT_FALSE(cache_config.empty()) << log;
  // base layer + base config + COPY + two RUN layers at most.
  EXPECT_GE(layer_gets, 4) << log;
  EXPECT_LE(layer_gets, 5) << log;
}

TEST_F(CacheCliTest, LocalCacheRoundTripAndBrokenCacheWarns) {
  const std::string ctx = (dir_ / "ctx").string();
  const std::string layout = (dir_ / "cache-dir").string();
  CliRun first = Kiln("a",
                      "build --progress plain -t app:1 --export-cache "
                      "type=local,dest=" +
                          layout + ",mode=max " + ctx);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(fs::exists(layout + "/index.json"));

  // A failed export fails the build, naming the cache, unless
  // ignore-error=true makes it a warning.
  CliRun broken = Kiln("a",
                       "build --progress quiet -t app:1 --export-cache "
                       "type=local,dest=/proc/kiln-no-such " +
                           ctx);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("exporting cache to /proc/kiln-no-such"),
            std::string::npos)
      << broken.err;
  CliRun ignored = Kiln("a",
                        "build --progress quiet -t app:1 --export-cache "
                        "type=local,dest=/proc/kiln-no-such,"
                        "ignore-error=true " +
                            ctx);
  EXPECT_EQ(ignored.exit_code, 0) << ignored.err;
  EXPECT_NE(ignored.err.find("warning: exporting cache to"), std::string::npos)
      << ignored.err;

  // A cache that cannot be read is a warning; the build still succeeds
  // (--no-cache: whether its RUN ran says nothing about the import here).
  CliRun missing = Kiln("b",
                        "build --progress plain -t other:1 --import-cache "
                        "type=local,src=" +
                            (dir_ / "nothing").string() + " --no-cache " + ctx);
  ASSERT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_NE(missing.err.find("warning: importing cache from"),
            std::string::npos)
      << missing.err;

  fs::create_directories(dir_ / "c");
  ASSERT_EQ(cli_test::PrepareRoot(dir_ / "c", Root("c")), "");
  CliRun second = Kiln("c",
                       "build --progress plain -t app:1 --import-cache "
                       "type=local,src=" +
                           layout + " " + ctx);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(RanRun(second.err)) << second.err;
  EXPECT_EQ(Inspect("a", "app:1")["Config"]["rootfs"]["diff_ids"],
            Inspect("c", "app:1")["Config"]["rootfs"]["diff_ids"]);
}

TEST_F(CacheCliTest, InlineCacheTravelsWithThePushedImage) {
  const std::string ctx = (dir_ / "ctx").string();
  const std::string image = registry_->host() + "/app/inline:1";
  CliRun first =
      Kiln("a", "build --progress plain -o type=image,name=" + image +
                    ",push=true --cache-to type=inline " + ctx);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(RanRun(first.err)) << first.err;

  // Without an image output there is nothing to embed the cache in: a
  // usage error before anything is built.
  CliRun no_image =
      Kiln("a", "build --progress plain -o type=local,dest=" +
                    (dir_ / "out").string() + " --cache-to type=inline " + ctx);
  EXPECT_EQ(no_image.exit_code, 2);
  EXPECT_EQ(no_image.err.find("#1 "), std::string::npos) << no_image.err;
  EXPECT_NE(no_image.err.find("needs an image output"), std::string::npos)
      << no_image.err;

  CliRun second = Kiln(
      "b", "build --progress plain -t app:1 --cache-from " + image + " " + ctx);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(RanRun(second.err)) << second.err;
  EXPECT_TRUE(Cached(second.err, "RUN echo marker-run-two")) << second.err;
  nlohmann::json pushed = Inspect("a", image);
  ASSERT_FALSE(pushed.is_null());
  EXPECT_EQ(pushed["Config"]["rootfs"]["diff_ids"],
            Inspect("b", "app:1")["Config"]["rootfs"]["diff_ids"]);

  // A plain image (no inline cache) is a warning, and the build runs.
  CliRun plain = Kiln("b",
                      "build --progress plain -t other:1 --no-cache "
                      "--cache-from " +
                          base_ + " " + ctx);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.err.find("without an inline cache"), std::string::npos)
      << plain.err;
}

}  // namespace
}  // namespace kiln
