// `# syntax=` detection and the forwarding decision (frontend.h), and the
// version compiled in from CMake.
#include "kiln/sdk/syntax.h"

#include <string>
#include <string_view>

#include "kiln/recipe/frontend.h"

#ifndef KILN_YAML_RECIPE_FRONTEND_VERSION
#error "KILN_YAML_RECIPE_FRONTEND_VERSION must be defined by the build"
#endif

namespace kiln::recipe {
namespace {

std::string_view Trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

std::string_view FrontendVersion() { return KILN_YAML_RECIPE_FRONTEND_VERSION; }

std::optional<std::string> DetectSyntax(std::string_view recipe) {
  if (recipe.substr(0, 3) == "\xEF\xBB\xBF") recipe.remove_prefix(3);
  std::string_view line = recipe.substr(0, recipe.find('\n'));
  line = Trim(line);
  if (line.empty() || line[0] != '#') return std::nullopt;
  line = Trim(line.substr(1));
  if (!line.starts_with("syntax")) return std::nullopt;
  line = Trim(line.substr(6));
  if (line.empty() || line[0] != '=') return std::nullopt;
  line = Trim(line.substr(1));
  if (line.empty()) return std::nullopt;
  return std::string(line);
}

bool IsSelfReference(std::string_view ref, std::string_view version) {
  return sdk::IsFrontendVersionRef(ref, "docker.io/kiln/yaml-recipe", version);
}

SyntaxDecision DecideSyntax(const sdk::FrontendOptions& opts,
                            std::string_view recipe, std::string_view version) {
  SyntaxDecision decision;
  if (opts.cmdline.has_value()) return decision;  // already forwarded
  auto arg = opts.build_args.find("BUILDKIT_SYNTAX");
  if (arg != opts.build_args.end() && !arg->second.empty()) {
    decision.cmdline = arg->second;
  } else if (std::optional<std::string> syntax = DetectSyntax(recipe)) {
    decision.cmdline = *syntax;
  } else {
    return decision;
  }
  decision.source = decision.cmdline.substr(0, decision.cmdline.find(' '));
  decision.forward =
      !decision.source.empty() && !IsSelfReference(decision.source, version);
  return decision;
}

}  // namespace kiln::recipe
