// Helpers of the conversion: expansion, names, errors, history, image config
// parsing, paths.
#include <string>
#include <vector>

#include "convert_internal.h"
#include "go_text.h"
#include "kiln/sdk/image_config.h"

namespace kiln::dockerfile::convert {

EnvLookup Converter::Lookup(const StageState& s) const {
  // Read in place (a State is immutable and its env has unique keys): no
  // copy of the whole env per expansion.
  return
      [state = s.state](std::string_view name) { return state.GetEnv(name); };
}

Result<std::string> Converter::Expand(const StageState& s,
                                      std::string_view word) const {
  return ProcessWord(word, Lookup(s), {.escape = escape});
}

std::string Converter::Prefix(StageState& s, const std::string& text) const {
  if (s.cmd_total == 0) return text;
  std::string out = "[";
  if (!s.display_name.empty()) out += s.display_name + " ";
  s.cmd_index++;
  out += std::to_string(s.cmd_index) + "/" + std::to_string(s.cmd_total) + "] ";
  return out + text;
}

Status Unimplemented(const CommandBase& c, std::string_view what) {
  return UnimplementedError(std::string(what) +
                            " is not supported: " + gotext::Quote(c.original))
      .WithRange(c.range);
}

Status Invalid(const CommandBase& c, std::string_view what) {
  return InvalidArgumentError(std::string(what) + ": " +
                              gotext::Quote(c.original))
      .WithRange(c.range);
}

void AddHistory(Json& image, std::string created_by, bool with_layer,
                bool from_op) {
  if (from_op) created_by += " # buildkit";
  Json h = Json::object();
  h["created_by"] = std::move(created_by);
  h["comment"] = "buildkit.dockerfile.v0";
  if (!with_layer) h["empty_layer"] = true;
  if (!image.contains("history") || !image["history"].is_array()) {
    image["history"] = Json::array();
  }
  image["history"].push_back(std::move(h));
}

std::string GoQuoteList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += " ";
    out += gotext::Quote(v[i]);
  }
  return out + "]";
}

std::vector<std::string> WithShell(const Json& image,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  const Json& cfg = image["config"];
  if (cfg.contains("Shell") && cfg["Shell"].is_array() &&
      !cfg["Shell"].empty()) {
    shell.clear();
    for (const auto& e : cfg["Shell"]) {
      if (e.is_string()) shell.push_back(e.get<std::string>());
    }
  }
  std::string line;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i) line += " ";
    line += args[i];
  }
  shell.push_back(line);
  return shell;
}

Json EmptyImage(const llb::Platform& platform) {
  return Json::parse(sdk::EmptyImageConfig(platform));
}

Result<Json> ParseImageConfig(const std::string& text,
                              const llb::Platform& platform) {
  KILN_ASSIGN_OR_RETURN(std::string base, sdk::BaseImageConfig(text, platform));
  return Json::parse(base);
}

std::string PathJoin(std::string_view a, std::string_view b) {
  if (a.empty()) return PathClean(b);
  if (b.empty()) return PathClean(a);
  return PathClean(std::string(a) + "/" + std::string(b));
}

}  // namespace kiln::dockerfile::convert
