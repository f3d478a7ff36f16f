// Issue 9's reproducibility acceptance, end to end through `kiln build`:
// the same project built in two fresh state roots with SOURCE_DATE_EPOCH
// set and rewrite-timestamp=true gives byte-identical oci and docker
// archives and the same image in the store; a different epoch gives a
// different image (the negative control). And --attest type=provenance: the
// SLSA predicate in the OCI layout's attestation manifest. Needs root and
// runc.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_engine.h"
#include "cli_run.h"
#include "kiln/llb/platform.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;
using Json = nlohmann::json;

// The standard output of `sh -c command` ("" on failure).
std::string Sh(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Sets (or, with nullptr, unsets) an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() {
    old_.empty() ? unsetenv(name_.c_str())
                 : setenv(name_.c_str(), old_.c_str(), 1);
  }

 private:
  std::string name_;
  std::string old_;
};

class ReproCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = cli_test::EngineMissing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    dir_ = fs::temp_directory_path() /
           ("kiln-repro-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A fresh state root named `name` holding the same busybox base image (an
  // import is deterministic under SOURCE_DATE_EPOCH) and the frontend.
  std::string FreshRoot(const std::string& name) {
    ScopedEnv epoch("SOURCE_DATE_EPOCH", "0");
    fs::path work = dir_ / ("work-" + name);
    fs::create_directories(work);
    std::string root = (dir_ / ("root-" + name)).string();
    std::string error = cli_test::PrepareRoot(work, root);
    EXPECT_EQ(error, "");
    return root;
  }

  // The project: a context with files and a subdirectory, whose file times
  // are `mtime` (different per copy, all later than the epochs used).
  std::string Project(const std::string& name, time_t mtime) {
    fs::path ctx = dir_ / name;
    fs::create_directories(ctx / "sub/deeper");
    std::ofstream(ctx / "Dockerfile")
        << "FROM busybox\n"
           "ENV APP=/app GREETING=hello\n"
           "LABEL org.example.repro=yes\n"
           "WORKDIR /app\n"
           "COPY . /app/src/\n"
           "RUN echo \"${SOURCE_DATE_EPOCH:-unset}\" > /app/before && "
           "mkdir -p /app/out/deep && echo \"$GREETING\" > /app/out/deep/f && "
           "touch /app/stamp && ln -s stamp /app/link && "
           "ln /app/stamp /app/hard\n"
           "ARG SOURCE_DATE_EPOCH\n"
           "RUN echo \"epoch=$SOURCE_DATE_EPOCH\" > /app/epoch\n";
    std::ofstream(ctx / "a.txt") << "alpha\n";
    std::ofstream(ctx / "sub/b.txt") << "bravo\n";
    std::ofstream(ctx / "sub/deeper/c.bin") << std::string(5000, 'c');
    for (const auto& e : fs::recursive_directory_iterator(ctx)) {
      struct utimbuf t {
        mtime, mtime
      };
      utime(e.path().c_str(), &t);
    }
    return ctx.string();
  }

  // Builds `ctx` in `root` under SOURCE_DATE_EPOCH=`epoch` into
  // <dir>/<tag>.oci.tar, <dir>/<tag>.docker.tar and the image repro:1.
  CliRun Build(const std::string& root, const std::string& ctx,
               const char* epoch, const std::string& tag) {
    ScopedEnv env("SOURCE_DATE_EPOCH", epoch);
    std::string out = (dir_ / tag).string();
    return cli_test::RunKilnIn(
        dir_,
        "--root " + root + " build --progress quiet" +
            " -o type=oci,dest=" + out + ".oci.tar,rewrite-timestamp=true" +
            " -o type=docker,dest=" + out +
            ".docker.tar,name=repro:1,rewrite-timestamp=true" +
            " -o type=image,name=repro:1,rewrite-timestamp=true " + ctx,
        "");
  }

  // A file of the OCI archive <dir>/<tag>.oci.tar.
  std::string OciFile(const std::string& tag, const std::string& path) {
    return Sh("tar -xOf " + (dir_ / (tag + ".oci.tar")).string() + " " + path);
  }
  Json Manifest(const std::string& tag) {
    Json index = Json::parse(OciFile(tag, "index.json"));
    std::string digest = index["manifests"][0]["digest"];
    return Json::parse(OciFile(tag, "blobs/sha256/" + digest.substr(7)));
  }
  std::string ManifestDigest(const std::string& tag) {
    return Json::parse(OciFile(tag, "index.json"))["manifests"][0]["digest"];
  }
  std::string StoredDigest(const std::string& root) {
    CliRun r = cli_test::RunKilnIn(
        dir_, "--root " + root + " image inspect repro:1", "");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Json j = Json::parse(r.out, nullptr, false);
    if (j.is_array() && !j.empty()) j = j[0];
    return j.is_object() ? j["Descriptor"].value("digest", "") : "";
  }

  fs::path dir_;
};

TEST_F(ReproCliTest, FreshRootsGiveIdenticalImages) {
  std::string root_a = FreshRoot("a");
  std::string root_b = FreshRoot("b");
  std::string ctx_a = Project("ctx-a", time(nullptr));
  std::string ctx_b = Project("ctx-b", time(nullptr) + 3600);

  CliRun a = Build(root_a, ctx_a, "1700000000", "a");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CliRun b = Build(root_b, ctx_b, "1700000000", "b");
  ASSERT_EQ(b.exit_code, 0) << b.err;

  ASSERT_FALSE(ManifestDigest("a").empty());
  EXPECT_EQ(ManifestDigest("a"), ManifestDigest("b"));
  EXPECT_EQ(cli_test::Slurp(dir_ / "a.oci.tar"),
            cli_test::Slurp(dir_ / "b.oci.tar"));
  EXPECT_EQ(cli_test::Slurp(dir_ / "a.docker.tar"),
            cli_test::Slurp(dir_ / "b.docker.tar"));
  EXPECT_EQ(StoredDigest(root_a), ManifestDigest("a"));
  EXPECT_EQ(StoredDigest(root_b), ManifestDigest("a"));

  // The epoch came from the environment through the frontend's build arg.
  Json manifest = Manifest("a");
  std::string config_digest = manifest["config"]["digest"];
  Json config =
      Json::parse(OciFile("a", "blobs/sha256/" + config_digest.substr(7)));
  EXPECT_EQ(config["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(config["history"].back()["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(config["history"][0]["created"], "1970-01-01T00:00:00Z")
      << "the base image's entry keeps its time";
  // The build arg reaches RUN only where ARG declares it, as in BuildKit.
  std::string last = manifest["layers"].back()["digest"];
  std::string tar = (dir_ / "a.oci.tar").string();
  EXPECT_EQ(Sh("tar -xOf " + tar + " blobs/sha256/" + last.substr(7) +
               " | tar -xzO app/epoch"),
            "epoch=1700000000\n");
  std::string run = manifest["layers"][manifest["layers"].size() - 2]["digest"];
  EXPECT_EQ(Sh("tar -xOf " + tar + " blobs/sha256/" + run.substr(7) +
               " | tar -xzO app/before"),
            "unset\n");
  // Every time in the built layers is clamped to the epoch; the base
  // layer's older times (0) are kept.
  for (size_t i = 0; i < manifest["layers"].size(); ++i) {
    std::string d = manifest["layers"][i]["digest"];
    std::string times =
        Sh("tar -xOf " + tar + " blobs/sha256/" + d.substr(7) +
           " | tar -tvz --full-time | awk '{print $4\"T\"$5}' | sort -u");
    EXPECT_EQ(times, i == 0 ? "1970-01-01T00:00:00\n" : "2023-11-14T22:13:20\n")
        << "layer " << i;
  }
}

TEST_F(ReproCliTest, ADifferentEpochGivesADifferentImage) {
  std::string root_a = FreshRoot("a");
  std::string root_c = FreshRoot("c");
  std::string ctx = Project("ctx", time(nullptr));
  CliRun a = Build(root_a, ctx, "1700000000", "a");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CliRun c = Build(root_c, ctx, "1700000001", "c");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_FALSE(ManifestDigest("a").empty());
  EXPECT_NE(ManifestDigest("a"), ManifestDigest("c"));
  EXPECT_NE(StoredDigest(root_a), StoredDigest(root_c));
  // An explicit build arg wins over the environment.
  ScopedEnv env("SOURCE_DATE_EPOCH", "1700000001");
  CliRun d = cli_test::RunKilnIn(
      dir_,
      "--root " + root_a +
          " build --progress quiet --build-arg SOURCE_DATE_EPOCH=1700000000" +
          " -o type=oci,dest=" + (dir_ / "d.oci.tar").string() +
          ",rewrite-timestamp=true " + ctx,
      "");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(ManifestDigest("d"), ManifestDigest("a"));
  // A bad value is refused before anything runs.
  ScopedEnv bad("SOURCE_DATE_EPOCH", "yesterday");
  CliRun e = cli_test::RunKilnIn(
      dir_, "--root " + root_a + " build --progress quiet " + ctx, "");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_NE(e.err.find("SOURCE_DATE_EPOCH=\"yesterday\""), std::string::npos)
      << e.err;
}

// The in-toto statement of the attestation manifest in the OCI layout at
// `layout` (null when there is none).
Json AttestationStatement(const fs::path& layout) {
  auto blob = [&](const std::string& digest) {
    return cli_test::Slurp(layout / "blobs/sha256" / digest.substr(7));
  };
  Json top = Json::parse(cli_test::Slurp(layout / "index.json"));
  Json index = top;
  if (top["manifests"].size() == 1 &&
      top["manifests"][0]["mediaType"] ==
          "application/vnd.oci.image.index.v1+json") {
    index = Json::parse(blob(top["manifests"][0]["digest"]));
  }
  Json statement;
  for (const Json& m : index["manifests"]) {
    auto annotations = m.value("annotations", Json::object());
    if (annotations.value("vnd.docker.reference.type", "") ==
        "attestation-manifest") {
      Json manifest = Json::parse(blob(m["digest"]));
      EXPECT_EQ(manifest["layers"].size(), 1u) << manifest.dump();
      if (manifest["layers"].empty()) return Json();
      statement = Json::parse(blob(manifest["layers"][0]["digest"]));
    }
  }
  EXPECT_TRUE(statement.is_object()) << index.dump();
  return statement;
}

// --attest type=provenance through the real CLI: the OCI layout's index
// holds an attestation manifest whose in-toto statement carries the SLSA
// provenance predicate of this build; without the flag, no attestation.
TEST_F(ReproCliTest, ProvenanceIsAttachedOnlyWhenAsked) {
  std::string root = FreshRoot("p");
  std::string ctx = Project("ctx", time(nullptr));
  ScopedEnv env("SOURCE_DATE_EPOCH", "1700000000");
  std::string layout = (dir_ / "layout").string();
  CliRun b = cli_test::RunKilnIn(
      dir_,
      "--root " + root +
          " build --progress quiet"
          " --attest type=provenance,mode=max,reproducible=true"
          " -o type=oci,tar=false,dest=" +
          layout + " " + ctx,
      "");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  Json statement = AttestationStatement(layout);
  ASSERT_TRUE(statement.is_object());
  EXPECT_EQ(statement["predicateType"], "https://slsa.dev/provenance/v0.2");
  const Json& p = statement["predicate"];
  EXPECT_EQ(p["buildType"], "https://mobyproject.org/buildkit@v1");
  EXPECT_EQ(p["invocation"]["parameters"]["frontend"], "dockerfile.v0");
  EXPECT_EQ(
      p["invocation"]["parameters"]["args"]["build-arg:SOURCE_DATE_EPOCH"],
      "1700000000");
  EXPECT_EQ(p["invocation"]["parameters"]["locals"],
            Json::parse(R"([{"name":"context"},{"name":"dockerfile"}])"));
  EXPECT_EQ(p["invocation"]["configSource"]["entryPoint"], "Dockerfile");
  bool busybox = false;
  for (const Json& m : p["materials"]) {
    std::string uri = m["uri"];
    if (uri.starts_with("pkg:docker/busybox")) {
      busybox = true;
      EXPECT_EQ(m["digest"]["sha256"].get<std::string>().size(), 64u);
    }
  }
  EXPECT_TRUE(busybox) << p["materials"].dump();
  // mode=max: the LLB steps, the last one the RUN writing /app/epoch.
  const Json& steps = p["buildConfig"]["llbDefinition"];
  ASSERT_GE(steps.size(), 3u) << p.dump();
  EXPECT_NE(steps.back()["op"].dump().find("/app/epoch"), std::string::npos);
  EXPECT_FALSE(p["metadata"]["buildInvocationID"].get<std::string>().empty());
  EXPECT_EQ(p["metadata"]["reproducible"], true);
  EXPECT_EQ(p["metadata"]["completeness"]["parameters"], true);
  EXPECT_EQ(p["invocation"]["environment"]["platform"],
            llb::FormatPlatform(llb::HostPlatform()))
      << "the build machine's platform";

  // mode=min (the default): no build-arg or label values in the predicate.
  std::string min_layout = (dir_ / "min").string();
  CliRun m =
      cli_test::RunKilnIn(dir_,
                          "--root " + root +
                              " build --progress quiet --attest type=provenance"
                              " --build-arg PRIVATE_TOKEN=hunter2-private-arg"
                              " -o type=oci,tar=false,dest=" +
                              min_layout + " " + ctx,
                          "");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  Json min_statement = AttestationStatement(min_layout);
  ASSERT_TRUE(min_statement.is_object());
  const std::string min_dump = min_statement["predicate"].dump();
  EXPECT_EQ(min_dump.find("hunter2-private-arg"), std::string::npos)
      << min_dump;
  EXPECT_EQ(min_dump.find("build-arg:"), std::string::npos) << min_dump;
  EXPECT_EQ(
      min_statement["predicate"]["metadata"]["completeness"]["parameters"],
      false);
  EXPECT_EQ(min_statement["predicate"]["metadata"]["reproducible"], false);
  EXPECT_EQ(min_statement["predicate"]["invocation"]["environment"]["platform"],
            llb::FormatPlatform(llb::HostPlatform()));

  // Another provenance version than kiln's v0.2 is refused, not mislabeled.
  CliRun v1 = cli_test::RunKilnIn(
      dir_,
      "--root " + root +
          " build --progress quiet --attest type=provenance,version=v1"
          " -o type=oci,tar=false,dest=" +
          (dir_ / "v1").string() + " " + ctx,
      "");
  EXPECT_NE(v1.exit_code, 0);
  EXPECT_NE(
      v1.err.find("provenance version v1 is not supported by kiln (v0.2 only)"),
      std::string::npos)
      << v1.err;

  // Off unless asked for: a plain single-manifest layout.
  std::string plain = (dir_ / "plain").string();
  CliRun c = cli_test::RunKilnIn(dir_,
                                 "--root " + root +
                                     " build --progress quiet"
                                     " -o type=oci,tar=false,dest=" +
                                     plain + " " + ctx,
                                 "");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  Json plain_index =
      Json::parse(cli_test::Slurp(fs::path(plain) / "index.json"));
  ASSERT_EQ(plain_index["manifests"].size(), 1u);
  EXPECT_EQ(plain_index["manifests"][0]["mediaType"],
            "application/vnd.oci.image.manifest.v1+json");
  // SBOMs are refused, naming the scanner kiln lacks.
  CliRun sbom = cli_test::RunKilnIn(
      dir_, "--root " + root + " build --progress quiet --sbom true " + ctx,
      "");
  EXPECT_EQ(sbom.exit_code, 1);
  EXPECT_NE(sbom.err.find("docker/buildkit-syft-scanner"), std::string::npos)
      << sbom.err;
}

}  // namespace
}  // namespace kiln
