// RunChecks and the rules over the syntax tree and single instructions:
// casing, stage names, MAINTAINER, empty continuations, definition
// descriptions, legacy key/value, secrets and repeated CMD/ENTRYPOINT/
// HEALTHCHECK (see kiln/dockerfile/checks.h).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "checks_internal.h"
#include "go_text.h"

namespace kiln::dockerfile {
namespace internal {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool IsLower(std::string_view s) { return gotext::AsciiLower(s) == s; }
bool IsUpper(std::string_view s) { return Upper(s) == s; }

const std::vector<std::string>& ArgsOf(const Node& node,
                                       std::vector<std::string>* storage) {
  storage->clear();
  for (const Node& n : node.next) storage->push_back(n.value);
  return *storage;
}

void CheckCasing(const ParseResult& parsed, CheckEmitter& out) {
  int lower = 0;
  int upper = 0;
  for (const Node& node : parsed.children) {
    std::string kw = KeywordOf(node.original);
    if (IsLower(kw)) {
      ++lower;
    } else if (IsUpper(kw)) {
      ++upper;
    }
  }
  const bool majority_lower = lower > upper;
  for (const Node& node : parsed.children) {
    std::string kw = KeywordOf(node.original);
    std::string correct;
    if (majority_lower && !IsLower(kw)) {
      correct = "lowercase";
    } else if (!majority_lower && !IsUpper(kw)) {
      correct = "uppercase";
    }
    if (correct.empty()) continue;
    out.Add("ConsistentInstructionCasing",
            "Command '" + kw + "' should match the case of the command " +
                "majority (" + correct + ")",
            node.range);
  }
}

// The first word of the comment right before a definition must be one of
// `keys` (experimental InvalidDefinitionDescription).
void CheckDescription(const Node& node, std::string_view instruction,
                      const std::vector<std::string>& keys, CheckEmitter& out) {
  if (node.prev_comment.empty() || keys.empty()) return;
  const std::string& last = node.prev_comment.back();
  std::string first = last.substr(0, last.find(' '));
  if (std::find(keys.begin(), keys.end(), first) != keys.end()) return;
  std::string example = keys.size() > 1 ? "<arg_key>" : keys.front();
  out.Add("InvalidDefinitionDescription",
          "Comment for " + std::string(instruction) +
              " should follow the format: `# " + example + " <description>`",
          node.range);
}

void CheckFrom(const Node& node, CheckEmitter& out) {
  std::vector<std::string> storage;
  const std::vector<std::string>& args = ArgsOf(node, &storage);
  const std::string from = KeywordOf(node.original);
  if (args.size() >= 3 && (IsLower(from) || IsUpper(from))) {
    const std::string& as = args[1];
    if ((IsLower(from) && !IsLower(as)) || (IsUpper(from) && !IsUpper(as))) {
      out.Add("FromAsCasing",
              "'" + as + "' and '" + from + "' keywords' casing do not match",
              node.range);
    }
  }
  if (args.size() != 3 || gotext::AsciiLower(args[1]) != "as") return;
  const std::string& name = args[2];
  if (!IsLower(name)) {
    out.Add("StageNameCasing", "Stage name '" + name + "' should be lowercase",
            node.range);
  }
  std::string lower = gotext::AsciiLower(name);
  if (lower == "context" || lower == "scratch") {
    out.Add("ReservedStageName",
            "Stage name should not use the same name as reserved stage " +
                gotext::Quote(lower),
            node.range);
  }
  CheckDescription(node, "FROM", {lower}, out);
}

void CheckNodes(const ParseResult& parsed, CheckEmitter& out) {
  for (const ParseWarning& w : parsed.warnings) {
    if (w.rule == "NoEmptyContinuation") {
      out.Add(w.rule, "Empty continuation line", w.range);
    }
  }
  CheckCasing(parsed, out);
  for (const Node& node : parsed.children) {
    if (node.value == "from") {
      CheckFrom(node, out);
    } else if (node.value == "maintainer") {
      out.Add("MaintainerDeprecated",
              "Maintainer instruction is deprecated in favor of using label",
              node.range);
    } else if (node.value == "arg") {
      std::vector<std::string> keys;
      for (const Node& arg : node.next) {
        keys.push_back(arg.value.substr(0, arg.value.find('=')));
      }
      CheckDescription(node, "ARG", keys, out);
    }
  }
}

// Upstream's secrets pattern: a `_`-separated word of the key is one of the
// deny tokens (case-insensitive) and none is "public".
bool LooksSecret(std::string_view key) {
  static const std::set<std::string> kDeny = {
      "apikey",   "auth",  "credential", "credentials", "key",
      "password", "pword", "passwd",     "secret",      "token"};
  bool deny = false;
  bool allow = false;
  size_t start = 0;
  while (true) {
    size_t sep = key.find('_', start);
    std::string word = gotext::AsciiLower(key.substr(start, sep - start));
    deny = deny || kDeny.contains(word);
    allow = allow || word == "public";
    if (sep == std::string_view::npos) break;
    start = sep + 1;
  }
  return deny && !allow;
}

void CheckSecret(std::string_view instruction, const std::string& key,
                 const SourceRange& range, CheckEmitter& out) {
  if (!LooksSecret(key)) return;
  out.Add("SecretsUsedInArgOrEnv",
          "Do not use ARG or ENV instructions for sensitive data (" +
              std::string(instruction) + " " + gotext::Quote(key) + ")",
          range);
}

void CheckLegacy(const CommandBase& c, const std::vector<KeyValuePair>& kvs,
                 CheckEmitter& out) {
  for (const KeyValuePair& kv : kvs) {
    if (!kv.no_delim) continue;
    std::string name = KeywordOf(c.original);
    out.Add("LegacyKeyValueFormat",
            "\"" + name + " key=value\" should be used instead of legacy \"" +
                name + " key value\" format",
            c.range);
    return;
  }
}

void CheckCommands(const ParsedDockerfile& instructions, CheckEmitter& out) {
  for (const ArgCommand& meta : instructions.meta_args) {
    for (const ArgDefinition& a : meta.args)
      CheckSecret("ARG", a.key, meta.range, out);
  }
  std::set<std::string> names;
  for (const Stage& stage : instructions.stages) {
    if (!stage.name.empty() && !names.insert(stage.name).second) {
      out.Add("DuplicateStageName",
              "Duplicate stage name " + gotext::Quote(stage.name) +
                  ", stage names should be unique",
              stage.range);
    }
    // The previous CMD, ENTRYPOINT and HEALTHCHECK of the stage.
    const CommandBase* cmd = nullptr;
    const CommandBase* entrypoint = nullptr;
    const CommandBase* healthcheck = nullptr;
    for (const Command& command : stage.commands) {
      const CommandBase& base = BaseOf(command);
      const CommandBase** seen = nullptr;
      if (const auto* env = std::get_if<EnvCommand>(&command)) {
        CheckLegacy(base, env->env, out);
        for (const KeyValuePair& kv : env->env)
          CheckSecret("ENV", kv.key, base.range, out);
      } else if (const auto* label = std::get_if<LabelCommand>(&command)) {
        CheckLegacy(base, label->labels, out);
      } else if (const auto* arg = std::get_if<ArgCommand>(&command)) {
        for (const ArgDefinition& a : arg->args)
          CheckSecret("ARG", a.key, base.range, out);
      } else if (std::holds_alternative<CmdCommand>(command)) {
        seen = &cmd;
      } else if (std::holds_alternative<EntrypointCommand>(command)) {
        seen = &entrypoint;
      } else if (std::holds_alternative<HealthcheckCommand>(command)) {
        seen = &healthcheck;
      }
      if (seen == nullptr) continue;
      if (*seen != nullptr) {
        out.Add("MultipleInstructionsDisallowed",
                "Multiple " + KeywordOf(base.original) +
                    " instructions should not be used in the same stage " +
                    "because only the last one will be used",
                (*seen)->range);
      }
      *seen = &base;
    }
  }
}

}  // namespace

bool CheckEmitter::Enabled(std::string_view name) const {
  if (config_.skip_all) return false;
  const auto& rules = CheckRules();
  auto rule = std::find_if(rules.begin(), rules.end(),
                           [&](const CheckRule& r) { return r.name == name; });
  const bool listed_experimental =
      std::find(config_.experimental.begin(), config_.experimental.end(),
                name) != config_.experimental.end();
  if (rule != rules.end() && rule->experimental && !config_.experimental_all &&
      !listed_experimental) {
    return false;
  }
  if (listed_experimental) return true;
  return std::find(config_.skip.begin(), config_.skip.end(), name) ==
         config_.skip.end();
}

void CheckEmitter::Add(std::string_view name, std::string message,
                       const SourceRange& range) {
  if (!Enabled(name)) return;
  const auto& rules = CheckRules();
  auto rule = std::find_if(rules.begin(), rules.end(),
                           [&](const CheckRule& r) { return r.name == name; });
  CheckWarning w;
  w.rule = std::string(name);
  if (rule != rules.end()) {
    w.description = std::string(rule->description);
    w.url = std::string(rule->url);
  }
  w.message = std::move(message);
  w.range = range;
  warnings_.push_back(std::move(w));
}

std::string KeywordOf(std::string_view original) {
  original = gotext::TrimLeftSpace(original);
  size_t end = 0;
  while (end < original.size() && !gotext::IsAsciiBlank(original[end]) &&
         original[end] != '\n' && original[end] != '\r') {
    ++end;
  }
  return std::string(original.substr(0, end));
}

void CheckSyntaxRules(const ParseResult& parsed,
                      const ParsedDockerfile& instructions, CheckEmitter& out) {
  CheckNodes(parsed, out);
  CheckCommands(instructions, out);
}

}  // namespace internal

std::vector<CheckWarning> RunChecks(const ParseResult& parsed,
                                    const ParsedDockerfile& instructions,
                                    const CheckConfig& config,
                                    const CheckInputs& inputs) {
  internal::CheckEmitter out(config);
  internal::CheckSyntaxRules(parsed, instructions, out);
  internal::CheckStageRules(instructions, inputs,
                            parsed.directives.escape_token, out);
  std::vector<CheckWarning> warnings = std::move(out.warnings());
  std::stable_sort(warnings.begin(), warnings.end(),
                   [](const CheckWarning& a, const CheckWarning& b) {
                     return a.range.line < b.range.line;
                   });
  return warnings;
}

}  // namespace kiln::dockerfile
