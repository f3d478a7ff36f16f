// Build checks that follow variables through the stages: the FROM rules
// (UndefinedArgInFrom, InvalidDefaultArgInFrom, RedundantTargetPlatform,
// FromPlatformFlagConstDisallowed, InvalidBaseImagePlatform) and, per
// stage, UndefinedVar,
// WorkdirRelativePath, ExposeProtoCasing, ExposeInvalidFormat and
// JSONArgsRecommended (see kiln/dockerfile/checks.h).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks_internal.h"
#include "go_text.h"
#include "kiln/dockerfile/shell_lex.h"
#include "kiln/llb/reference.h"
#include "suggest.h"

namespace kiln::dockerfile::internal {
namespace {

using Vars = std::map<std::string, std::string>;

constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void AddPlatform(Vars& vars, const std::string& prefix, llb::Platform p) {
  if (p.os.empty()) p = llb::HostPlatform();
  vars[prefix + "PLATFORM"] = llb::FormatPlatform(p);
  vars[prefix + "OS"] = p.os;
  vars[prefix + "ARCH"] = p.architecture;
  vars[prefix + "VARIANT"] = p.variant;
}

EnvLookup LookupIn(const Vars& vars) {
  return [&vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> KeysOf(const Vars& vars) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : vars) keys.push_back(k);
  return keys;
}

// What a stage leaves to the stages built FROM it.
struct Scope {
  Vars values;                     // ENV and ARGs with a value
  std::set<std::string> declared;  // ARG names of the stage
  bool env_known = true;           // false: base image env unknown
  bool workdir_set = false;
  bool shell_set = false;
};

class StageChecker {
 public:
  StageChecker(const ParsedDockerfile& df, const CheckInputs& inputs,
               char escape, CheckEmitter& out)
      : df_(df), inputs_(inputs), out_(out) {
    lex_.escape = escape;
  }

  void Run() {
    MetaArgs();
    for (const Stage& stage : df_.stages) {
      FromRules(stage);
      Scope scope = BaseScope(stage);
      for (const Command& c : stage.commands) Dispatch(c, scope);
      if (!stage.name.empty()) stages_[stage.name] = std::move(scope);
    }
  }

 private:
  // Meta args with build-arg overrides (`meta_`) and with defaults only
  // (`defaults_`), both over the predefined platform args.
  void MetaArgs() {
    AddPlatform(builtin_, "TARGET", inputs_.target_platform);
    AddPlatform(builtin_, "BUILD", inputs_.build_platform);
    meta_ = builtin_;
    defaults_ = builtin_;
    for (const ArgCommand& cmd : df_.meta_args) {
      for (const ArgDefinition& a : cmd.args) {
        meta_keys_.insert(a.key);
        std::optional<std::string> def;
        if (a.value) def = Expand(*a.value, defaults_);
        if (def) {
          defaults_[a.key] = *def;
        } else {
          defaults_.erase(a.key);
        }
        if (auto given = inputs_.build_args.find(a.key);
            given != inputs_.build_args.end()) {
          meta_[a.key] = given->second;
        } else if (a.value) {
          meta_[a.key] = Expand(*a.value, meta_).value_or("");
        } else {
          meta_.erase(a.key);
        }
      }
    }
  }

  std::optional<std::string> Expand(const std::string& word, const Vars& vars) {
    Result<std::string> r = ProcessWord(word, LookupIn(vars), lex_);
    if (!r.ok()) return std::nullopt;
    return *r;
  }

  void FromRules(const Stage& stage) {
    std::vector<std::string> options = KeysOf(builtin_);
    for (const std::string& k : meta_keys_) options.push_back(k);
    for (const std::string* word : {&stage.base, &stage.platform}) {
      if (word->empty()) continue;
      Result<ExpandResult> r =
          ProcessWordWithMatches(*word, LookupIn(meta_), lex_);
      if (!r.ok()) continue;
      for (const std::string& name : r->unmatched) {
        if (meta_keys_.contains(name)) continue;
        std::string msg = "FROM argument '" + name + "' is not declared";
        if (auto s = Suggest(name, options, true)) {
          msg += " (did you mean " + *s + "?)";
        }
        out_.Add("UndefinedArgInFrom", msg, stage.range);
      }
    }
    if (stage.base.find('$') != std::string::npos) {
      std::optional<std::string> base = Expand(stage.base, defaults_);
      if (!base || base->empty() || !llb::ParseImageReference(*base).ok()) {
        out_.Add("InvalidDefaultArgInFrom",
                 "Default value for ARG " + stage.base +
                     " results in empty or invalid base image name",
                 stage.range);
      }
    }
    PlatformRules(stage);
  }

  void PlatformRules(const Stage& stage) {
    const std::string platform(gotext::TrimSpace(stage.platform));
    if (platform.empty()) return;
    if (platform == "$TARGETPLATFORM" || platform == "${TARGETPLATFORM}") {
      out_.Add("RedundantTargetPlatform",
               "Setting platform to predefined " + platform +
                   " in FROM is redundant as this is the default behavior",
               stage.range);
      return;
    }
    if (platform.find('$') != std::string::npos) return;
    Result<llb::Platform> p = llb::ParsePlatform(platform);
    if (!p.ok()) return;
    std::string name = gotext::AsciiLower(stage.name);
    if ((!p->os.empty() && name.find(p->os) != std::string::npos) ||
        (!p->architecture.empty() &&
         name.find(p->architecture) != std::string::npos)) {
      return;
    }
    out_.Add("FromPlatformFlagConstDisallowed",
             "FROM --platform flag should not use constant value " +
                 gotext::Quote(platform),
             stage.range);
  }

  Scope BaseScope(const Stage& stage) {
    std::string base = Expand(stage.base, meta_).value_or(stage.base);
    if (auto parent = stages_.find(gotext::AsciiLower(base));
        parent != stages_.end()) {
      return parent->second;
    }
    Scope scope;
    if (base != "scratch") {
      const llb::Platform expected = StagePlatform(stage);
      std::optional<BaseImageInfo> info;
      if (inputs_.base_image) info = inputs_.base_image(base, expected);
      if (!info) {
        scope.env_known = false;
      } else {
        PlatformMatches(base, expected, info->platform, stage);
        for (const std::string& kv : info->env) {
          size_t eq = kv.find('=');
          scope.values[kv.substr(0, eq)] =
              eq == std::string::npos ? "" : kv.substr(eq + 1);
        }
      }
    }
    if (!scope.values.contains("PATH")) scope.values["PATH"] = kDefaultPath;
    return scope;
  }

  // The platform a stage is built for: its --platform, else the target.
  llb::Platform StagePlatform(const Stage& stage) {
    llb::Platform target = inputs_.target_platform;
    if (target.os.empty()) target = llb::HostPlatform();
    if (stage.platform.empty()) return target;
    std::optional<std::string> p = Expand(stage.platform, meta_);
    if (!p) return target;
    Result<llb::Platform> parsed = llb::ParsePlatform(*p);
    return parsed.ok() ? *parsed : target;
  }

  // InvalidBaseImagePlatform: os and architecture must match (the variant
  // too when both name one, as arm/v7 vs arm/v6).
  void PlatformMatches(const std::string& image, const llb::Platform& want,
                       const llb::Platform& got, const Stage& stage) {
    if (got.os.empty() || got.architecture.empty()) return;
    const llb::Platform w = llb::NormalizePlatform(want);
    const llb::Platform g = llb::NormalizePlatform(got);
    if (w.os == g.os && w.architecture == g.architecture &&
        (w.variant.empty() || g.variant.empty() || w.variant == g.variant)) {
      return;
    }
    out_.Add("InvalidBaseImagePlatform",
             "Base image " + image + " was pulled with platform " +
                 gotext::Quote(llb::FormatPlatform(g)) + ", expected " +
                 gotext::Quote(llb::FormatPlatform(w)) + " for current build",
             stage.range);
  }

  // Expands `word` in the stage, reporting UndefinedVar for `c`.
  std::optional<ExpandResult> Use(const std::string& word, const Scope& scope,
                                  const CommandBase& c) {
    Result<ExpandResult> r =
        ProcessWordWithMatches(word, LookupIn(scope.values), lex_);
    if (!r.ok()) return std::nullopt;
    if (scope.env_known) {
      for (const std::string& name : r->unmatched) {
        if (scope.declared.contains(name)) continue;
        std::vector<std::string> options = KeysOf(scope.values);
        options.insert(options.end(), scope.declared.begin(),
                       scope.declared.end());
        std::string msg = "Usage of undefined variable '$" + name + "'";
        if (auto s = Suggest(name, options, true)) {
          msg += " (did you mean $" + *s + "?)";
        }
        out_.Add("UndefinedVar", msg, c.range);
      }
    }
    return *std::move(r);
  }

  void Dispatch(const Command& command, Scope& scope) {
    const CommandBase& c = BaseOf(command);
    if (const auto* arg = std::get_if<ArgCommand>(&command)) {
      for (const ArgDefinition& a : arg->args) {
        std::optional<std::string> value;
        if (a.value) {
          if (auto r = Use(*a.value, scope, c)) value = r->result;
        }
        if (auto given = inputs_.build_args.find(a.key);
            given != inputs_.build_args.end()) {
          value = given->second;
        } else if (!a.value && meta_.contains(a.key)) {
          value = meta_.at(a.key);
        }
        scope.declared.insert(a.key);
        if (value) scope.values[a.key] = *value;
      }
    } else if (const auto* env = std::get_if<EnvCommand>(&command)) {
      for (const KeyValuePair& kv : env->env) {
        Use(kv.key, scope, c);
        auto value = Use(kv.value, scope, c);
        scope.values[kv.key] = value ? value->result : kv.value;
      }
    } else if (const auto* label = std::get_if<LabelCommand>(&command)) {
      for (const KeyValuePair& kv : label->labels) {
        Use(kv.key, scope, c);
        Use(kv.value, scope, c);
      }
    } else if (const auto* wd = std::get_if<WorkdirCommand>(&command)) {
      auto path = Use(wd->path, scope, c);
      std::string p = path ? path->result : wd->path;
      if (!p.starts_with("/") && !scope.workdir_set) {
        out_.Add("WorkdirRelativePath",
                 "Relative workdir " + gotext::Quote(p) +
                     " can have unexpected results if the base image changes",
                 c.range);
      }
      scope.workdir_set = true;
    } else if (const auto* expose = std::get_if<ExposeCommand>(&command)) {
      for (const std::string& port : expose->ports) {
        auto words = Use(port, scope, c);
        if (!words) continue;
        for (const std::string& p : words->words) ExposeRules(p, c);
      }
    } else if (const auto* user = std::get_if<UserCommand>(&command)) {
      Use(user->user, scope, c);
    } else if (const auto* sig = std::get_if<StopSignalCommand>(&command)) {
      Use(sig->signal, scope, c);
    } else if (const auto* vol = std::get_if<VolumeCommand>(&command)) {
      for (const std::string& v : vol->volumes) Use(v, scope, c);
    } else if (const auto* copy = std::get_if<CopyCommand>(&command)) {
      Files(copy->files, {copy->chown, copy->chmod}, scope, c,
            copy->from.empty() ? "Copy" : nullptr);
    } else if (const auto* add = std::get_if<AddCommand>(&command)) {
      Files(add->files, {add->chown, add->chmod}, scope, c, "Add");
    } else if (std::holds_alternative<ShellCommand>(command)) {
      scope.shell_set = true;
    } else if (const auto* cmd = std::get_if<CmdCommand>(&command)) {
      JsonArgs(cmd->command, scope, c);
    } else if (const auto* ep = std::get_if<EntrypointCommand>(&command)) {
      JsonArgs(ep->command, scope, c);
    }
  }

  // `context_cmd` ("Copy"/"Add") when the sources come from the context.
  void Files(const SourcesAndDest& files, std::vector<std::string> flags,
             const Scope& scope, const CommandBase& c,
             const char* context_cmd) {
    for (const std::string& src : files.source_paths) {
      auto expanded = Use(src, scope, c);
      if (context_cmd == nullptr || !expanded) continue;
      const std::string& path = expanded->result;
      if (path.find("://") != std::string::npos || path.starts_with("git@")) {
        continue;
      }
      if (IgnoredByDockerignore(path, inputs_.excludes)) {
        out_.Add("CopyIgnoredFile",
                 "Attempting to " + std::string(context_cmd) + " file " +
                     gotext::Quote(path) + " that is excluded by .dockerignore",
                 c.range);
      }
    }
    Use(files.dest, scope, c);
    for (const std::string& f : flags) {
      if (!f.empty()) Use(f, scope, c);
    }
  }

  void ExposeRules(const std::string& port, const CommandBase& c) {
    if (port.find(':') != std::string::npos) {
      out_.Add("ExposeInvalidFormat",
               "EXPOSE instruction should not define an IP address or "
               "host-port mapping, found '" +
                   port + "'",
               c.range);
    }
    size_t slash = port.rfind('/');
    if (slash == std::string::npos) return;
    std::string proto = port.substr(slash + 1);
    if (gotext::AsciiLower(proto) != proto) {
      out_.Add("ExposeProtoCasing",
               "Defined protocol '" + port +
                   "' in EXPOSE instruction should be lowercase",
               c.range);
    }
  }

  void JsonArgs(const CommandLine& line, const Scope& scope,
                const CommandBase& c) {
    if (!line.prepend_shell || scope.shell_set) return;
    out_.Add("JSONArgsRecommended",
             "JSON arguments recommended for " + KeywordOf(c.original) +
                 " to prevent unintended behavior related to OS signals",
             c.range);
  }

  const ParsedDockerfile& df_;
  const CheckInputs& inputs_;
  CheckEmitter& out_;
  LexOptions lex_;
  Vars builtin_;
  Vars meta_;
  Vars defaults_;
  std::set<std::string> meta_keys_;
  std::map<std::string, Scope> stages_;
};

}  // namespace

void CheckStageRules(const ParsedDockerfile& instructions,
                     const CheckInputs& inputs, char escape,
                     CheckEmitter& out) {
  StageChecker(instructions, inputs, escape, out).Run();
}

}  // namespace kiln::dockerfile::internal
