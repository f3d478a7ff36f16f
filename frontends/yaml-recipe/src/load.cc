// LoadRecipe: the top level (args, stages, target, image) and the stage
// graph's checks (see kiln/recipe/recipe.h).
#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "kiln/llb/reference.h"
#include "kiln/recipe/recipe.h"
#include "load_internal.h"

namespace kiln::recipe {
namespace {

using internal::Loader;
using internal::Quote;

void AddPlatformArgs(Loader& l, const std::string& prefix,
                     const llb::Platform& p) {
  l.SetArg(prefix + "PLATFORM", llb::FormatPlatform(p));
  l.SetArg(prefix + "OS", p.os);
  l.SetArg(prefix + "ARCH", p.architecture);
  l.SetArg(prefix + "VARIANT", p.variant);
}

Status LoadArgs(Loader& l, const YamlNode& args) {
  if (!args.IsMap())
    return l.WrongType(args, "args", "the recipe", "a mapping");
  std::vector<std::string> seen;
  for (const auto& [k, v] : args.entries) {
    if (!k.IsScalar()) return l.WrongType(k, "args", "the recipe", "a scalar");
    const std::string& name = k.scalar;
    bool valid =
        !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
        std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
    if (!valid) {
      return l.Error(k.mark, "invalid arg name " + Quote(name) +
                                 ": expected letters, digits and _");
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return l.Error(k.mark, "duplicate key " + Quote(name) + " in args");
    }
    seen.push_back(name);
    std::string value;
    auto given = l.options().build_args.find(name);
    if (given != l.options().build_args.end()) {
      value = given->second;
    } else if (!v.IsNull()) {
      KILN_ASSIGN_OR_RETURN(value, l.String(v, name, "args"));
    }
    l.SetArg(name, value);
  }
  return Status::Ok();
}

Status LoadImage(const Loader& l, const YamlNode& node, ImageSection* image) {
  const std::string where = "image";
  if (!node.IsMap())
    return l.WrongType(node, "image", "the recipe", "a mapping");
  KILN_RETURN_IF_ERROR(l.CheckMap(node, "image", where,
                                  {"entrypoint", "cmd", "env", "labels",
                                   "ports", "volumes", "user", "workdir"}));
  for (const auto& [k, v] : node.entries) {
    const std::string& key = k.scalar;
    if (key == "entrypoint" || key == "cmd") {
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> args,
                            l.StringList(v, key, where, true));
      if (v.IsScalar()) args = {"/bin/sh", "-c", args[0]};
      (key == "cmd" ? image->cmd : image->entrypoint) = std::move(args);
    } else if (key == "env") {
      KILN_ASSIGN_OR_RETURN(image->env, l.StringMap(v, key, where));
    } else if (key == "labels") {
      KILN_ASSIGN_OR_RETURN(image->labels, l.StringMap(v, key, where));
    } else if (key == "volumes") {
      KILN_ASSIGN_OR_RETURN(image->volumes, l.StringList(v, key, where, false));
    } else if (key == "user") {
      KILN_ASSIGN_OR_RETURN(image->user, l.String(v, key, where));
    } else if (key == "workdir") {
      KILN_ASSIGN_OR_RETURN(image->workdir, l.String(v, key, where));
    } else if (key == "ports") {
      if (!v.IsSequence()) return l.WrongType(v, key, where, "a sequence");
      for (const YamlNode& item : v.items) {
        KILN_ASSIGN_OR_RETURN(std::string spec, l.String(item, key, where));
        std::string port = spec.substr(0, spec.find('/'));
        std::string proto = spec.find('/') == std::string::npos
                                ? "tcp"
                                : spec.substr(spec.find('/') + 1);
        bool ok = !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string::npos &&
                  std::stoi(port) > 0 && std::stoi(port) <= 65535 &&
                  (proto == "tcp" || proto == "udp" || proto == "sctp");
        if (!ok) {
          return l.Error(item.mark, "invalid port " + Quote(spec) +
                                        " in image: expected PORT or "
                                        "PORT/tcp|udp|sctp");
        }
        image->ports.push_back(std::to_string(std::stoi(port)) + "/" + proto);
      }
    }
  }
  return Status::Ok();
}

Result<Stage> LoadStage(const Loader& l, const YamlNode& key,
                        const YamlNode& node,
                        const std::vector<std::string>& names) {
  Stage stage;
  stage.name = key.scalar;
  stage.mark = key.mark;
  const std::string where = "stage " + Quote(stage.name);
  if (!node.IsMap())
    return l.WrongType(node, stage.name, "stages", "a mapping");
  KILN_RETURN_IF_ERROR(
      l.CheckMap(node, stage.name, where, {"from", "platform", "steps"}));
  KILN_ASSIGN_OR_RETURN(const YamlNode* from, l.Require(node, "from", where));
  stage.from_mark = from->mark;
  KILN_ASSIGN_OR_RETURN(std::string base, l.String(*from, "from", where));
  if (base == "scratch") {
    stage.from = SourceRef{SourceRef::Kind::kScratch, ""};
  } else if (std::find(names.begin(), names.end(), base) != names.end()) {
    stage.from = SourceRef{SourceRef::Kind::kStage, base};
  } else {
    Result<llb::ImageReference> parsed = llb::ParseImageReference(base);
    if (!parsed.ok()) {
      return l.Error(from->mark, "invalid image reference " + Quote(base) +
                                     " in " + where + ": " +
                                     parsed.status().message() +
                                     internal::Suggestion(base, names));
    }
    stage.from = SourceRef{SourceRef::Kind::kImage, base};
  }
  if (const YamlNode* p = Loader::Find(node, "platform")) {
    KILN_ASSIGN_OR_RETURN(std::string spec, l.String(*p, "platform", where));
    Result<llb::Platform> platform = llb::ParsePlatform(spec);
    if (!platform.ok()) {
      return l.Error(p->mark, "invalid platform " + Quote(spec) + " in " +
                                  where + ": " + platform.status().message());
    }
    stage.platform = *platform;
    stage.platform_mark = p->mark;
  }
  if (const YamlNode* steps = Loader::Find(node, "steps")) {
    if (!steps->IsSequence() && !steps->IsNull()) {
      return l.WrongType(*steps, "steps", where, "a sequence");
    }
    for (size_t i = 0; i < steps->items.size(); ++i) {
      KILN_ASSIGN_OR_RETURN(
          Step step,
          internal::LoadStep(l, steps->items[i], static_cast<int>(i + 1),
                             stage.name, names));
      stage.steps.push_back(std::move(step));
    }
  }
  return stage;
}

// The stages `stage` depends on, with the mark of each reference.
std::vector<std::pair<std::string, Mark>> Edges(const Stage& stage) {
  std::vector<std::pair<std::string, Mark>> out;
  if (stage.from.kind == SourceRef::Kind::kStage) {
    out.emplace_back(stage.from.name, stage.from_mark);
  }
  for (const Step& step : stage.steps) {
    if (const auto* copy = std::get_if<CopyStep>(&step.body)) {
      if (copy->from.kind == SourceRef::Kind::kStage) {
        out.emplace_back(copy->from.name, step.mark);
      }
    } else if (const auto* run = std::get_if<RunStep>(&step.body)) {
      for (const MountSpec& m : run->mounts) {
        if (m.from.kind == SourceRef::Kind::kStage) {
          out.emplace_back(m.from.name, m.mark);
        }
      }
    }
  }
  return out;
}

Status CheckCycles(const Loader& l, const Recipe& recipe) {
  enum Color { kWhite, kGrey, kBlack };
  std::vector<Color> color(recipe.stages.size(), kWhite);
  std::vector<int> path;
  std::function<Status(int)> visit = [&](int i) -> Status {
    color[i] = kGrey;
    path.push_back(i);
    for (const auto& [name, mark] : Edges(recipe.stages[i])) {
      int j = recipe.FindStage(name);
      if (j < 0) continue;
      if (color[j] == kGrey) {
        std::string chain;
        auto start = std::find(path.begin(), path.end(), j);
        for (auto it = start; it != path.end(); ++it) {
          chain += recipe.stages[*it].name + " -> ";
        }
        chain += recipe.stages[j].name;
        return l.Error(mark, "cycle between stages: " + chain);
      }
      if (color[j] == kWhite) KILN_RETURN_IF_ERROR(visit(j));
    }
    path.pop_back();
    color[i] = kBlack;
    return Status::Ok();
  };
  for (size_t i = 0; i < recipe.stages.size(); ++i) {
    if (color[i] == kWhite) KILN_RETURN_IF_ERROR(visit(static_cast<int>(i)));
  }
  return Status::Ok();
}

}  // namespace

int Recipe::FindStage(std::string_view name) const {
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Result<Recipe> LoadRecipe(std::string_view text, const LoadOptions& options) {
  KILN_ASSIGN_OR_RETURN(YamlNode root, ParseYaml(text, options.filename));
  Loader l(options);
  if (!root.IsMap()) {
    return l.Error(root.mark, "a recipe must be a mapping, got " +
                                  std::string(KindName(root)));
  }
  KILN_RETURN_IF_ERROR(l.CheckMap(root, "recipe", "the recipe",
                                  {"args", "stages", "target", "image"}));
  AddPlatformArgs(l, "TARGET",
                  options.target_platform.os.empty()
                      ? llb::HostPlatform()
                      : llb::NormalizePlatform(options.target_platform));
  AddPlatformArgs(l, "BUILD",
                  options.build_platform.os.empty()
                      ? llb::HostPlatform()
                      : llb::NormalizePlatform(options.build_platform));
  if (const YamlNode* args = Loader::Find(root, "args")) {
    KILN_RETURN_IF_ERROR(LoadArgs(l, *args));
  }
  KILN_ASSIGN_OR_RETURN(const YamlNode* stages,
                        l.Require(root, "stages", "the recipe"));
  if (!stages->IsMap()) {
    return l.WrongType(*stages, "stages", "the recipe", "a mapping");
  }
  if (stages->entries.empty()) return l.Error(stages->mark, "no stages");
  std::vector<std::string> names;
  for (const auto& [k, v] : stages->entries) {
    if (!k.IsScalar() || k.scalar.empty()) {
      return l.Error(k.mark, "a stage name must be a non-empty scalar");
    }
    if (k.scalar == "scratch" || k.scalar == "context") {
      return l.Error(k.mark, "stage name " + Quote(k.scalar) + " is reserved");
    }
    if (std::find(names.begin(), names.end(), k.scalar) != names.end()) {
      return l.Error(k.mark, "duplicate stage " + Quote(k.scalar));
    }
    names.push_back(k.scalar);
  }
  if (names.size() > kMaxStages) {
    return l.Error(stages->mark,
                   "more than " + std::to_string(kMaxStages) + " stages");
  }
  Recipe recipe;
  size_t steps = 0;
  for (const auto& [k, v] : stages->entries) {
    KILN_ASSIGN_OR_RETURN(Stage stage, LoadStage(l, k, v, names));
    steps += stage.steps.size();
    if (steps > kMaxSteps) {
      return l.Error(k.mark,
                     "more than " + std::to_string(kMaxSteps) + " steps");
    }
    recipe.stages.push_back(std::move(stage));
  }
  KILN_RETURN_IF_ERROR(CheckCycles(l, recipe));
  if (const YamlNode* target = Loader::Find(root, "target")) {
    KILN_ASSIGN_OR_RETURN(recipe.target,
                          l.String(*target, "target", "the recipe"));
    recipe.target_mark = target->mark;
    if (recipe.FindStage(recipe.target) < 0) {
      return l.Error(target->mark,
                     "unknown target stage " + Quote(recipe.target) +
                         internal::Suggestion(recipe.target, names));
    }
  }
  if (const YamlNode* image = Loader::Find(root, "image")) {
    KILN_RETURN_IF_ERROR(LoadImage(l, *image, &recipe.image));
  }
  return recipe;
}

}  // namespace kiln::recipe
