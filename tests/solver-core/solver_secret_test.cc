// Secrets through the Solver: a secret given as a file mount and as an env
// var reaches the process, and its bytes appear nowhere under $KILN_ROOT nor
// in the local, tar and oci exports of the result. Missing secrets: a
// required one fails naming its id, an optional one is skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>
#include <string>

#include "kiln/llb/exec.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/secret_providers.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::RunCommand;
using testing::WriteFile;

// 32 random characters: bytes that appear nowhere else by chance.
std::string RandomToken() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 32; ++i) out += kAlphabet[rd() % 36];
  return out;
}

class SolverSecretTest : public testing::SolverTest {
 protected:
  void AddSecret(const std::string& id, const std::string& value) {
    const std::string file = secret_dir_.path() + "/" + id;
    WriteFile(file, value);
    ASSERT_TRUE(secrets_.Add({.id = id, .file = file}).ok());
  }

  testing::TempDir secret_dir_{"kiln-secret-src"};
  MapSecretProvider secrets_;
};

TEST_F(SolverSecretTest, SecretReachesTheProcessAndLeavesNoTrace) {
  const std::string token = RandomToken();
  ASSERT_NO_FATAL_FAILURE(AddSecret("s", token));
  llb::State state =
      Busybox()
          .Run({.args = {"/bin/sh", "-c",
                         "test \"$(cat /run/secrets/s)\" = \"$S\" && "
                         "test ${#S} = 32 && "
                         "stat -c %a /run/secrets/s > /mode && "
                         "echo used > /marker"},
                .secrets = {{.id = "s",
                             .dest = "/run/secrets/s",
                             .env = "S",
                             .mode = 0400}}})
          .Root();
  SolveRequest request;
  request.secrets = &secrets_;
  testing::RecordingSink sink;
  request.progress = &sink;
  auto result = Solve(state, request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadResultFile(*result, "/marker"), "used\n");
  EXPECT_EQ(ReadResultFile(*result, "/mode"), "400\n");
  auto tree = Tree(*result);
  EXPECT_EQ(tree.count("run/secrets/s"), 0u);
  EXPECT_THAT(sink.logs(), ::testing::Not(HasSubstr(token)));

  // Export it every way that writes files.
  const std::string exports = root_ + "/exports";
  const std::string work = root_ + "/export-work";
  ASSERT_EQ(RunCommand({"mkdir", "-p", exports, work}).exit_code, 0);
  ExportEnv env{.snapshots = snapshots_.get(),
                .content = content_.get(),
                .images = images_.get(),
                .registry = nullptr,
                .layers = &solver_->layers(),
                .work_dir = work};
  ExportSource source{.snapshot = result->snapshot,
                      .platform = result->platform,
                      .image_config = "",
                      .created_by = result->created_by};
  for (const ExportRequest& req :
       {ExportRequest{"local", {{"dest", exports + "/local"}}},
        ExportRequest{"tar", {{"dest", exports + "/out.tar"}}},
        ExportRequest{"oci", {{"dest", exports + "/oci"}, {"tar", "false"}}},
        ExportRequest{"oci", {{"dest", exports + "/oci.tar"}}}}) {
    auto exported = Export(req, source, env);
    ASSERT_TRUE(exported.ok())
        << req.type << ": " << exported.status().ToString();
  }
  EXPECT_EQ(ReadFile(exports + "/local/marker"), "used\n");
  struct stat st;
  ASSERT_EQ(stat((exports + "/out.tar").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1024);
  ASSERT_EQ(stat((exports + "/oci/index.json").c_str(), &st), 0);

  // grep exits 1 when nothing matches, 0 (listing files) when something does.
  auto grep = RunCommand({"grep", "-r", "-a", "-l", token, root_});
  EXPECT_EQ(grep.exit_code, 1) << "secret found under $KILN_ROOT in:\n"
                               << grep.output;
  // A decoy proves the grep can find things: the marker is in the exports.
  auto decoy = RunCommand({"grep", "-r", "-a", "-l", "used", exports});
  EXPECT_EQ(decoy.exit_code, 0) << decoy.output;
}

TEST_F(SolverSecretTest, MissingRequiredSecretFailsNamingTheId) {
  llb::State state = Busybox()
                         .Run({.args = {"/bin/sh", "-c", "echo ran > /ran"},
                               .secrets = {{.id = "absent-secret-id",
                                            .dest = "/run/secrets/x"}}})
                         .Root();
  SolveRequest request;
  request.secrets = &secrets_;
  auto result = Solve(state, request);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("absent-secret-id"));

  // No provider at all: also a clear failure naming the id.
  auto none = Solve(state);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("absent-secret-id"));
}

TEST_F(SolverSecretTest, MissingOptionalSecretIsSkipped) {
  llb::State state =
      Busybox()
          .Run({.args = {"/bin/sh", "-c",
                         "test ! -e /run/secrets/opt && test -z \"$OPT\" && "
                         "echo skipped > /ran"},
                .secrets = {{.id = "opt",
                             .dest = "/run/secrets/opt",
                             .env = "OPT",
                             .optional = true}}})
          .Root();
  SolveRequest request;
  request.secrets = &secrets_;
  auto result = Solve(state, request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadResultFile(*result, "/ran"), "skipped\n");
  EXPECT_EQ(Tree(*result).count("run/secrets/opt"), 0u);
}

}  // namespace
}  // namespace kiln::solver
