// The instructions that run or configure a process: RUN (with --mount,
// --network, --security), CMD, ENTRYPOINT, SHELL and HEALTHCHECK.
#include <string>
#include <utility>
#include <vector>

#include "go_values.h"
#include "instruction_request.h"

namespace kiln::dockerfile {
namespace {

// handleJSONArgs: exec form keeps the array, shell form is one string.
std::vector<std::string> CommandArgs(const Request& request) {
  if (request.args.empty()) return {};
  if (request.node->json) return request.args;
  std::string joined;
  for (size_t i = 0; i < request.args.size(); ++i) {
    if (i > 0) joined += ' ';
    joined += request.args[i];
  }
  return {joined};
}

CommandLine MakeCommandLine(const Request& request) {
  CommandLine line;
  line.args = CommandArgs(request);
  line.prepend_shell = !request.node->json;
  line.files = request.node->heredocs;
  return line;
}

// CMD and ENTRYPOINT: a command line without heredoc files.
template <typename T>
Result<Command> ParseCommandLine(Request& request) {
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  T command;
  static_cast<CommandBase&>(command) = MakeBase(request);
  command.command = MakeCommandLine(request);
  command.command.files.clear();
  return Command(std::move(command));
}

// parseOptInterval: empty → 0, 0 → 0, else at least 1ms.
Result<std::chrono::nanoseconds> ParseInterval(const BFlags& flags,
                                               const std::string& name) {
  const std::string& value = flags.String(name);
  if (value.empty()) return std::chrono::nanoseconds(0);
  KILN_ASSIGN_OR_RETURN(std::chrono::nanoseconds d,
                        govalue::ParseDuration(value));
  if (d.count() == 0) return d;
  if (d < std::chrono::milliseconds(1)) {
    return InvalidArgumentError("interval \"" + name +
                                "\" cannot be less than 1ms");
  }
  return d;
}

}  // namespace

Result<Command> ParseRun(Request& request) {
  request.flags.AddStrings("mount");
  request.flags.AddString("network", "default");
  request.flags.AddString("security", "sandbox");
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  RunCommand run;
  static_cast<CommandBase&>(run) = MakeBase(request);
  run.flags_used = request.flags.Used();
  run.command = MakeCommandLine(request);
  for (const std::string& spec : request.flags.Strings("mount")) {
    KILN_ASSIGN_OR_RETURN(Mount mount, ParseMount(spec));
    run.mounts.push_back(std::move(mount));
  }
  run.network = request.flags.String("network");
  if (run.network != "default" && run.network != "none" &&
      run.network != "host") {
    return InvalidArgumentError("invalid network mode \"" + run.network + "\"");
  }
  run.security = request.flags.String("security");
  if (run.security != "sandbox" && run.security != "insecure") {
    return InvalidArgumentError("security \"" + run.security +
                                "\" is not valid");
  }
  return Command(std::move(run));
}

Result<Command> ParseCmd(Request& request) {
  return ParseCommandLine<CmdCommand>(request);
}

Result<Command> ParseEntrypoint(Request& request) {
  return ParseCommandLine<EntrypointCommand>(request);
}

Result<Command> ParseShell(Request& request) {
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  std::vector<std::string> shell = CommandArgs(request);
  if (shell.empty())
    return InvalidArgumentError("SHELL requires at least one argument");
  if (!request.node->json)
    return InvalidArgumentError(
        "SHELL requires the arguments to be in JSON form");
  ShellCommand command;
  static_cast<CommandBase&>(command) = MakeBase(request);
  command.shell = std::move(shell);
  return Command(std::move(command));
}

Result<Command> ParseHealthcheck(Request& request) {
  if (request.args.empty())
    return InvalidArgumentError("HEALTHCHECK requires at least one argument");
  HealthcheckCommand command;
  static_cast<CommandBase&>(command) = MakeBase(request);
  std::string type = request.args[0];
  for (char& c : type) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  request.flags.AddString("interval", "");
  request.flags.AddString("timeout", "");
  request.flags.AddString("start-period", "");
  request.flags.AddString("start-interval", "");
  request.flags.AddString("retries", "");
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  if (type == "NONE") {  // its flags are accepted and ignored, as upstream
    if (request.args.size() != 1)
      return InvalidArgumentError("HEALTHCHECK NONE takes no arguments");
    command.health.test = {"NONE"};
    return Command(std::move(command));
  }
  if (type != "CMD") {
    return InvalidArgumentError("unknown type \"" + type +
                                "\" in HEALTHCHECK (try CMD)");
  }
  Request rest{
      request.node, request.keyword,
      std::vector<std::string>(request.args.begin() + 1, request.args.end()),
      BFlags({})};
  std::vector<std::string> args = CommandArgs(rest);
  if (args.empty())
    return InvalidArgumentError("missing command after HEALTHCHECK CMD");
  HealthConfig& health = command.health;
  health.test.push_back(request.node->json ? "CMD" : "CMD-SHELL");
  health.test.insert(health.test.end(), args.begin(), args.end());
  KILN_ASSIGN_OR_RETURN(health.interval,
                        ParseInterval(request.flags, "interval"));
  KILN_ASSIGN_OR_RETURN(health.timeout,
                        ParseInterval(request.flags, "timeout"));
  KILN_ASSIGN_OR_RETURN(health.start_period,
                        ParseInterval(request.flags, "start-period"));
  KILN_ASSIGN_OR_RETURN(health.start_interval,
                        ParseInterval(request.flags, "start-interval"));
  const std::string& retries = request.flags.String("retries");
  if (!retries.empty()) {
    std::optional<int64_t> n =
        govalue::ParseInt(retries, -2147483648LL, 2147483647LL);
    if (!n) {
      return InvalidArgumentError("invalid value for --retries: " + retries);
    }
    if (*n < 0) {
      return InvalidArgumentError("--retries cannot be negative (" +
                                  std::to_string(*n) + ")");
    }
    health.retries = static_cast<int>(*n);
  }
  return Command(std::move(command));
}

}  // namespace kiln::dockerfile
