// Upstream BuildKit's parser golden files (../shared/conformance/):
// dockerfile-parser/<case>/{Dockerfile,result}: Dump()+"\n" must equal
// `result` byte for byte; dockerfile-parser-negative/<case>/Dockerfile must be
// rejected; dockerfile-parser-lines/Dockerfile must give upstream's line spans.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "conformance_cases.h"
#include "kiln/dockerfile/parser.h"

namespace kiln::dockerfile {
namespace {

namespace fs = std::filesystem;

using conformance_cases::CaseName;
using conformance_cases::ConformanceDir;
using conformance_cases::ReadFile;

std::vector<std::string> CaseNames(const std::string& folder) {
  return conformance_cases::CaseNames(ConformanceDir() / folder);
}

TEST(DockerfileParserConformance, DataIsPresent) {
  ASSERT_TRUE(fs::exists(ConformanceDir() / "dockerfile-parser"))
      << "missing " << ConformanceDir() / "dockerfile-parser";
  EXPECT_EQ(CaseNames("dockerfile-parser").size(), 33u);
  EXPECT_EQ(CaseNames("dockerfile-parser-negative").size(), 4u);
  EXPECT_TRUE(
      fs::exists(ConformanceDir() / "dockerfile-parser-lines" / "Dockerfile"));
}

class GoldenDump : public testing::TestWithParam<std::string> {};

TEST_P(GoldenDump, MatchesUpstreamResult) {
  const fs::path dir = ConformanceDir() / "dockerfile-parser" / GetParam();
  Result<ParseResult> parsed =
      Parse(ReadFile(dir / "Dockerfile"), "Dockerfile");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(Dump(*parsed) + "\n", ReadFile(dir / "result"));
}

INSTANTIATE_TEST_SUITE_P(Upstream, GoldenDump,
                         testing::ValuesIn(CaseNames("dockerfile-parser")),
                         CaseName);

class NegativeCase : public testing::TestWithParam<std::string> {};

TEST_P(NegativeCase, IsRejected) {
  const fs::path file = ConformanceDir() / "dockerfile-parser-negative" /
                        GetParam() / "Dockerfile";
  Result<ParseResult> parsed = Parse(ReadFile(file), "Dockerfile");
  ASSERT_FALSE(parsed.ok()) << Dump(*parsed);
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  ASSERT_FALSE(parsed.status().ranges().empty());
  EXPECT_EQ(parsed.status().ranges().front().file, "Dockerfile");
  EXPECT_GE(parsed.status().ranges().front().line, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Upstream, NegativeCase,
    testing::ValuesIn(CaseNames("dockerfile-parser-negative")), CaseName);

TEST(DockerfileParserConformance, LineSpans) {
  const fs::path file =
      ConformanceDir() / "dockerfile-parser-lines" / "Dockerfile";
  ASSERT_TRUE(fs::exists(file)) << "missing " << file;
  Result<ParseResult> parsed = Parse(ReadFile(file), "Dockerfile");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->start_line, 5);
  EXPECT_EQ(parsed->end_line, 31);
  ASSERT_EQ(parsed->children.size(), 3u);
  const int expected[3][2] = {{5, 5}, {11, 12}, {17, 31}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parsed->children[i].range.line, expected[i][0])
        << "instruction " << i;
    EXPECT_EQ(parsed->children[i].range.end_line, expected[i][1])
        << "instruction " << i;
  }
}

}  // namespace
}  // namespace kiln::dockerfile
