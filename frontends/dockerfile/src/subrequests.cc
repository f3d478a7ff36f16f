// The subrequest results: describe, lint and targets, in the JSON and text
// shapes of BuildKit's frontend/subrequests (see kiln/dockerfile/
// subrequests.h).
#include "kiln/dockerfile/subrequests.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "subrequests_internal.h"

namespace kiln::dockerfile {
namespace internal {

// Go's encoding/json for []byte: standard base64 with padding.
std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                 (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

namespace {

nlohmann::ordered_json Position(int line, int character) {
  nlohmann::ordered_json p = {{"line", line}};
  if (character != 0) p["character"] = character;
  return p;
}

}  // namespace

nlohmann::ordered_json LocationJson(const SourceRange& r) {
  nlohmann::ordered_json range = {
      {"start", Position(r.line, r.column)},
      {"end", Position(r.end_line == 0 ? r.line : r.end_line, r.end_column)}};
  return nlohmann::ordered_json{
      {"ranges", nlohmann::ordered_json::array({range})}};
}

std::string Tabulate(const std::vector<std::vector<std::string>>& rows,
                     size_t padding) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) {
        out += std::string(widths[c] + padding - row[c].size(), ' ');
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace internal

namespace {

using Json = nlohmann::ordered_json;

constexpr char kVersion[] = "1.0.0";

Json Named(std::string_view name) {
  return Json{{"name", name}, {"description", ""}};
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    size_t nl = text.find('\n', start);
    lines.emplace_back(text.substr(start, nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

// Upstream's PrintLintViolations through a tabwriter (padding 2).
std::string LintText(const std::vector<CheckWarning>& warnings,
                     std::string_view filename, std::string_view dockerfile) {
  std::map<std::string, std::vector<const CheckWarning*>> by_rule;
  for (const CheckWarning& w : warnings) by_rule[w.rule].push_back(&w);
  const std::vector<std::string> lines = SplitLines(dockerfile);
  std::string out;
  for (const auto& [rule, list] : by_rule) {
    out += "Lint Rule " + rule + "\n";
    for (const CheckWarning* w : list) {
      const int first = w->range.line;
      const int last = std::max(first, w->range.end_line);
      out += "  " + std::string(filename) + ":" + std::to_string(first);
      if (last != first) out += "-" + std::to_string(last);
      out += "\n  " + w->message + "\n";
      const size_t width = std::to_string(last).size() + 2;
      for (int i = first; i <= last; ++i) {
        std::string n = std::to_string(i);
        std::string src = i >= 1 && static_cast<size_t>(i) <= lines.size()
                              ? lines[i - 1]
                              : "";
        out +=
            "  " + n + std::string(width - n.size(), ' ') + "|  " + src + "\n";
      }
      out += "\n";
    }
    out += "\n";
  }
  return out;
}

Json Sources(std::string_view filename, std::string_view dockerfile) {
  return Json::array({Json{{"fileName", filename},
                           {"language", "Dockerfile"},
                           {"definition", nullptr},
                           {"data", internal::Base64(dockerfile)}}});
}

}  // namespace

const std::vector<std::string>& SubrequestNames() {
  static const std::vector<std::string> kNames = {
      std::string(kRequestOutline), std::string(kRequestTargets),
      std::string(kRequestDescribe), std::string(kRequestLint)};
  return kNames;
}

sdk::BuildResult DescribeResult() {
  struct Info {
    std::string_view name, description;
    std::vector<std::string_view> opts, metadata;
  };
  const Info infos[] = {
      {kRequestOutline,
       "List all parameters current build takes",
       {"target"},
       {"result.json", "result.txt"}},
      {kRequestTargets,
       "List all targets current build supports",
       {},
       {"result.json", "result.txt"}},
      {kRequestDescribe,
       "List available subrequest types",
       {},
       {"result.json", "result.txt"}},
      {kRequestLint,
       "Lint a Dockerfile",
       {},
       {"result.json", "result.txt", "result.statuscode"}},
  };
  Json list = Json::array();
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "DESCRIPTION"}};
  for (const Info& info : infos) {
    Json metadata = Json::array();
    for (std::string_view m : info.metadata) metadata.push_back(Named(m));
    Json opts = Json::array();
    for (std::string_view o : info.opts) opts.push_back(Named(o));
    list.push_back(Json{{"name", info.name},
                        {"version", kVersion},
                        {"type", "rpc"},
                        {"description", info.description},
                        {"opts", opts},
                        {"inputs", nullptr},
                        {"metadata", metadata},
                        {"refs", nullptr}});
    rows.push_back(
        {std::string(info.name), kVersion, std::string(info.description)});
  }
  const std::string text = internal::Tabulate(rows, 1);
  sdk::BuildResult result;
  result.metadata["result.json"] = list.dump(2);
  result.metadata["result.txt"] = text;
  result.metadata["version"] = kVersion;
  return result;
}

sdk::BuildResult LintResult(const std::vector<CheckWarning>& warnings,
                            std::string_view filename,
                            std::string_view dockerfile) {
  Json list = Json::array();
  for (const CheckWarning& w : warnings) {
    Json j = {{"ruleName", w.rule}};
    if (!w.description.empty()) j["description"] = w.description;
    if (!w.url.empty()) j["url"] = w.url;
    if (!w.message.empty()) j["detail"] = w.message;
    j["location"] = internal::LocationJson(w.range);
    list.push_back(std::move(j));
  }
  Json doc = {{"warnings", list}, {"sources", Sources(filename, dockerfile)}};
  sdk::BuildResult result;
  result.metadata["result.json"] = doc.dump(2);
  result.metadata["result.txt"] = LintText(warnings, filename, dockerfile);
  result.metadata["result.statuscode"] = warnings.empty() ? "0" : "1";
  result.metadata["version"] = kVersion;
  return result;
}

sdk::BuildResult TargetsResult(const ParsedDockerfile& instructions,
                               std::string_view dockerfile) {
  Json targets = Json::array();
  std::vector<std::vector<std::string>> rows;
  const size_t n = instructions.stages.size();
  for (size_t i = 0; i < n; ++i) {
    const Stage& s = instructions.stages[i];
    Json t = Json::object();
    if (!s.name.empty()) t["name"] = s.name;
    if (i + 1 == n) t["default"] = true;
    if (!s.comment.empty()) t["description"] = s.comment;
    if (!s.base.empty()) t["base"] = s.base;
    if (!s.platform.empty()) t["platforms"] = Json::array({s.platform});
    t["location"] = internal::LocationJson(s.range);
    targets.push_back(std::move(t));
    std::string name = s.name;
    if (i + 1 == n) name = name.empty() ? "(default)" : name + " (default)";
    rows.push_back({name, s.comment});
  }
  rows.insert(rows.begin(), {"TARGET", "DESCRIPTION"});
  const std::string text = internal::Tabulate(rows, 1);
  Json sources = Json::array({internal::Base64(dockerfile)});
  Json doc = {{"targets", targets}, {"sources", sources}};
  sdk::BuildResult result;
  result.metadata["result.json"] = doc.dump(2);
  result.metadata["result.txt"] = text;
  result.metadata["version"] = kVersion;
  return result;
}

}  // namespace kiln::dockerfile
