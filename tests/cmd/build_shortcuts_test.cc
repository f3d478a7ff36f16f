// The docker-style spelling of `kiln build` (build_shortcuts.h): what each
// shortcut becomes in BuildFlags, and its errors.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "build_flags.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;
using Args = std::vector<std::string>;
using Map = std::map<std::string, std::string>;

class BuildShortcutsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-shortcuts-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ctx");
    fs::create_directories(dir_ / "df");
    fs::create_directories(dir_ / "extra");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& rel) { return (dir_ / rel).string(); }

  fs::path dir_;
};

TEST_F(BuildShortcutsTest, ContextDirectoryIsTheDockerfileFrontend) {
  auto r = ParseBuildFlags({"-t", "hello:1", P("ctx")});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.frontend, "dockerfile.v0");
  EXPECT_TRUE(r.flags.frontend_exec.empty());
  EXPECT_EQ(r.flags.locals,
            (Map{{"context", P("ctx")}, {"dockerfile", P("ctx")}}));
  EXPECT_TRUE(r.flags.opts.empty());
  // -t without -o: the image store, under every name (quoted CSV).
  EXPECT_EQ(r.flags.outputs, (Args{"type=image,\"name=hello:1\""}));
  EXPECT_FALSE(r.flags.dockerfile_stdin);
}

TEST_F(BuildShortcutsTest, EveryShortcutBecomesAnOpt) {
  setenv("KILN_SHORTCUT_FROM_ENV", "env-value", 1);
  unsetenv("KILN_SHORTCUT_UNSET");
  auto r = ParseBuildFlags({"-f",
                            P("df/App.dockerfile"),
                            "--build-arg",
                            "A=1",
                            "--build-arg=B=x=y",
                            "--build-arg",
                            "KILN_SHORTCUT_FROM_ENV",
                            "--build-arg",
                            "KILN_SHORTCUT_UNSET",
                            "--target",
                            "app",
                            "--platform",
                            "linux/amd64,linux/arm64",
                            "--label",
                            "org.x=y",
                            "--no-cache",
                            "--pull",
                            "--build-context",
                            "extra=" + P("extra"),
                            "--build-context",
                            "base=docker-image://busybox:1",
                            "--build-context",
                            "repo=https://github.com/x/y.git",
                            "--progress",
                            "plain",
                            P("ctx")});
  ASSERT_TRUE(r.ok()) << r.error;
  const BuildFlags& f = r.flags;
  EXPECT_EQ(f.locals, (Map{{"context", P("ctx")},
                           {"dockerfile", P("df")},
                           {"extra", P("extra")}}));
  EXPECT_EQ(f.opts, (Map{{"filename", "App.dockerfile"},
                         {"build-arg:A", "1"},
                         {"build-arg:B", "x=y"},
                         {"build-arg:KILN_SHORTCUT_FROM_ENV", "env-value"},
                         {"target", "app"},
                         {"platform", "linux/amd64,linux/arm64"},
                         {"label:org.x", "y"},
                         {"no-cache", ""},
                         {"image-resolve-mode", "pull"},
                         {"context:extra", "local:extra"},
                         {"context:base", "docker-image://busybox:1"},
                         {"context:repo", "https://github.com/x/y.git"}}));
  // With a CONTEXT, --platform is the frontend's, not the ops' default.
  EXPECT_FALSE(f.platform.has_value());
  EXPECT_TRUE(f.outputs.empty());
  EXPECT_EQ(f.progress, "plain");
}

TEST_F(BuildShortcutsTest, RelativeDockerfileWithoutDirectory) {
  auto r = ParseBuildFlags({"--file=Dockerfile.dev", P("ctx")});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.locals.at("dockerfile"), ".");
  EXPECT_EQ(r.flags.opts.at("filename"), "Dockerfile.dev");
}

TEST_F(BuildShortcutsTest, TagsNameTheOutputsThatTakeNames) {
  auto r =
      ParseBuildFlags({"-t", "a:1", "--tag", "example.com/b:2", "-o",
                       "type=oci,dest=x.tar", "-o", "type=local,dest=out", "-o",
                       "type=docker,dest=y.tar,name=kept:1", P("ctx")});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(
      r.flags.outputs,
      (Args{"type=oci,dest=x.tar,\"name=a:1,example.com/b:2\"",
            "type=local,dest=out", "type=docker,dest=y.tar,name=kept:1"}));
  // With --call nothing is exported, tags or not.
  auto call = ParseBuildFlags({"-t", "a:1", "--call", "check", P("ctx")});
  ASSERT_TRUE(call.ok()) << call.error;
  EXPECT_TRUE(call.flags.outputs.empty());
  // -t works for LLB builds too.
  auto llb = ParseBuildFlags({"--llb", "def.pb", "-t", "x"});
  ASSERT_TRUE(llb.ok()) << llb.error;
  EXPECT_EQ(llb.flags.outputs, (Args{"type=image,\"name=x\""}));
}

TEST_F(BuildShortcutsTest, RemoteContextIsAnOpt) {
  auto r = ParseBuildFlags(
      {"-f", "sub/Dockerfile", "https://github.com/moby/buildkit.git#v0.13"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.flags.locals.empty());
  EXPECT_EQ(r.flags.opts,
            (Map{{"context", "https://github.com/moby/buildkit.git#v0.13"},
                 {"filename", "sub/Dockerfile"}}));
}

TEST_F(BuildShortcutsTest, DockerfileFromStdin) {
  auto r = ParseBuildFlags({"-"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.flags.dockerfile_stdin);
  EXPECT_TRUE(r.flags.context_stdin);
  std::FILE* in = std::tmpfile();
  ASSERT_NE(in, nullptr);
  std::fputs("FROM scratch\n", in);
  std::rewind(in);
  auto dir = ReadStdinDockerfile(r.flags, in, dir_.string());
  std::fclose(in);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  ASSERT_FALSE(dir->empty());
  std::ifstream df(r.flags.locals.at("dockerfile") + "/Dockerfile");
  std::string text((std::istreambuf_iterator<char>(df)), {});
  EXPECT_EQ(text, "FROM scratch\n");
  EXPECT_TRUE(fs::is_empty(r.flags.locals.at("context")));
  EXPECT_EQ(r.flags.opts.at("filename"), "Dockerfile");

  // -f - keeps the CONTEXT directory.
  auto f = ParseBuildFlags({"-f", "-", P("ctx")});
  ASSERT_TRUE(f.ok()) << f.error;
  EXPECT_TRUE(f.flags.dockerfile_stdin);
  EXPECT_FALSE(f.flags.context_stdin);
  EXPECT_EQ(f.flags.locals.at("context"), P("ctx"));
  EXPECT_FALSE(f.flags.locals.contains("dockerfile"));
  // Without it, nothing is read.
  BuildFlags plain;
  auto none = ReadStdinDockerfile(plain, stdin, dir_.string());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

struct BadCase {
  Args args;
  std::string error;
  int exit_code = 2;
};

TEST_F(BuildShortcutsTest, ErrorsNameTheFlag) {
  const std::vector<BadCase> cases = {
      {{"--llb", "def.pb", P("ctx")}, "cannot be combined with --llb"},
      {{"--frontend-exec", "/bin/fe", P("ctx")},
       "cannot be combined with --frontend-exec"},
      {{"--frontend", "gateway.v0", "--opt", "source=x", P("ctx")},
       "cannot be combined with --frontend gateway.v0"},
      {{P("ctx"), P("df")}, "unexpected argument"},
      {{"-f", "x", "--llb", "d"}, "-f/--file needs a build CONTEXT"},
      {{"--llb", "d", "--build-arg", "A=1"},
       "--build-arg needs a build CONTEXT"},
      {{"--build-arg", "=1", P("ctx")}, "--build-arg \"=1\": want NAME=VALUE"},
      {{"--label", "novalue", P("ctx")}, "--label \"novalue\""},
      {{"--target", "a", "--target", "b", P("ctx")}, "--target given twice"},
      {{"--platform", "linux/amd64,", P("ctx")}, "--platform \"\""},
      {{"-t", "UPPER:1", P("ctx")}, "-t \"UPPER:1\": "},
      {{"--tag", "", P("ctx")}, "-t \"\": "},
      {{"--local", "context=/x", P("ctx")},
       "--local context cannot be combined with a build CONTEXT"},
      {{"--build-context", "x", P("ctx")},
       "--build-context \"x\": want NAME=VALUE"},
      {{"--build-context", "x=/no/such/dir", P("ctx")},
       "--build-context x=/no/such/dir: not a directory"},
      {{"--build-context", "context=" + P("extra"), P("ctx")}, "reserved"},
      {{"-f", "Dockerfile", "-"}, "-f cannot be combined with the CONTEXT"},
      {{"--bogus", P("ctx")}, "unknown flag --bogus"},
      {{"-x", P("ctx")}, "unknown flag -x"},
      {{P("no-such-dir")},
       "build CONTEXT \"" + P("no-such-dir") + "\": not a directory",
       1},
      {{"--cache-from", "type=gha,scope=x", P("ctx")},
       "--cache-from \"type=gha,scope=x\": cache type gha is not supported "
       "by kiln (supported: registry, local, inline)"},
      {{"--cache-to=type=inline,mode=max", P("ctx")},
       "cache mode=max: want min"},
      {{"--llb", "x", "--export-cache", "type=local,src=c"},
       "--export-cache \"type=local,src=c\": cache type local: unknown "
       "attribute \"src\""},
      {{"--llb", "x", "--import-cache", "type=local,dest=c"},
       "cache type local: unknown attribute \"dest\""},
      {{"--llb", "x", "--export-cache", "type=registry,ref=r/x,mode=all"},
       "cache mode=all: want max, min"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseBuildFlags(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    ASSERT_FALSE(r.ok()) << joined;
    EXPECT_NE(r.error.find(c.error), std::string::npos)
        << joined << "→ " << r.error;
    EXPECT_EQ(r.exit_code, c.exit_code) << joined;
  }
}

TEST_F(BuildShortcutsTest, CacheFlagsAreCollectedInOrder) {
  auto r = ParseBuildFlags(
      {"--cache-from", "127.0.0.1:5000/app:cache", "--cache-to",
       "type=registry,ref=127.0.0.1:5000/app:cache,mode=max", "--import-cache",
       "type=local,src=/c", "--export-cache", "type=local,dest=/d", P("ctx")});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.cache_exports,
            (std::vector<std::string>{"type=local,dest=/d",
                                      "type=registry,ref=127.0.0.1:5000/"
                                      "app:cache,mode=max"}));
  EXPECT_EQ(r.flags.cache_imports,
            (std::vector<std::string>{"type=local,src=/c",
                                      "127.0.0.1:5000/app:cache"}));
}

TEST_F(BuildShortcutsTest, UsageDescribesTheDockerForm) {
  std::string_view usage = BuildUsage();
  for (const char* s : {"CONTEXT", "-f, --file", "-t, --tag", "--build-arg",
                        "--target", "--label", "--no-cache", "--pull",
                        "--build-context", "--cache-from", "130"}) {
    EXPECT_NE(usage.find(s), std::string_view::npos) << s;
  }
}

}  // namespace
}  // namespace kiln::cli
