// ONBUILD triggers of a stage's base (upstream's initOnBuildTriggers): the
// base image config's OnBuild entries, or the ONBUILD instructions of the
// base stage, parsed again as instructions that run right after FROM.
#include <string>
#include <utility>
#include <vector>

#include "convert_internal.h"
#include "kiln/dockerfile/parser.h"

namespace kiln::dockerfile::convert {
namespace {

// The OnBuild strings of an image config (JSON); empty when absent.
std::vector<std::string> ConfigTriggers(const Json& image) {
  std::vector<std::string> out;
  if (!image.is_object() || !image.contains("config")) return out;
  const Json& cfg = image["config"];
  if (!cfg.is_object() || !cfg.contains("OnBuild") ||
      !cfg["OnBuild"].is_array()) {
    return out;
  }
  for (const Json& t : cfg["OnBuild"]) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

// One trigger as a command located at the stage's FROM.
Result<Command> ParseTrigger(const std::string& trigger,
                             const std::string& filename,
                             const SourceRange& at) {
  KILN_ASSIGN_OR_RETURN(ParseResult parsed, Parse(trigger, filename));
  if (parsed.children.size() != 1) {
    return InvalidArgumentError(
        "onbuild trigger should be a single expression");
  }
  KILN_ASSIGN_OR_RETURN(Instruction ins, ParseInstruction(parsed.children[0]));
  auto* cmd = std::get_if<Command>(&ins);
  if (cmd == nullptr) {
    return InvalidArgumentError("FROM isn't allowed as an ONBUILD trigger");
  }
  std::visit([&](auto& c) { static_cast<CommandBase&>(c).range = at; }, *cmd);
  return std::move(*cmd);
}

}  // namespace

Status Converter::InitOnbuild(StageState& s) {
  if (s.onbuild_init) return Status::Ok();
  s.onbuild_init = true;
  if (s.named_context) return Status::Ok();  // the stage is replaced
  std::vector<std::string> triggers;
  if (s.base_stage >= 0) {
    for (const Command& cmd : stages[s.base_stage].stage->commands) {
      if (const auto* ob = std::get_if<OnbuildCommand>(&cmd))
        triggers.push_back(ob->expression);
    }
  } else if (!s.base_ref.empty()) {
    // Resolved once (image_cache); the display name is taken at FROM.
    auto resolved = ImageState(s.base_ref, s.platform, "");
    if (!resolved.ok()) return resolved.status().WithRange(s.stage->range);
    triggers = ConfigTriggers(resolved->second);
  }
  for (const std::string& t : triggers) {
    auto cmd = ParseTrigger(t, options->filename, s.stage->range);
    if (!cmd.ok()) {
      // Located at FROM only: the trigger's own line 1 means nothing here.
      return Status(cmd.status().code(),
                    "parsing ONBUILD trigger " + t + " of " +
                        (s.base_stage >= 0 ? stages[s.base_stage].stage->name
                                           : s.base_ref) +
                        ": " + cmd.status().message())
          .WithRange(s.stage->range);
    }
    unregistered += Unregistered(*cmd, s.index);
    s.onbuild.push_back(std::move(*cmd));
  }
  s.cmd_total += static_cast<int>(s.onbuild.size());
  return Status::Ok();
}

}  // namespace kiln::dockerfile::convert
