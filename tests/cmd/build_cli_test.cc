// Drives the real `kiln build`: usage errors, and (once the solver is linked)
// a file-op build exported to a directory and to a tar on stdout, the
// progress modes, the cache on a second run and failures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

using cli_test::CliRun;
using cli_test::Slurp;

class BuildCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-build-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `kiln --root DIR/root build ARGS` with `input` on stdin.
  CliRun Build(const std::string& args, const std::string& input = "") {
    return cli_test::RunKilnIn(
        dir_, "--root " + (dir_ / "root").string() + " build " + args, input);
  }

  // A Definition writing /hello and /dir/nested on scratch (no exec: no
  // runtime or root needed).
  std::string FileDefinition() {
    auto def = llb::Scratch()
                   .File(llb::Mkfile("/hello", 0644, "hi\n"))
                   .File(llb::Mkdir("/dir", 0755))
                   .File(llb::Mkfile("/dir/nested", 0600, "deep"))
                   .Marshal();
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    return llb::SerializeDefinition(*def);
  }

  fs::path dir_;
};

TEST_F(BuildCliTest, UsageErrorsExitTwo) {
  CliRun r = Build("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing a build CONTEXT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Usage: kiln build"), std::string::npos);

  r = Build("--llb - --progress fancy");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--progress \"fancy\""), std::string::npos) << r.err;

  r = Build("--llb - --local nodir");
  EXPECT_EQ(r.exit_code, 2);

  r = Build("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--oci-layout NAME=DIR"), std::string::npos);
}

TEST_F(BuildCliTest, BadOutputSpecIsAUsageError) {
  CliRun r = Build("--llb - -o dest=out", FileDefinition());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--output"), std::string::npos) << r.err;
}

TEST_F(BuildCliTest, ExportsToADirectoryAndCachesTheSecondRun) {
  fs::path out = dir_ / "result";
  std::string def = FileDefinition();
  CliRun r = Build(
      "--llb - --progress plain --output type=local,dest=" + out.string(), def);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(out / "hello"), "hi\n");
  EXPECT_EQ(Slurp(out / "dir" / "nested"), "deep");
  EXPECT_EQ(fs::status(out / "dir" / "nested").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_NE(r.err.find("#1 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" DONE "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exported type=local"), std::string::npos) << r.err;

  fs::remove_all(out);
  r = Build("--llb - --progress plain -o type=local,dest=" + out.string(), def);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(" CACHED\n"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(out / "hello"), "hi\n");
}

TEST_F(BuildCliTest, TarToStdoutAndRawJsonProgress) {
  fs::path def_file = dir_ / "def.pb";
  { std::ofstream(def_file, std::ios::binary) << FileDefinition(); }
  CliRun r = Build("--llb " + def_file.string() +
                   " --progress rawjson --output type=tar,dest=-");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A ustar archive: the member names and the file's bytes are in it.
  EXPECT_NE(r.out.find("hello"), std::string::npos);
  EXPECT_NE(r.out.find("ustar"), std::string::npos);
  EXPECT_NE(r.out.find("hi\n"), std::string::npos);
  std::istringstream lines(r.err);
  std::string line;
  int vertexes = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j.contains("vertexes")) ++vertexes;
  }
  EXPECT_GT(vertexes, 0) << r.err;
}

TEST_F(BuildCliTest, FailuresExitOneWithAnError) {
  CliRun r = Build("--llb - --progress quiet", "not a definition");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;

  r = Build("--llb " + (dir_ / "missing.pb").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.pb"), std::string::npos) << r.err;

  // A local source that was not given with --local.
  auto def = llb::Local("context").Marshal();
  ASSERT_TRUE(def.ok());
  r = Build("--llb - --progress plain", llb::SerializeDefinition(*def));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kiln
