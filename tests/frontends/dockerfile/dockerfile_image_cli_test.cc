// End to end through the Dockerfile frontend IMAGE: a fresh kiln root gets a
// busybox base image (`kiln image import` of Debian's busybox-static) and
// kiln/dockerfile built by kiln itself (images/build); then the real kiln CLI
// builds Dockerfiles starting with `# syntax=docker/dockerfile:1` (remapped
// by the default policy to the installed image) with `--frontend
// dockerfile.v0`: stages and targets, cache and secret mounts, heredocs,
// named contexts, ONBUILD from a base built before, COPY --parents, and the
// exported files and image config. Needs root, runc and busybox-static.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../../cmd/cli_run.h"
#include "kiln/dockerfile/frontend.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;
using cli_test::Slurp;
using Json = nlohmann::json;

constexpr char kBusybox[] = "/bin/busybox";
constexpr char kSyntax[] = "# syntax=docker/dockerfile:1\n";

bool Sh(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

void Write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// One kiln root shared by the suite: preparing it (base image, frontend
// image) is the slow part.
class DockerfileImageCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || !Sh("command -v runc >/dev/null 2>&1") ||
        !fs::exists(kBusybox)) {
      skip_ = "needs root, runc and busybox-static";
      return;
    }
    suite_ = fs::temp_directory_path() /
             ("kiln-df-image-cli-" + std::to_string(getpid()));
    fs::remove_all(suite_);
    fs::path rootfs = suite_ / "busybox";
    for (const char* d : {"bin", "etc", "tmp", "root", "dev", "proc", "sys"})
      fs::create_directories(rootfs / d);
    fs::copy_file(kBusybox, rootfs / "bin/busybox");
    Write(rootfs / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    Write(rootfs / "etc/group", "root:x:0:\n");
    Write(suite_ / "busybox.json",
          R"({"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:)"
          R"(/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}})");
    // Relative links, as scripts/demo makes them.
    std::string links = "cd " + (rootfs / "bin").string() +
                        " && for a in $(./busybox --list); do [ $a = busybox ]"
                        " || ln -sf busybox $a; done";
    if (!Sh(links)) {
      setup_error_ = "linking busybox applets failed";
      return;
    }
    std::string root = (suite_ / "root").string();
    if (!Sh(std::string(KILN_BINARY) + " --root " + root +
            " image import --config " + (suite_ / "busybox.json").string() +
            " " + rootfs.string() + " busybox:latest >/dev/null")) {
      setup_error_ = "kiln image import of busybox failed";
      return;
    }
    std::string build =
        "KILN_DOCKERFILE_FRONTEND=" + std::string(KILN_DOCKERFILE_FRONTEND) +
        " " + KILN_SOURCE_DIR + "/images/build " + KILN_BINARY + " --root " +
        root + " >" + (suite_ / "images.out").string() + " 2>&1";
    if (!Sh(build)) {
      setup_error_ = "images/build failed: " +
                     Slurp(suite_ / "images.out").substr(0, 4000);
    }
  }
  static void TearDownTestSuite() {
    if (!suite_.empty()) fs::remove_all(suite_);
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    dir_ = suite_ /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  CliRun Kiln(const std::string& args) {
    return cli_test::RunKilnIn(
        dir_, "--root " + (suite_ / "root").string() + " " + args, "");
  }
  // `kiln build --frontend dockerfile.v0` of directory `ctx` (also the
  // dockerfile local) with `extra` flags.
  CliRun Build(const fs::path& ctx, const std::string& extra) {
    return Kiln(
        "build --frontend dockerfile.v0 --progress plain --local "
        "context=" +
        ctx.string() + " --local dockerfile=" + ctx.string() + " " + extra);
  }

  // The image config of an OCI archive written by --output type=oci.
  Json OciConfig(const fs::path& tar, const fs::path& into) {
    fs::create_directories(into);
    EXPECT_TRUE(Sh("tar -xf " + tar.string() + " -C " + into.string()));
    auto blob = [&](const std::string& digest) {
      return Json::parse(Slurp(into / "blobs/sha256" / digest.substr(7)));
    };
    Json index = Json::parse(Slurp(into / "index.json"));
    Json manifest = blob(index["manifests"][0]["digest"]);
    return blob(manifest["config"]["digest"]);
  }

  static inline fs::path suite_;
  static inline std::string skip_;
  static inline std::string setup_error_;
  fs::path dir_;
};

TEST_F(DockerfileImageCliTest, StagesTargetsMountsHeredocsAndParents) {
  fs::path ctx = dir_ / "ctx";
  Write(ctx / "Dockerfile",
        std::string(kSyntax) +
            "FROM busybox:latest AS build\n"
            "ARG BUST\n"
            "RUN --mount=type=cache,target=/cache echo run >> /cache/log && "
            "cp /cache/log /cachelog\n"
            "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > "
            "/secret-size\n"
            "RUN <<EOF\n"
            "echo \"heredoc $BUST\" > /heredoc.txt\n"
            "EOF\n"
            "FROM build AS leak\n"
            "RUN --mount=type=secret,id=tok cp /run/secrets/tok /copied\n"
            "FROM scratch AS out\n"
            "COPY --from=build /cachelog /secret-size /heredoc.txt /\n"
            "COPY --from=leak /copied /\n"
            "COPY --parents src/./a/b/*.txt src/c/**/*.txt /par/\n"
            "FROM out AS never\n"
            "RUN exit 1\n");
  Write(ctx / "src/a/b/x.txt", "x");
  Write(ctx / "src/a/b/skip.md", "no");
  Write(ctx / "src/c/y.txt", "y");
  Write(ctx / "src/c/d/z.txt", "z");
  Write(dir_ / "secret", "sekrit-value");
  std::string secret = " --secret id=tok,src=" + (dir_ / "secret").string();

  fs::path out1 = dir_ / "out1";
  CliRun r = Build(ctx, "--opt target=out --opt build-arg:BUST=1" + secret +
                            " --output type=local,dest=" + out1.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The default policy ran the installed frontend image.
  EXPECT_NE(r.err.find("[frontend] docker.io/kiln/dockerfile@sha256:"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Slurp(out1 / "cachelog"), "run\n");
  EXPECT_EQ(Slurp(out1 / "secret-size"), "12\n");
  EXPECT_EQ(Slurp(out1 / "heredoc.txt"), "heredoc 1\n");
  EXPECT_EQ(Slurp(out1 / "copied"), "sekrit-value");  // copied on purpose
  EXPECT_EQ(Slurp(out1 / "par/a/b/x.txt"), "x");
  EXPECT_FALSE(fs::exists(out1 / "par/a/b/skip.md"));
  EXPECT_EQ(Slurp(out1 / "par/src/c/y.txt"), "y");
  EXPECT_EQ(Slurp(out1 / "par/src/c/d/z.txt"), "z");
  EXPECT_FALSE(fs::exists(out1 / "par/src/a"));

  // A new BUST reruns the RUN, which sees the cache mount's earlier write.
  fs::path out2 = dir_ / "out2";
  r = Build(ctx, "--opt target=out --opt build-arg:BUST=2" + secret +
                     " --output type=local,dest=" + out2.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(out2 / "cachelog"), "run\nrun\n");
  EXPECT_EQ(Slurp(out2 / "heredoc.txt"), "heredoc 2\n");

  // The build stage as an OCI image: no secret bytes in any blob, and the
  // config inherits busybox's and records the instructions.
  fs::path tar = dir_ / "build.tar";
  r = Build(ctx, "--opt target=build --opt build-arg:BUST=2" + secret +
                     " --output type=oci,dest=" + tar.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json config = OciConfig(tar, dir_ / "oci");
  EXPECT_EQ(config["config"]["Cmd"], Json::array({"sh"}));
  EXPECT_EQ(config["architecture"], "amd64");
  ASSERT_TRUE(config["history"].is_array());
  bool heredoc_history = false;
  for (const Json& h : config["history"])
    heredoc_history |=
        h.value("created_by", "").find("RUN") == 0 &&
        h.value("created_by", "").find("heredoc") != std::string::npos;
  EXPECT_TRUE(heredoc_history) << config["history"].dump();
  EXPECT_FALSE(Sh("for b in " + (dir_ / "oci/blobs/sha256").string() +
                  "/*; do zcat -f $b; done | grep -q sekrit-value"));
  EXPECT_TRUE(Sh("for b in " + (dir_ / "oci/blobs/sha256").string() +
                 "/*; do zcat -f $b; done | grep -q 'heredoc 2'"));
}

TEST_F(DockerfileImageCliTest, ImageDeclaresItsFrontendCaps) {
  CliRun r = Kiln("image inspect kiln/dockerfile:1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json image = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(image.is_discarded()) << r.out;
  const Json& labels = image["Config"]["config"]["Labels"];
  // Exactly kiln::dockerfile::FrontendCaps(), joined.
  std::string caps;
  for (const std::string& cap : dockerfile::FrontendCaps()) {
    caps += (caps.empty() ? "" : ",") + cap;
  }
  EXPECT_EQ(labels.value("moby.buildkit.frontend.caps", ""), caps);
  EXPECT_EQ(labels.value("moby.buildkit.frontend.network.none", ""), "true");
  EXPECT_EQ(image["Config"]["config"]["Entrypoint"],
            Json::array({"/bin/kiln-dockerfile-frontend"}));
}

TEST_F(DockerfileImageCliTest, NamedContexts) {
  fs::path ctx = dir_ / "ctx";
  Write(ctx / "Dockerfile", std::string(kSyntax) +
                                "FROM base\n"
                                "COPY --from=assets note.txt /note.txt\n"
                                "RUN cat /note.txt > /seen && test -x /bin/sh\n"
                                "FROM scratch\n"
                                "COPY --from=0 /seen /note.txt /\n");
  Write(dir_ / "assets/note.txt", "from a second local");
  fs::path out = dir_ / "tree";  // "out" is the CLI stdout file
  CliRun r = Build(ctx,
                   "--opt context:base=docker-image://busybox:latest "
                   "--opt context:assets=local:assets --local assets=" +
                       (dir_ / "assets").string() +
                       " --output type=local,dest=" + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(out / "seen"), "from a second local");
  EXPECT_EQ(Slurp(out / "note.txt"), "from a second local");
}

TEST_F(DockerfileImageCliTest, OnbuildTriggersOfABaseBuiltBefore) {
  fs::path parent = dir_ / "parent";
  Write(parent / "Dockerfile",
        std::string(kSyntax) +
            "FROM busybox:latest\n"
            "ONBUILD COPY greeting.txt /greeting.txt\n"
            "ONBUILD RUN wc -c < /greeting.txt > /triggered\n"
            "RUN echo parent > /parent.txt\n");
  fs::path ptar = dir_ / "parent.tar";
  CliRun r = Build(parent,
                   "--output type=image,name=onbase:1 "
                   "--output type=oci,dest=" +
                       ptar.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json pconfig = OciConfig(ptar, dir_ / "poci");
  EXPECT_EQ(pconfig["config"]["OnBuild"],
            Json::array({"COPY greeting.txt /greeting.txt",
                         "RUN wc -c < /greeting.txt > /triggered"}));

  fs::path child = dir_ / "child";
  Write(child / "Dockerfile", std::string(kSyntax) +
                                  "FROM onbase:1\n"
                                  "RUN cat /triggered /parent.txt > /both\n");
  Write(child / "greeting.txt", "hello");
  fs::path out = dir_ / "tree";  // "out" is the CLI stdout file
  fs::path ctar = dir_ / "child.tar";
  r = Build(child, "--output type=local,dest=" + out.string() +
                       " --output type=oci,dest=" + ctar.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(out / "greeting.txt"), "hello");
  EXPECT_EQ(Slurp(out / "both"), "5\nparent\n");
  Json cconfig = OciConfig(ctar, dir_ / "coci");
  EXPECT_TRUE(cconfig["config"]["OnBuild"].is_null()) << cconfig.dump();
}

}  // namespace
}  // namespace kiln
