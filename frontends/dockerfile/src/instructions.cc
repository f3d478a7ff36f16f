// ParseInstruction / ParseInstructions: the dispatch on the keyword, the
// simple instructions (FROM, ENV, LABEL, ARG, EXPOSE, USER, WORKDIR, VOLUME,
// STOPSIGNAL, MAINTAINER, ONBUILD) and the error location, as upstream's
// instructions/parse.go.
#include "kiln/dockerfile/instructions.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "go_text.h"
#include "instruction_request.h"
#include "suggest.h"

namespace kiln::dockerfile {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

const std::vector<std::string>& InstructionNames() {
  static const std::vector<std::string> kNames = {
      "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
      "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
      "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};
  return kNames;
}

void NodeArgs(const Node& node, std::vector<std::string>* out) {
  for (const Node& arg : node.next) {
    if (arg.children.empty()) {
      out->push_back(arg.value);
    } else {
      out->push_back(arg.children[0].value);
      NodeArgs(arg.children[0], out);
    }
  }
}

// The keyword as written (the first word of the original line).
std::string WrittenKeyword(const Node& node) {
  std::string_view text = gotext::TrimLeftSpace(node.original);
  size_t end = 0;
  while (end < text.size() &&
         !gotext::IsSpaceByte(static_cast<unsigned char>(text[end])))
    ++end;
  return end == 0 ? node.value : std::string(text.substr(0, end));
}

Status ErrorAt(const Status& error, const Node& node) {
  std::string message = error.message();
  message += ": " + gotext::Quote(gotext::TrimSpace(node.original));
  return Status(error.code(), std::move(message)).WithRange(node.range);
}

Status ExactlyOne(const Request& request) {
  if (request.args.size() == 1) return Status::Ok();
  return InvalidArgumentError(request.keyword +
                              " requires exactly one argument");
}

Status AtLeastOne(const Request& request) {
  if (!request.args.empty()) return Status::Ok();
  return InvalidArgumentError(request.keyword +
                              " requires at least one argument");
}

// getComment: the text after "name " in a preceding comment line.
std::string CommentFor(const Node& node, const std::string& name) {
  if (name.empty()) return "";
  for (const std::string& line : node.prev_comment) {
    if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
  }
  return "";
}

Result<std::vector<KeyValuePair>> ParsePairs(const Request& request) {
  KILN_RETURN_IF_ERROR(AtLeastOne(request));
  if (request.args.size() % 3 != 0) {
    return InvalidArgumentError("bad input to " + request.keyword +
                                ", too many arguments");
  }
  std::vector<KeyValuePair> pairs;
  for (size_t i = 0; i < request.args.size(); i += 3) {
    if (request.args[i].empty())
      return InvalidArgumentError(request.keyword + " names can not be blank");
    pairs.push_back(KeyValuePair{request.args[i], request.args[i + 1],
                                 request.args[i + 2].empty()});
  }
  return pairs;
}

bool IsValidStageName(std::string_view name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

Result<Instruction> ParseFrom(Request& request) {
  Stage stage;
  const std::vector<std::string>& args = request.args;
  if (args.size() == 3 && Upper(args[1]) == "AS") {
    stage.name = gotext::AsciiLower(args[2]);
    if (!IsValidStageName(stage.name)) {
      return InvalidArgumentError(
          "invalid name for build stage: " + gotext::Quote(args[2]) +
          ", name can't start with a number or contain symbols");
    }
  } else if (args.size() != 1) {
    return InvalidArgumentError("FROM requires either one or three arguments");
  }
  request.flags.AddString("platform", "");
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  stage.base = args[0];
  stage.platform = request.flags.String("platform");
  stage.original = std::string(gotext::TrimSpace(request.node->original));
  stage.comment = CommentFor(*request.node, stage.name);
  stage.range = request.node->range;
  return Instruction(std::move(stage));
}

Result<Command> ParseOnbuild(Request& request) {
  KILN_RETURN_IF_ERROR(AtLeastOne(request));
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  const std::string trigger = Upper(gotext::TrimSpace(request.args[0]));
  if (trigger == "ONBUILD") {
    return InvalidArgumentError(
        "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  }
  if (trigger == "MAINTAINER" || trigger == "FROM")
    return InvalidArgumentError(trigger +
                                " isn't allowed as an ONBUILD trigger");
  OnbuildCommand onbuild;
  static_cast<CommandBase&>(onbuild) = MakeBase(request);
  // (?i)^\s*ONBUILD\s*
  std::string_view rest = gotext::TrimLeftSpace(request.node->original);
  rest.remove_prefix(std::min<size_t>(rest.size(), 7));
  rest = gotext::TrimLeftSpace(rest);
  onbuild.expression = std::string(rest);
  for (const Heredoc& heredoc : request.node->heredocs)
    onbuild.expression += "\n" + heredoc.content + heredoc.name;
  return Command(std::move(onbuild));
}

template <typename T>
T WithBase(const Request& request) {
  T command;
  static_cast<CommandBase&>(command) = MakeBase(request);
  return command;
}

Result<Command> ParseSimple(Request& request) {
  const std::string& k = request.keyword;
  if (k == "ARG") {
    // Upstream checks no flags on ARG; kiln rejects any flag.
    KILN_RETURN_IF_ERROR(AtLeastOne(request));
    KILN_RETURN_IF_ERROR(request.flags.Parse());
    auto arg = WithBase<ArgCommand>(request);
    for (const std::string& word : request.args) {
      ArgDefinition definition;
      const size_t equals = word.find('=');
      if (equals == 0)
        return InvalidArgumentError("ARG names can not be blank");
      definition.key = word.substr(0, equals);
      if (equals != std::string::npos)
        definition.value = word.substr(equals + 1);
      definition.comment = CommentFor(*request.node, definition.key);
      arg.args.push_back(std::move(definition));
    }
    return Command(std::move(arg));
  }
  if (k == "ENV" || k == "LABEL") {
    KILN_RETURN_IF_ERROR(request.flags.Parse());
    KILN_ASSIGN_OR_RETURN(std::vector<KeyValuePair> pairs, ParsePairs(request));
    if (k == "ENV") {
      auto env = WithBase<EnvCommand>(request);
      env.env = std::move(pairs);
      return Command(std::move(env));
    }
    auto label = WithBase<LabelCommand>(request);
    label.labels = std::move(pairs);
    return Command(std::move(label));
  }
  if (k == "EXPOSE" || k == "VOLUME") {
    KILN_RETURN_IF_ERROR(AtLeastOne(request));
    KILN_RETURN_IF_ERROR(request.flags.Parse());
    if (k == "EXPOSE") {
      auto expose = WithBase<ExposeCommand>(request);
      expose.ports = request.args;
      std::sort(expose.ports.begin(), expose.ports.end());
      return Command(std::move(expose));
    }
    auto volume = WithBase<VolumeCommand>(request);
    for (const std::string& word : request.args) {
      std::string trimmed(gotext::TrimSpace(word));
      if (trimmed.empty())
        return InvalidArgumentError(
            "VOLUME specified can not be an empty string");
      volume.volumes.push_back(std::move(trimmed));
    }
    return Command(std::move(volume));
  }
  // The one-argument instructions.
  KILN_RETURN_IF_ERROR(ExactlyOne(request));
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  const std::string& value = request.args[0];
  if (k == "USER") {
    auto user = WithBase<UserCommand>(request);
    user.user = value;
    return Command(std::move(user));
  }
  if (k == "WORKDIR") {
    auto workdir = WithBase<WorkdirCommand>(request);
    workdir.path = value;
    return Command(std::move(workdir));
  }
  if (k == "STOPSIGNAL") {
    auto signal = WithBase<StopSignalCommand>(request);
    signal.signal = value;
    return Command(std::move(signal));
  }
  auto maintainer = WithBase<MaintainerCommand>(request);
  maintainer.maintainer = value;
  return Command(std::move(maintainer));
}

Result<Instruction> Dispatch(Request& request) {
  const std::string& k = request.keyword;
  if (k == "FROM") return ParseFrom(request);
  Result<Command> command = [&]() -> Result<Command> {
    if (k == "RUN") return ParseRun(request);
    if (k == "CMD") return ParseCmd(request);
    if (k == "ENTRYPOINT") return ParseEntrypoint(request);
    if (k == "SHELL") return ParseShell(request);
    if (k == "HEALTHCHECK") return ParseHealthcheck(request);
    if (k == "COPY") return ParseCopy(request);
    if (k == "ADD") return ParseAdd(request);
    if (k == "ONBUILD") return ParseOnbuild(request);
    return ParseSimple(request);
  }();
  if (!command.ok()) return command.status();
  return Instruction(std::move(*command));
}

}  // namespace

CommandBase MakeBase(const Request& request) {
  return CommandBase{request.keyword, request.node->original,
                     request.node->range};
}

const CommandBase& BaseOf(const Command& command) {
  return std::visit([](const auto& c) -> const CommandBase& { return c; },
                    command);
}

Result<Instruction> ParseInstruction(const Node& node) {
  const std::string keyword = Upper(node.value);
  if (std::find(InstructionNames().begin(), InstructionNames().end(),
                keyword) == InstructionNames().end()) {
    const std::string written = WrittenKeyword(node);
    return ErrorAt(InvalidArgumentError(
                       WithSuggestion("unknown instruction: " + written,
                                      written, InstructionNames(), false)),
                   node);
  }
  Request request{&node, keyword, {}, BFlags(node.flags)};
  NodeArgs(node, &request.args);
  Result<Instruction> instruction = Dispatch(request);
  if (!instruction.ok()) return ErrorAt(instruction.status(), node);
  return instruction;
}

Result<ParsedDockerfile> ParseInstructions(const ParseResult& parsed) {
  ParsedDockerfile result;
  for (const Node& node : parsed.children) {
    KILN_ASSIGN_OR_RETURN(Instruction instruction, ParseInstruction(node));
    if (Stage* stage = std::get_if<Stage>(&instruction)) {
      result.stages.push_back(std::move(*stage));
      continue;
    }
    Command& command = std::get<Command>(instruction);
    if (result.stages.empty()) {
      if (ArgCommand* arg = std::get_if<ArgCommand>(&command)) {
        result.meta_args.push_back(std::move(*arg));
        continue;
      }
      return ErrorAt(InvalidArgumentError("no build stage in current context"),
                     node);
    }
    result.stages.back().commands.push_back(std::move(command));
  }
  return result;
}

}  // namespace kiln::dockerfile
