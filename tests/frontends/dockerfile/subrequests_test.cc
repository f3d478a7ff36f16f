// The subrequest results as pure functions: lint JSON/text/status code,
// targets and describe.
#include "kiln/dockerfile/subrequests.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  EXPECT_EQ(list[3]["metadata"][2]["name"], "result.statuscode");
  EXPECT_EQ(list[0]["opts"][0]["name"], "target");
  EXPECT_NE(r.metadata.at("result.txt").find("frontend.lint"),
            std::string::npos);
}

Result<sdk::BuildResult> Outline(
    const std::string& text, const std::string& target = "",
    const std::map<std::string, std::string>& build_args = {}) {
  auto parsed = Parse(text, "Dockerfile");
  if (!parsed.ok()) return parsed.status();
  auto df = ParseInstructions(*parsed);
  if (!df.ok()) return df.status();
  return OutlineResult(*df, text, target, build_args, '\\');
}

std::vector<std::string> NamesOf(const Json& list) {
  std::vector<std::string> out;
  for (const Json& j : list) out.push_back(j["name"]);
  return out;
}

TEST(SubrequestsTest, OutlineListsTheArgsTheTargetUses) {
  const std::string text =
      "ARG inherited=box\n"
      "ARG inherited2=box2\n"
      "ARG unused=abc${inherited2}\n"
      "# sfx is a suffix\n"
      "ARG sfx=\"usr${inherited}\"\n"
      "\n"
      "FROM b${sfx} AS first\n"
      "# bar defines a bar value\n"
      "ARG bar=baz\n"
      "ARG baz=${bar}\n"
      "ARG nocomment\n"
      "ARG notused\n"
      "RUN echo $baz $nocomment\n"
      "\n"
      "# second is the final stage\n"
      "FROM scratch AS second\n"
      "ARG other=x\n"
      "COPY --from=first /a /b\n"
      "RUN --mount=type=secret,id=mysecret,required=true "
      "--mount=type=secret,target=/run/tok --mount=type=ssh true\n";
  auto r = Outline(text, "", {{"bar", "given"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json doc = Json::parse(r->metadata.at("result.json"));
  EXPECT_EQ(doc["name"], "second");
  EXPECT_EQ(doc["description"], "is the final stage");
  EXPECT_EQ(
      NamesOf(doc["args"]),
      (std::vector<std::string>{"inherited", "sfx", "bar", "baz", "nocomment"}))
      << doc.dump(2);
  EXPECT_EQ(doc["args"][1]["value"], "usrbox");
  EXPECT_EQ(doc["args"][1]["description"], "is a suffix");
  EXPECT_EQ(doc["args"][2]["value"], "given");  // the build arg wins
  EXPECT_EQ(doc["args"][3]["value"], "given");
  EXPECT_EQ(doc["args"][2]["location"]["ranges"][0]["start"]["line"], 9);
  EXPECT_EQ(NamesOf(doc["secrets"]),
            (std::vector<std::string>{"mysecret", "tok"}));
  EXPECT_EQ(doc["secrets"][0]["required"], true);
  EXPECT_FALSE(doc["secrets"][1].contains("required"));
  EXPECT_EQ(NamesOf(doc["ssh"]), (std::vector<std::string>{"default"}));
  EXPECT_EQ(r->metadata.at("version"), "1.0.0");
  EXPECT_EQ(r->metadata.at("result.txt"),
            "TARGET:      second\n"
            "DESCRIPTION: is the final stage\n"
            "\n"
            "BUILD ARG   VALUE    DESCRIPTION\n"
            "inherited   box      \n"
            "sfx         usrbox   is a suffix\n"
            "bar         given    defines a bar value\n"
            "baz         given    \n"
            "nocomment            \n"
            "\n"
            "SECRET     REQUIRED\n"
            "mysecret   true\n"
            "tok        \n"
            "\n"
            "SSH       REQUIRED\n"
            "default   \n"
            "\n");

  // The first stage alone has no secrets; an unknown target is NotFound.
  auto first = Outline(text, "first");
  ASSERT_TRUE(first.ok());
  Json fdoc = Json::parse(first->metadata.at("result.json"));
  EXPECT_FALSE(fdoc.contains("secrets"));
  EXPECT_EQ(fdoc["args"].size(), 5u);
  auto missing = Outline(text, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::dockerfile
