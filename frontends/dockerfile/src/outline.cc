// frontend.outline: the build args, secrets and ssh mounts the target stage
// and the stages it depends on use, following upstream's outlineCapture
// (dockerfile2llb/outline.go; see kiln/dockerfile/subrequests.h).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "go_text.h"
#include "kiln/dockerfile/shell_lex.h"
#include "kiln/dockerfile/subrequests.h"
#include "subrequests_internal.h"

namespace kiln::dockerfile {
namespace {

using Json = nlohmann::ordered_json;

struct ArgInfo {
  std::string name;
  std::string value;
  std::string description;
  std::set<std::string> deps;  // args its default refers to
  SourceRange range;
};

struct Named {
  std::string name;
  bool required = false;
  SourceRange range;
};

// One stage's capture: the args it knows and uses, its secrets and ssh.
struct Capture {
  std::map<std::string, ArgInfo> args;
  std::map<std::string, std::string> values;  // for expansion
  std::set<std::string> used;
  std::map<std::string, Named> secrets;
  std::map<std::string, Named> ssh;
  std::set<size_t> deps;  // stage indexes this stage needs
};

class Outliner {
 public:
  Outliner(const ParsedDockerfile& df,
           const std::map<std::string, std::string>& build_args, char escape)
      : df_(df), build_args_(build_args) {
    lex_.escape = escape;
  }

  Result<sdk::BuildResult> Run(const std::string& target,
                               std::string_view dockerfile) {
    if (df_.stages.empty()) {
      return InvalidArgumentError("dockerfile contains no stages to build");
    }
    size_t index = df_.stages.size() - 1;
    if (!target.empty()) {
      auto it = std::find_if(
          df_.stages.begin(), df_.stages.end(),
          [&](const Stage& s) { return s.name == gotext::AsciiLower(target); });
      if (it == df_.stages.end()) {
        return NotFoundError("target stage " + gotext::Quote(target) +
                             " could not be found");
      }
      index = static_cast<size_t>(it - df_.stages.begin());
    }
    Capture global = Global();
    for (size_t i = 0; i < df_.stages.size(); ++i)
      stages_.push_back(Dispatch(i, global));

    std::vector<ArgInfo> args;
    std::vector<Named> secrets;
    std::vector<Named> ssh;
    std::set<std::string> seen_args, seen_secrets, seen_ssh;
    std::set<size_t> visited;
    Collect(index, visited, seen_args, seen_secrets, seen_ssh, args, secrets,
            ssh);
    auto by_line = [](const auto& a, const auto& b) {
      return a.range.line < b.range.line;
    };
    std::stable_sort(args.begin(), args.end(), by_line);
    std::stable_sort(secrets.begin(), secrets.end(), by_line);
    std::stable_sort(ssh.begin(), ssh.end(), by_line);
    return MakeResult(df_.stages[index], args, secrets, ssh, dockerfile);
  }

 private:
  ArgInfo Define(const ArgDefinition& a, const CommandBase& c,
                 const Capture& cap) {
    ArgInfo info{.name = a.key, .description = a.comment, .range = c.range};
    if (a.value) {
      Result<ExpandResult> r =
          ProcessWordWithMatches(*a.value, Lookup(cap), lex_);
      if (r.ok()) {
        info.value = r->result;
        info.deps = r->matched;
      }
    }
    if (auto given = build_args_.find(a.key); given != build_args_.end()) {
      info.value = given->second;
    }
    return info;
  }

  EnvLookup Lookup(const Capture& cap) {
    return [&cap](std::string_view name) -> std::optional<std::string> {
      auto it = cap.values.find(std::string(name));
      if (it == cap.values.end()) return std::nullopt;
      return it->second;
    };
  }

  Capture Global() {
    Capture cap;
    for (const ArgCommand& cmd : df_.meta_args) {
      for (const ArgDefinition& a : cmd.args) {
        ArgInfo info = Define(a, cmd, cap);
        cap.values[a.key] = info.value;
        cap.args[a.key] = std::move(info);
      }
    }
    return cap;
  }

  // Marks the args a word refers to as used.
  void Use(const std::string& word, Capture& cap) {
    Result<ExpandResult> r = ProcessWordWithMatches(word, Lookup(cap), lex_);
    if (r.ok()) cap.used.insert(r->matched.begin(), r->matched.end());
  }

  std::optional<size_t> StageIndex(const std::string& name, size_t before) {
    const std::string lower = gotext::AsciiLower(name);
    for (size_t i = 0; i < before; ++i) {
      if (df_.stages[i].name == lower) return i;
    }
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return c >= '0' && c <= '9';
        })) {
      size_t n = std::stoul(name);
      if (n < before) return n;
    }
    return std::nullopt;
  }

  Capture Dispatch(size_t i, const Capture& global) {
    const Stage& stage = df_.stages[i];
    Capture cap;
    Capture from = global;  // FROM expands with the global args
    Use(stage.base, from);
    Use(stage.platform, from);
    std::string base =
        ProcessWord(stage.base, Lookup(from), lex_).value_or(stage.base);
    if (auto parent = StageIndex(base, i)) {
      cap = stages_[*parent];
      cap.used.clear();
      cap.secrets.clear();
      cap.ssh.clear();
      cap.deps = {*parent};
    }
    // The global args are known (not visible: no value to expand with);
    // those FROM uses are used by this stage.
    for (const auto& [name, info] : global.args) cap.args.emplace(name, info);
    for (const std::string& name : from.used) {
      if (global.args.contains(name)) cap.used.insert(name);
    }
    for (const Command& command : stage.commands) Dispatch(command, i, cap);
    return cap;
  }

  void Dispatch(const Command& command, size_t i, Capture& cap) {
    const CommandBase& c = BaseOf(command);
    if (const auto* arg = std::get_if<ArgCommand>(&command)) {
      for (const ArgDefinition& a : arg->args) {
        ArgInfo info = Define(a, c, cap);
        if (!a.value && !build_args_.contains(a.key)) {
          // ARG NAME after a global ARG NAME: the global's value.
          for (const ArgCommand& meta : df_.meta_args) {
            for (const ArgDefinition& m : meta.args) {
              if (m.key == a.key && m.value) info.value = *m.value;
            }
          }
        }
        cap.values[a.key] = info.value;
        cap.args[a.key] = std::move(info);
      }
    } else if (const auto* env = std::get_if<EnvCommand>(&command)) {
      for (const KeyValuePair& kv : env->env) Use(kv.value, cap);
    } else if (const auto* label = std::get_if<LabelCommand>(&command)) {
      for (const KeyValuePair& kv : label->labels) Use(kv.value, cap);
    } else if (const auto* wd = std::get_if<WorkdirCommand>(&command)) {
      Use(wd->path, cap);
    } else if (const auto* user = std::get_if<UserCommand>(&command)) {
      Use(user->user, cap);
    } else if (const auto* run = std::get_if<RunCommand>(&command)) {
      for (const std::string& a : run->command.args) Use(a, cap);
      for (const Mount& m : run->mounts) Mounts(m, c, i, cap);
    } else if (const auto* copy = std::get_if<CopyCommand>(&command)) {
      for (const std::string& s : copy->files.source_paths) Use(s, cap);
      Use(copy->files.dest, cap);
      if (auto dep = StageIndex(copy->from, i)) cap.deps.insert(*dep);
    } else if (const auto* add = std::get_if<AddCommand>(&command)) {
      for (const std::string& s : add->files.source_paths) Use(s, cap);
      Use(add->files.dest, cap);
    }
  }

  void Mounts(const Mount& m, const CommandBase& c, size_t i, Capture& cap) {
    if (auto dep = StageIndex(m.from, i); dep && !m.from.empty()) {
      cap.deps.insert(*dep);
    }
    if (m.type == MountType::kSecret) {
      std::string id = m.id;
      if (id.empty()) id = m.target.substr(m.target.rfind('/') + 1);
      if (!id.empty() && !cap.secrets.contains(id)) {
        cap.secrets[id] = Named{id, m.required, c.range};
      }
    } else if (m.type == MountType::kSsh) {
      std::string id = m.id.empty() ? "default" : m.id;
      if (!cap.ssh.contains(id)) cap.ssh[id] = Named{id, m.required, c.range};
    }
  }

  // Upstream's args/secrets/ssh walk: the stage, then its base and deps.
  void Collect(size_t index, std::set<size_t>& visited,
               std::set<std::string>& seen_args,
               std::set<std::string>& seen_secrets,
               std::set<std::string>& seen_ssh, std::vector<ArgInfo>& args,
               std::vector<Named>& secrets, std::vector<Named>& ssh) {
    if (!visited.insert(index).second) return;
    Capture& cap = stages_[index];
    // Args used transitively through defaults.
    std::vector<std::string> queue(cap.used.begin(), cap.used.end());
    while (!queue.empty()) {
      std::string name = queue.back();
      queue.pop_back();
      cap.used.insert(name);
      if (auto a = cap.args.find(name); a != cap.args.end()) {
        for (const std::string& d : a->second.deps) {
          if (!cap.used.contains(d)) queue.push_back(d);
        }
      }
    }
    for (const std::string& name : cap.used) {
      auto a = cap.args.find(name);
      if (a != cap.args.end() && seen_args.insert(name).second) {
        args.push_back(a->second);
      }
    }
    for (const auto& [id, s] : cap.secrets) {
      if (seen_secrets.insert(id).second) secrets.push_back(s);
    }
    for (const auto& [id, s] : cap.ssh) {
      if (seen_ssh.insert(id).second) ssh.push_back(s);
    }
    for (size_t dep : cap.deps) {
      Collect(dep, visited, seen_args, seen_secrets, seen_ssh, args, secrets,
              ssh);
    }
  }

  sdk::BuildResult MakeResult(const Stage& target,
                              const std::vector<ArgInfo>& args,
                              const std::vector<Named>& secrets,
                              const std::vector<Named>& ssh,
                              std::string_view dockerfile) {
    Json doc = Json::object();
    if (!target.name.empty()) doc["name"] = target.name;
    if (!target.comment.empty()) doc["description"] = target.comment;
    std::vector<std::vector<std::string>> arg_rows = {
        {"BUILD ARG", "VALUE", "DESCRIPTION"}};
    for (const ArgInfo& a : args) {
      Json j = {{"name", a.name}};
      if (!a.description.empty()) j["description"] = a.description;
      if (!a.value.empty()) j["value"] = a.value;
      j["location"] = internal::LocationJson(a.range);
      doc["args"].push_back(std::move(j));
      arg_rows.push_back({a.name, a.value, a.description});
    }
    auto named = [&](const std::vector<Named>& list, const char* key,
                     const char* title) {
      std::vector<std::vector<std::string>> rows = {{title, "REQUIRED"}};
      for (const Named& n : list) {
        Json j = {{"name", n.name}};
        if (n.required) j["required"] = true;
        j["location"] = internal::LocationJson(n.range);
        doc[key].push_back(std::move(j));
        rows.push_back({n.name, n.required ? "true" : ""});
      }
      return rows;
    };
    auto secret_rows = named(secrets, "secrets", "SECRET");
    auto ssh_rows = named(ssh, "ssh", "SSH");
    doc["sources"] = Json::array({internal::Base64(dockerfile)});

    std::string text;
    if (!target.name.empty() || !target.comment.empty()) {
      std::vector<std::vector<std::string>> rows = {
          {"TARGET:", target.name.empty() ? "(default)" : target.name}};
      if (!target.comment.empty())
        rows.push_back({"DESCRIPTION:", target.comment});
      text += internal::Tabulate(rows, 1) + "\n";
    }
    if (!args.empty()) text += internal::Tabulate(arg_rows, 3) + "\n";
    if (!secrets.empty()) text += internal::Tabulate(secret_rows, 3) + "\n";
    if (!ssh.empty()) text += internal::Tabulate(ssh_rows, 3) + "\n";

    sdk::BuildResult result;
    result.metadata["result.json"] = doc.dump(2);
    result.metadata["result.txt"] = text;
    result.metadata["version"] = "1.0.0";
    return result;
  }

  const ParsedDockerfile& df_;
  const std::map<std::string, std::string>& build_args_;
  LexOptions lex_;
  std::vector<Capture> stages_;
};

}  // namespace

Result<sdk::BuildResult> OutlineResult(
    const ParsedDockerfile& instructions, std::string_view dockerfile,
    const std::string& target,
    const std::map<std::string, std::string>& build_args, char escape) {
  return Outliner(instructions, build_args, escape).Run(target, dockerfile);
}

}  // namespace kiln::dockerfile
