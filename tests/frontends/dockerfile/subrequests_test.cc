// The subrequest results as pure functions: lint JSON/text/status code,
// targets and describe.
#include "kiln/dockerfile/subrequests.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::dockerfile {
namespace {

using Json = nlohmann::json;

CheckWarning Warn(std::string rule, std::string message, int line,
                  int end_line) {
  return CheckWarning{.rule = std::move(rule),
                      .description = "desc",
                      .url = "https://docs.docker.com/go/dockerfile/rule/x/",
                      .message = std::move(message),
                      .range = {.file = "Dockerfile",
                                .line = line,
                                .column = 1,
                                .end_line = end_line,
                                .end_column = 4}};
}

TEST(SubrequestsTest, LintResultShape) {
  const std::string text = "FROM a AS B\nRUN x \\\n  y\n";
  sdk::BuildResult r = LintResult(
      {Warn("StageNameCasing", "Stage name 'B' should be lowercase", 1, 1),
       Warn("A", "multi", 2, 3)},
      "Dockerfile", text);
  EXPECT_EQ(r.metadata.at("result.statuscode"), "1");
  EXPECT_EQ(r.metadata.at("version"), "1.0.0");
  Json doc = Json::parse(r.metadata.at("result.json"));
  ASSERT_EQ(doc["warnings"].size(), 2u);
  const Json& w = doc["warnings"][0];
  EXPECT_EQ(w["ruleName"], "StageNameCasing");
  EXPECT_EQ(w["description"], "desc");
  EXPECT_EQ(w["url"], "https://docs.docker.com/go/dockerfile/rule/x/");
  EXPECT_EQ(w["detail"], "Stage name 'B' should be lowercase");
  EXPECT_EQ(w["location"]["ranges"][0]["start"]["line"], 1);
  EXPECT_EQ(w["location"]["ranges"][0]["end"]["character"], 4);
  EXPECT_EQ(doc["sources"][0]["fileName"], "Dockerfile");
  EXPECT_EQ(doc["sources"][0]["language"], "Dockerfile");
  // base64 of the text.
  EXPECT_EQ(doc["sources"][0]["data"], "RlJPTSBhIEFTIEIKUlVOIHggXAogIHkK");
  EXPECT_EQ(r.metadata.at("result.txt"),
            "Lint Rule A\n"
            "  Dockerfile:2-3\n"
            "  multi\n"
            "  2  |  RUN x \\\n"
            "  3  |    y\n"
            "\n"
            "\n"
            "Lint Rule StageNameCasing\n"
            "  Dockerfile:1\n"
            "  Stage name 'B' should be lowercase\n"
            "  1  |  FROM a AS B\n"
            "\n"
            "\n");
  sdk::BuildResult clean = LintResult({}, "Dockerfile", text);
  EXPECT_EQ(clean.metadata.at("result.statuscode"), "0");
  EXPECT_EQ(Json::parse(clean.metadata.at("result.json"))["warnings"],
            Json::array());
  EXPECT_EQ(clean.metadata.at("result.txt"), "");
}

TEST(SubrequestsTest, TargetsResult) {
  auto parsed = Parse(
      "# build compiles it\nFROM --platform=$BUILDPLATFORM golang AS build\n"
      "FROM scratch AS release\n",
      "Dockerfile");
  ASSERT_TRUE(parsed.ok());
  auto df = ParseInstructions(*parsed);
  ASSERT_TRUE(df.ok());
  sdk::BuildResult r = TargetsResult(*df, "x");
  Json doc = Json::parse(r.metadata.at("result.json"));
  ASSERT_EQ(doc["targets"].size(), 2u);
  EXPECT_EQ(doc["targets"][0]["name"], "build");
  EXPECT_EQ(doc["targets"][0]["description"], "compiles it");
  EXPECT_EQ(doc["targets"][0]["base"], "golang");
  EXPECT_EQ(doc["targets"][0]["platforms"][0], "$BUILDPLATFORM");
  EXPECT_FALSE(doc["targets"][0].contains("default"));
  EXPECT_EQ(doc["targets"][0]["location"]["ranges"][0]["start"]["line"], 2);
  EXPECT_EQ(doc["targets"][1]["default"], true);
  EXPECT_EQ(doc["sources"][0], "eA==");
  EXPECT_EQ(r.metadata.at("result.txt"),
            "TARGET            DESCRIPTION\n"
            "build             compiles it\n"
            "release (default) \n");
}

TEST(SubrequestsTest, DescribeListsTheImplementedRequests) {
  sdk::BuildResult r = DescribeResult();
  Json list = Json::parse(r.metadata.at("result.json"));
  ASSERT_EQ(list.size(), SubrequestNames().size());
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i]["name"], SubrequestNames()[i]);
    EXPECT_EQ(list[i]["version"], "1.0.0");
    EXPECT_EQ(list[i]["type"], "rpc");
  }
  EXPECT_EQ(list[2]["metadata"][2]["name"], "result.statuscode");
  EXPECT_NE(r.metadata.at("result.txt").find("frontend.lint"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::dockerfile
