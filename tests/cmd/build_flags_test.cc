#include "build_flags.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace kiln::cli {
namespace {

using Args = std::vector<std::string>;

TEST(BuildFlagsTest, ParsesEveryFlag) {
  auto r = ParseBuildFlags({"--llb",
                            "def.pb",
                            "--local",
                            "context=/src",
                            "--local=dockerfile=/df",
                            "--oci-layout",
                            "store=/layout",
                            "--secret",
                            "id=tok,src=/run/tok",
                            "--secret",
                            "id=env1,env=TOKEN",
                            "--ssh",
                            "default",
                            "--ssh",
                            "git=/tmp/agent.sock",
                            "-o",
                            "type=local,dest=out",
                            "--output",
                            "type=image,name=example.com/app:1,push=true",
                            "--progress",
                            "plain",
                            "--allow",
                            "network.host",
                            "--allow=security.insecure",
                            "--platform",
                            "linux/arm64"});
  ASSERT_TRUE(r.ok()) << r.error;
  const BuildFlags& f = r.flags;
  EXPECT_EQ(f.llb, "def.pb");
  EXPECT_EQ(f.locals, (std::map<std::string, std::string>{
                          {"context", "/src"}, {"dockerfile", "/df"}}));
  EXPECT_EQ(f.oci_layouts,
            (std::map<std::string, std::string>{{"store", "/layout"}}));
  EXPECT_EQ(f.secrets, (Args{"id=tok,src=/run/tok", "id=env1,env=TOKEN"}));
  EXPECT_EQ(f.ssh, (Args{"default", "git=/tmp/agent.sock"}));
  EXPECT_EQ(f.outputs, (Args{"type=local,dest=out",
                             "type=image,name=example.com/app:1,push=true"}));
  EXPECT_EQ(f.progress, "plain");
  EXPECT_EQ(f.entitlements,
            (std::set<std::string>{"network.host", "security.insecure"}));
  ASSERT_TRUE(f.platform.has_value());
  EXPECT_EQ(llb::FormatPlatform(*f.platform), "linux/arm64");
  EXPECT_FALSE(f.help);
}

TEST(BuildFlagsTest, FrontendFlags) {
  auto r = ParseBuildFlags({"--frontend", "gateway.v0", "--opt",
                            "source=kiln/fe:1", "--opt", "build-arg:A=x=y",
                            "--opt", "target=", "--local", "context=/ctx"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.frontend, "gateway.v0");
  EXPECT_TRUE(r.flags.llb.empty());
  std::map<std::string, std::string> want = {
      {"source", "kiln/fe:1"}, {"build-arg:A", "x=y"}, {"target", ""}};
  EXPECT_EQ(r.flags.opts, want);
  // --frontend-exec alone runs the program as gateway.v0, no source needed.
  auto exec = ParseBuildFlags({"--frontend-exec", "/bin/fe", "--opt", "a=1"});
  ASSERT_TRUE(exec.ok()) << exec.error;
  EXPECT_EQ(exec.flags.frontend, "gateway.v0");
  EXPECT_EQ(exec.flags.frontend_exec, "/bin/fe");
}

TEST(BuildFlagsTest, Defaults) {
  auto r = ParseBuildFlags({"--llb", "-"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.flags.llb, "-");
  EXPECT_EQ(r.flags.progress, "auto");
  EXPECT_TRUE(r.flags.locals.empty());
  EXPECT_TRUE(r.flags.outputs.empty());
  EXPECT_TRUE(r.flags.entitlements.empty());
  EXPECT_FALSE(r.flags.platform.has_value());
}

TEST(BuildFlagsTest, EveryProgressMode) {
  for (const char* mode : {"auto", "plain", "tty", "rawjson", "quiet"}) {
    auto r = ParseBuildFlags({"--llb=x", "--progress", mode});
    ASSERT_TRUE(r.ok()) << mode << ": " << r.error;
    EXPECT_EQ(r.flags.progress, mode);
  }
}

TEST(BuildFlagsTest, Help) {
  auto r = ParseBuildFlags({"--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.flags.help);
  EXPECT_TRUE(ParseBuildFlags({"-h"}).flags.help);
  std::string_view usage = BuildUsage();
  for (const char* flag :
       {"--llb", "--local", "--oci-layout", "--secret", "--ssh", "--output",
        "--progress", "--allow", "--platform"}) {
    EXPECT_NE(usage.find(flag), std::string_view::npos) << flag;
  }
}

struct BadCase {
  Args args;
  std::string error;  // a substring of the expected message
};

TEST(BuildFlagsTest, UsageErrorsSayWhatIsWrong) {
  const std::vector<BadCase> cases = {
      {{}, "missing a build CONTEXT, --llb"},
      {{"--llb"}, "flag --llb needs a value"},
      {{"--llb", "a", "--llb", "b"}, "--llb given twice"},
      {{"--llb", "a", "x", "extra"}, "unexpected argument \"extra\""},
      {{"--llb", "a", "--bogus"}, "unknown flag --bogus"},
      {{"--llb", "a", "--local", "ctx"}, "--local \"ctx\": want NAME=DIR"},
      {{"--llb", "a", "--local", "=dir"}, "want NAME=DIR"},
      {{"--llb", "a", "--local", "ctx="}, "want NAME=DIR"},
      {{"--llb", "a", "--local", "c=/a", "--local", "c=/b"},
       "--local: c given twice"},
      {{"--llb", "a", "--oci-layout", "x"},
       "--oci-layout \"x\": want NAME=DIR"},
      {{"--llb", "a", "--secret", ""}, "--secret needs a value"},
      {{"--llb", "a", "--ssh="}, "--ssh needs a value"},
      {{"--llb", "a", "-o", ""}, "--output needs a value"},
      {{"--llb", "a", "--progress", "fancy"},
       "--progress \"fancy\": want auto, plain, tty, rawjson or quiet"},
      {{"--llb", "a", "--allow", "network.none"},
       "--allow \"network.none\": want network.host or security.insecure"},
      {{"--llb", "a", "--platform", "linux/amd64/v1/x"}, "--platform: "},
      {{"--llb", "a", "--frontend", "dockerfile.v0"},
       "--llb cannot be combined with --frontend"},
      {{"--llb", "a", "--opt", "k=v"}, "--opt needs --frontend"},
      {{"--frontend", "gateway.v0"},
       "--frontend gateway.v0 needs --opt source=IMAGE"},
      {{"--frontend", "dockerfile.v0", "--opt", "novalue"},
       "--opt \"novalue\": want KEY=VALUE"},
      {{"--frontend", "a", "--frontend", "b"}, "--frontend given twice"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseBuildFlags(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    ASSERT_FALSE(r.ok()) << joined;
    EXPECT_NE(r.error.find(c.error), std::string::npos)
        << joined << "→ " << r.error;
  }
}

}  // namespace
}  // namespace kiln::cli

namespace kiln::cli {
namespace {

TEST(BuildFlagsCallTest, CallSetsTheSubrequest) {
  for (auto [call, request] : {std::pair{"check", "frontend.lint"},
                               std::pair{"outline", "frontend.outline"},
                               std::pair{"targets", "frontend.targets"}}) {
    auto r = ParseBuildFlags(
        {"--frontend", "dockerfile.v0", "--call", call, "--opt", "a=1"});
    ASSERT_TRUE(r.ok()) << call << ": " << r.error;
    EXPECT_EQ(r.flags.call, call);
    EXPECT_EQ(r.flags.opts.at("requestid"), request);
    EXPECT_EQ(r.flags.opts.at("a"), "1");
  }
  // buildx's --call=build is a plain build.
  auto build = ParseBuildFlags({"--frontend=dockerfile.v0", "--call=build"});
  ASSERT_TRUE(build.ok()) << build.error;
  EXPECT_EQ(build.flags.call, "");
  EXPECT_FALSE(build.flags.opts.contains("requestid"));
  // The call wins over an --opt requestid.
  auto both = ParseBuildFlags({"--frontend-exec", "/bin/fe", "--opt",
                               "requestid=x", "--call", "check"});
  ASSERT_TRUE(both.ok()) << both.error;
  EXPECT_EQ(both.flags.opts.at("requestid"), "frontend.lint");
}

TEST(BuildFlagsCallTest, CallUsageErrors) {
  auto bad = ParseBuildFlags({"--frontend", "dockerfile.v0", "--call", "lint"});
  EXPECT_EQ(bad.error,
            "--call \"lint\": want build, check, outline or targets");
  auto no_frontend = ParseBuildFlags({"--llb", "x", "--call", "check"});
  EXPECT_EQ(no_frontend.error, "--call needs --frontend or --frontend-exec");
  auto output = ParseBuildFlags({"--frontend", "dockerfile.v0", "--call",
                                 "check", "-o", "type=local,dest=x"});
  EXPECT_EQ(output.error, "--call check exports nothing: drop --output");
  auto twice = ParseBuildFlags(
      {"--frontend", "dockerfile.v0", "--call", "check", "--call", "targets"});
  EXPECT_EQ(twice.error, "--call given twice");
}

}  // namespace
}  // namespace kiln::cli
