// Frontend inputs (Client::Inputs, reference frontend-images.md §6):
// "dockerfile" and "context" replace the local sources, any input is an
// `input:NAME` named context. In-process frontend against a real solver;
// needs root and runc (FrontendTest).
#include <gtest/gtest.h>

#include <string>

#include "frontend_fixture.h"
#include "kiln/llb/file.h"
#include "kiln/llb/state.h"

namespace kiln::dockerfile::testing {
namespace {

// A Definition of scratch with one file.
pb::Definition FileInput(const std::string& path, const std::string& data) {
  return llb::Scratch().File(llb::Mkfile(path, 0644, data)).Marshal().value();
}

TEST_F(FrontendTest, ContextAndDockerfileInputsReplaceTheLocals) {
  // The locals hold something else: the inputs must win.
  Write("Dockerfile", "FROM scratch\nCOPY <<EOF /from-local\nx\nEOF\n");
  Write("hello.txt", "from the local context");
  inputs_["dockerfile"] =
      FileInput("/Dockerfile", "FROM scratch\nCOPY hello.txt /copied.txt\n");
  inputs_["context"] = FileInput("/hello.txt", "from the context input");
  BuildRun run = RunBuild({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/copied.txt"), "from the context input");
  EXPECT_EQ(ResultFile(run, "/from-local"), "<missing>");
}

TEST_F(FrontendTest, InputNamedContext) {
  Write("Dockerfile",
        "FROM scratch\nCOPY --from=extra /data.txt /got.txt\n"
        "COPY --from=missing-ok /data.txt /also.txt\n");
  inputs_["extra"] = FileInput("/data.txt", "extra input");
  BuildRun run =
      RunBuild({"context:extra=input:extra", "context:missing-ok=input:extra"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/got.txt"), "extra input");
  EXPECT_EQ(ResultFile(run, "/also.txt"), "extra input");

  BuildRun bad =
      RunBuild({"context:extra=input:nope", "context:missing-ok=input:extra"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.result.error.code(), StatusCode::kNotFound)
      << bad.result.error.ToString();
}

}  // namespace
}  // namespace kiln::dockerfile::testing
