// Drives the real `kiln` binary: `kiln debug dump-llb` on good and bad input.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cli_run.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

using cli_test::CliRun;

// Runs `kiln args...` with `input` on stdin, in a temporary directory.
CliRun RunKiln(const std::string& args, const std::string& input) {
  fs::path dir = fs::temp_directory_path() / ("kiln-cli-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  CliRun r = cli_test::RunKilnIn(dir, args, input);
  fs::remove_all(dir);
  return r;
}

std::string ValidDefinition() {
  llb::RunOptions run;
  run.args = {"/bin/sh", "-c", "echo hi > /x"};
  auto def = llb::Image("busybox").Run(run).Marshal();
  EXPECT_TRUE(def.ok());
  return llb::SerializeDefinition(*def);
}

TEST(DumpLlb, PrintsOneJsonLinePerOp) {
  CliRun r = RunKiln("debug dump-llb", ValidDefinition());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);  // image, exec, terminal
  EXPECT_NE(r.out.find("\"identifier\":\"docker-image://docker.io/library/busybox:latest\""),
            std::string::npos);
  EXPECT_NE(r.out.find("\"args\":[\"/bin/sh\",\"-c\",\"echo hi \\u003e /x\"]"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(DumpLlb, ReadsAFileArgument) {
  fs::path p = fs::temp_directory_path() / ("kiln-def-" + std::to_string(getpid()));
  std::ofstream(p, std::ios::binary) << ValidDefinition();
  CliRun r = RunKiln("debug dump-llb " + p.string(), "");
  fs::remove(p);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
}

TEST(DumpLlb, DotOutput) {
  CliRun r = RunKiln("debug dump-llb --dot", ValidDefinition());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("digraph {", 0), 0u);
  EXPECT_NE(r.out.find("->"), std::string::npos);
}

TEST(DumpLlb, TruncatedBytesFailCleanly) {
  std::string def = ValidDefinition();
  for (size_t cut : {def.size() / 2, def.size() - 1, size_t{3}}) {
    CliRun r = RunKiln("debug dump-llb", def.substr(0, cut));
    EXPECT_EQ(r.exit_code, 1) << "cut at " << cut << ": " << r.err;
    EXPECT_NE(r.err.find("kiln debug dump-llb:"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "partial output for cut " << cut;
  }
}

TEST(DumpLlb, GarbageFailsCleanly) {
  CliRun r = RunKiln("debug dump-llb", std::string("\xff\xff\xff\xff not protobuf", 18));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot decode definition"), std::string::npos) << r.err;
}

TEST(DumpLlb, BadDigestReferenceNamesTheOp) {
  auto def = llb::Image("busybox").Run({.args = {"true"}}).Marshal();
  ASSERT_TRUE(def.ok());
  // Point the exec op's input at an op that is not in the definition.
  pb::Op exec;
  ASSERT_TRUE(exec.ParseFromString(def->def(1)));
  exec.mutable_inputs(0)->set_digest("sha256:" + std::string(64, 'a'));
  def->set_def(1, exec.SerializeAsString());
  CliRun r = RunKiln("debug dump-llb", llb::SerializeDefinition(*def));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("sha256:" + std::string(64, 'a')), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not in the definition"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(Digest::FromBytes(def->def(1)).str()), std::string::npos)
      << "error should name the op: " << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(DumpLlb, MalformedDigestReference) {
  auto def = llb::Image("busybox").Run({.args = {"true"}}).Marshal();
  ASSERT_TRUE(def.ok());
  pb::Op exec;
  ASSERT_TRUE(exec.ParseFromString(def->def(1)));
  exec.mutable_inputs(0)->set_digest("sha256:nothex");
  def->set_def(1, exec.SerializeAsString());
  CliRun r = RunKiln("debug dump-llb", llb::SerializeDefinition(*def));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid digest"), std::string::npos) << r.err;
}

TEST(DumpLlb, EmptyDefinitionIsAnError) {
  CliRun r = RunKiln("debug dump-llb", "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("empty definition"), std::string::npos) << r.err;
}

TEST(DumpLlb, MissingTerminalOp) {
  auto def = llb::Image("busybox").Marshal();
  ASSERT_TRUE(def.ok());
  def->mutable_def()->RemoveLast();
  CliRun r = RunKiln("debug dump-llb", llb::SerializeDefinition(*def));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("terminal op"), std::string::npos) << r.err;
}

TEST(DumpLlb, UndecodableOpNamesItsDigest) {
  auto def = llb::Image("busybox").Marshal();
  ASSERT_TRUE(def.ok());
  std::string junk("\x0a\x05\x01", 3);  // a length-delimited field cut short
  def->set_def(0, junk);
  CliRun r = RunKiln("debug dump-llb", llb::SerializeDefinition(*def));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(Digest::FromBytes(junk).str()), std::string::npos) << r.err;
}

TEST(KilnCli, HelpAndUsageErrors) {
  CliRun help = RunKiln("--help", "");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("debug dump-llb"), std::string::npos);
  CliRun sub = RunKiln("debug dump-llb --help", "");
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.out.find("--dot"), std::string::npos);
  EXPECT_EQ(RunKiln("frobnicate", "").exit_code, 2);
  EXPECT_EQ(RunKiln("debug dump-llb --bogus", "").exit_code, 2);
  EXPECT_EQ(RunKiln("", "").exit_code, 2);
}

}  // namespace
}  // namespace kiln
