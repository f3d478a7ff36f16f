// `# syntax=` detection and the forwarding decision of the Dockerfile
// frontend (upstream parser.DetectSyntax and builder.Build, reference
// frontend-images.md §2, §3).
#include "kiln/sdk/syntax.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "kiln/dockerfile/frontend.h"

namespace kiln::dockerfile {
namespace {

// Reads the leading directive block with comment prefix `prefix` ("#" or
// "//"), as upstream's DirectiveParser.ParseAll: the first line that is not
// a known directive ends the block. `first_line` is the 1-based number of
// the first line of `text`.
std::optional<SyntaxDirective> ScanDirectives(std::string_view text,
                                              const std::string& prefix,
                                              int first_line) {
  static const std::regex kHash(
      R"(^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$)");
  static const std::regex kSlash(
      R"(^//\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$)");
  const std::regex& re = prefix == "#" ? kHash : kSlash;
  int line_no = first_line;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(text.substr(
        pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t lead = line.find_first_not_of(" \t");
    line = lead == std::string::npos ? "" : line.substr(lead);
    std::smatch m;
    if (!std::regex_match(line, m, re)) return std::nullopt;
    std::string key = m[1].str();
    for (char& c : key) c = static_cast<char>(std::tolower(c));
    if (key == "syntax") {
      std::string value = m[2].str();
      SyntaxDirective d;
      d.cmdline = value;
      d.source = value.substr(0, value.find(' '));
      d.line = line_no;
      return d;
    }
    if (key != "escape" && key != "check") return std::nullopt;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
    ++line_no;
  }
  return std::nullopt;
}

}  // namespace

std::optional<SyntaxDirective> DetectSyntax(std::string_view dockerfile) {
  std::string_view text = dockerfile;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int first_line = 1;
  if (text.substr(0, 2) == "#!") {
    size_t nl = text.find('\n');
    text =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    first_line = 2;
  }
  if (auto d = ScanDirectives(text, "#", first_line)) return d;
  if (auto d = ScanDirectives(text, "//", first_line)) return d;
  // A JSON document {"syntax": "..."} (non-Dockerfile sources).
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_object()) {
    auto it = doc.find("syntax");
    if (it != doc.end() && it->is_string()) {
      SyntaxDirective d;
      d.source = d.cmdline = it->get<std::string>();
      return d;
    }
  }
  return std::nullopt;
}

bool IsSelfReference(std::string_view ref, std::string_view version) {
  return sdk::IsFrontendVersionRef(ref, "docker.io/kiln/dockerfile", version);
}

SyntaxDecision DecideSyntax(const sdk::FrontendOptions& opts,
                            std::string_view dockerfile,
                            std::string_view version) {
  SyntaxDecision decision;
  if (opts.cmdline.has_value()) return decision;  // already forwarded
  auto arg = opts.build_args.find("BUILDKIT_SYNTAX");
  if (arg != opts.build_args.end() && !arg->second.empty()) {
    decision.cmdline = arg->second;
    decision.source = arg->second.substr(0, arg->second.find(' '));
    decision.from_build_arg = true;
  } else if (std::optional<SyntaxDirective> d = DetectSyntax(dockerfile)) {
    decision.cmdline = d->cmdline;
    decision.source = d->source;
    decision.line = d->line;
  } else {
    return decision;
  }
  // "dockerfile.v0" names the built-in Dockerfile frontend: this one.
  decision.forward = !decision.source.empty() &&
                     decision.source != "dockerfile.v0" &&
                     !IsSelfReference(decision.source, version);
  return decision;
}

}  // namespace kiln::dockerfile
