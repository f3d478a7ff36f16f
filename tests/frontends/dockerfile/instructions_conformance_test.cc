// ParseInstructions over upstream's 33 parser golden files
// (../shared/conformance/dockerfile-parser/<case>/Dockerfile): each file
// either gives stages or is rejected with the error upstream's instructions
// layer gives it too (listed in kRejected with the reason).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "conformance_cases.h"
#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/parser.h"

namespace kiln::dockerfile {
namespace {

namespace fs = std::filesystem;

using conformance_cases::CaseName;
using conformance_cases::ReadFile;

fs::path CasesDir() {
  return conformance_cases::ConformanceDir() / "dockerfile-parser";
}

std::vector<std::string> CaseNames() {
  return conformance_cases::CaseNames(CasesDir());
}

// The files upstream's instructions.Parse rejects as well: case → the
// expected message (the whole message, offending line quoted) and line.
struct Rejection {
  std::string message;
  int line;
};
const std::map<std::string, Rejection>& Rejected() {
  static const std::map<std::string, Rejection> kRejected = {
      // COPY knows no --user flag (the file only tests the parser's flags).
      {"flags", {"unknown flag: --user: \"COPY --user=me foo /tmp/\"", 3}},
      // A bare HEALTHCHECK has no arguments.
      {"health",
       {"HEALTHCHECK requires at least one argument: "
        "\"HEALTHCHECK\"",
        4}},
      // No FROM at all: the file is a parser test; upstream's
      // instructions.Parse fails on the first command the same way.
      {"jeztah-invalid-json-json-inside-string",
       {R"(no build stage in current context: "CMD '[\"echo\", \"Well, JSON in a string is JSON too?\"]'")",
        1}},
      {"jeztah-invalid-json-json-inside-string-double",
       {R"(no build stage in current context: "CMD \"[\\\"echo\\\", \\\"Phew, I just managed to escaped those double quotes\\\"]\"")",
        1}},
      {"jeztah-invalid-json-single-quotes",
       {R"(no build stage in current context: "CMD ['echo','single quotes are invalid JSON']")",
        1}},
      {"jeztah-invalid-json-unterminated-bracket",
       {R"(no build stage in current context: "CMD [\"echo\", \"Please, close the brackets when you're done\"")",
        1}},
      {"jeztah-invalid-json-unterminated-string",
       {R"(no build stage in current context: "CMD [\"echo\", \"look ma, no quote!]")",
        1}},
      {"json", {R"(no build stage in current context: "CMD []")", 1}},
  };
  return kRejected;
}

TEST(DockerfileInstructionsConformance, AllCasesPresent) {
  EXPECT_EQ(CaseNames().size(), 33u) << CasesDir();
  for (const auto& [name, rejection] : Rejected())
    EXPECT_TRUE(fs::exists(CasesDir() / name / "Dockerfile")) << name;
}

class InstructionsGolden : public testing::TestWithParam<std::string> {};

TEST_P(InstructionsGolden, ParsesOrFailsClearly) {
  const std::string text = ReadFile(CasesDir() / GetParam() / "Dockerfile");
  Result<ParseResult> parsed = Parse(text, "Dockerfile");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Result<ParsedDockerfile> result = ParseInstructions(*parsed);
  auto rejected = Rejected().find(GetParam());
  if (rejected != Rejected().end()) {
    ASSERT_FALSE(result.ok()) << "expected a rejection";
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(), rejected->second.message);
    ASSERT_FALSE(result.status().ranges().empty());
    EXPECT_EQ(result.status().ranges()[0].file, "Dockerfile");
    EXPECT_EQ(result.status().ranges()[0].line, rejected->second.line);
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // Every instruction lands somewhere: meta ARGs, FROMs or commands.
  size_t count = result->meta_args.size();
  for (const Stage& stage : result->stages) count += 1 + stage.commands.size();
  EXPECT_EQ(count, parsed->children.size());
  ASSERT_FALSE(result->stages.empty());
  for (const Stage& stage : result->stages) {
    EXPECT_FALSE(stage.base.empty());
    for (const Command& command : stage.commands)
      EXPECT_GE(BaseOf(command).range.line, stage.range.line);
  }
}

INSTANTIATE_TEST_SUITE_P(Upstream, InstructionsGolden,
                         testing::ValuesIn(CaseNames()), CaseName);

}  // namespace
}  // namespace kiln::dockerfile
