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

TEST_F(FrontendTest, InputMetadataConfigAppliesToInputContext) {
  Write("Dockerfile", "FROM base\nENV B=1\n");
  inputs_["built"] = FileInput("/data.txt", "built input");
  // {"containerimage.config": base64 of a config with Env and WorkingDir},
  // as Go marshals map[string][]byte.
  BuildRun run = RunBuild(
      {"context:base=input:built",
       R"(input-metadata:built={"containerimage.config": "eyJhcmNoaXRlY3R1cmUiOiJhbWQ2NCIsIm9zIjoibGludXgiLCJjb25maWciOnsiRW52IjpbIkZST01fSU5QVVQ9MSJdLCJXb3JraW5nRGlyIjoiL3cifX0="})"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/data.txt"), "built input");
  EXPECT_NE(run.Config().find("FROM_INPUT=1"), std::string::npos)
      << run.Config();
  EXPECT_NE(run.Config().find("\"WorkingDir\":\"/w\""), std::string::npos)
      << run.Config();

  BuildRun bad =
      RunBuild({"context:base=input:built", "input-metadata:built=[1]"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.result.error.code(), StatusCode::kInvalidArgument)
      << bad.result.error.ToString();
}

}  // namespace
}  // namespace kiln::dockerfile::testing
