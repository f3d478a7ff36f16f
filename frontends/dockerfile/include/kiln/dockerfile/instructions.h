// The Dockerfile instruction layer: parser nodes → typed instructions and
// build stages, as BuildKit's frontend/dockerfile/instructions package
// (parse.go, bflag.go, commands_runmount.go).
//
// Every instruction is checked for its argument count, its flags (the known
// flags of that instruction only: `--name=value` strings, `--name` or
// `--name=true|false` bools, repeatable `--mount`/`--exclude`), and what
// upstream validates at parse time (RUN mounts, network and security modes,
// HEALTHCHECK durations and retries, stage names, SHELL's JSON form). No
// variable is expanded here: words are kept as written, for the converter to
// expand with the stage's ARGs and ENV. Instructions not supported: the labs
// `RUN --device` flag (rejected as an unknown flag).
//
// Errors: InvalidArgument with the instruction's SourceRange attached
// (Status::ranges(), so ToString() starts with "file:line:column: ") and the
// instruction's text quoted at the end of the message, e.g.
//   unknown flag: --fro (did you mean --from?): "COPY --fro=a x /y"
// Unknown instructions, flags, mount keys, mount types and sharing modes
// suggest the closest known word within an edit distance of 2.
//
// Thread-safety: pure functions over values, safe to call concurrently.
#ifndef KILN_DOCKERFILE_INSTRUCTIONS_H_
#define KILN_DOCKERFILE_INSTRUCTIONS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kiln/dockerfile/parser.h"
#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// What every command keeps of its node (upstream's withNameAndCode).
struct CommandBase {
  std::string name;      // the keyword, upper case: "RUN", "COPY", ...
  std::string original;  // the instruction's logical line, as written
  SourceRange range;
};

// `key=value` (or legacy `key value`) of ENV and LABEL.
struct KeyValuePair {
  std::string key;
  std::string value;
  bool no_delim = false;  // the legacy form without `=`
};

// One ARG name with its optional default.
struct ArgDefinition {
  std::string key;
  std::optional<std::string> value;
  std::string comment;  // from a `# NAME text` comment right before the ARG
};

// The command line of RUN, CMD and ENTRYPOINT. Shell form: `args` holds one
// string (the argument words joined by spaces) and `prepend_shell` is true.
// Exec (JSON) form: `args` is the array and `prepend_shell` false.
struct CommandLine {
  std::vector<std::string> args;
  bool prepend_shell = false;
  // RUN's heredocs in order (content unchomped; `chomp` tells the converter
  // to strip leading tabs).
  std::vector<Heredoc> files;
};

enum class MountType { kBind, kCache, kTmpfs, kSecret, kSsh };
enum class MountSharing { kShared, kPrivate, kLocked };

// "bind", "cache", ... and "shared", "private", "locked".
std::string_view MountTypeName(MountType type);
std::string_view MountSharingName(MountSharing sharing);

// One `RUN --mount=` spec (upstream's types.Mount).
struct Mount {
  MountType type = MountType::kBind;
  std::string from;    // stage, image or named context (never expanded)
  std::string source;  // `source`/`src`
  std::string target;  // `target`/`dst`/`destination`
  // Defaults: true for bind, secret and ssh, false for cache and tmpfs.
  bool read_only = true;
  std::string id;  // cache id, secret id or ssh agent id
  std::optional<MountSharing> sharing;
  std::optional<uint32_t> mode;  // octal in the spec
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  bool required = false;           // secret and ssh only
  int64_t size_limit = 0;          // tmpfs `size`, bytes (binary units: 64m)
  std::optional<std::string> env;  // secret only: expose as this variable
  // The raw `--mount` value. When `deferred` is true some value contained a
  // `$`: those keys were left unparsed (their fields keep the defaults) and
  // the converter must call ParseMount(spec, expand) again.
  std::string spec;
  bool deferred = false;
};

// Expands a build variable reference in one mount value.
using MountValueExpander =
    std::function<Result<std::string>(std::string_view value)>;

// Parses one `--mount` value (CSV, keys case-insensitive, default type
// bind). With `expand` null (parse time) values containing `$` are deferred
// (see Mount::deferred) except `from`, which never expands and is rejected
// when it contains a variable. With `expand`, every value but `from` is
// expanded first. Errors: InvalidArgument for bad CSV, unknown keys or
// types (with a suggestion), bad numbers, sizes or booleans, keys not
// allowed for the type (`mode`/`uid`/`gid` on bind or tmpfs, `size` outside
// tmpfs, `required` outside secret/ssh, `env` outside secret, `sharing`
// outside cache) and secret mounts with `from`, neither source, target, id
// nor env, or both source and id. Messages carry no range.
Result<Mount> ParseMount(std::string_view spec,
                         const MountValueExpander* expand = nullptr);

struct RunCommand : CommandBase {
  CommandLine command;
  std::vector<Mount> mounts;
  std::string network = "default";      // "default" | "none" | "host"
  std::string security = "sandbox";     // "sandbox" | "insecure"
  std::vector<std::string> flags_used;  // flag names without "--", in order
};
struct CmdCommand : CommandBase {
  CommandLine command;
};
struct EntrypointCommand : CommandBase {
  CommandLine command;  // `ENTRYPOINT []` gives empty args (resets it)
};
struct ShellCommand : CommandBase {
  std::vector<std::string> shell;  // always from JSON form
};
struct EnvCommand : CommandBase {
  std::vector<KeyValuePair> env;
};
struct LabelCommand : CommandBase {
  std::vector<KeyValuePair> labels;
};
struct ArgCommand : CommandBase {
  std::vector<ArgDefinition> args;
};
struct ExposeCommand : CommandBase {
  std::vector<std::string> ports;  // sorted, as upstream (unexpanded)
};
struct UserCommand : CommandBase {
  std::string user;
};
struct WorkdirCommand : CommandBase {
  std::string path;
};
struct VolumeCommand : CommandBase {
  std::vector<std::string> volumes;  // each trimmed, never empty
};
struct StopSignalCommand : CommandBase {
  std::string signal;
};
struct MaintainerCommand : CommandBase {  // deprecated
  std::string maintainer;
};

// HEALTHCHECK's settings (Docker's container.HealthConfig). Durations of 0
// mean "the runtime's default"; a given duration is at least 1ms.
struct HealthConfig {
  // {"NONE"}, {"CMD", args...} (exec form) or {"CMD-SHELL", "line"}.
  std::vector<std::string> test;
  std::chrono::nanoseconds interval{0};
  std::chrono::nanoseconds timeout{0};
  std::chrono::nanoseconds start_period{0};
  std::chrono::nanoseconds start_interval{0};
  int retries = 0;
};
struct HealthcheckCommand : CommandBase {
  HealthConfig health;
};

struct OnbuildCommand : CommandBase {
  // The trigger as written after ONBUILD (heredoc bodies appended), to be
  // parsed again in the child build.
  std::string expression;
};

// A heredoc used as a COPY/ADD source (`COPY <<EOF /dest`).
struct SourceContent {
  std::string path;  // the heredoc name
  std::string data;  // chomped already for `<<-`
  bool expand = true;
};
struct SourcesAndDest {
  std::vector<std::string> source_paths;
  std::vector<SourceContent> source_contents;
  std::string dest;
};
struct CopyCommand : CommandBase {
  SourcesAndDest files;
  std::string from;
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;
};
struct AddCommand : CommandBase {
  SourcesAndDest files;
  std::string chown;
  std::string chmod;
  std::string checksum;
  bool link = false;
  bool keep_git_dir = false;
  std::optional<bool> unpack;  // unset unless `--unpack` is given
  std::vector<std::string> excludes;
};

using Command =
    std::variant<RunCommand, CmdCommand, EntrypointCommand, ShellCommand,
                 EnvCommand, LabelCommand, ArgCommand, ExposeCommand,
                 UserCommand, WorkdirCommand, VolumeCommand, StopSignalCommand,
                 MaintainerCommand, HealthcheckCommand, OnbuildCommand,
                 CopyCommand, AddCommand>;

// The fields every command shares.
const CommandBase& BaseOf(const Command& command);

// A build stage: one FROM and the commands up to the next FROM.
struct Stage {
  std::string name;      // lowercased `AS` name, empty when absent
  std::string base;      // the image or stage, unexpanded
  std::string platform;  // `--platform`, unexpanded, empty when absent
  std::string original;  // the FROM line, trimmed
  std::string comment;   // from a `# name text` comment before FROM
  std::vector<Command> commands;
  SourceRange range;  // the FROM instruction
};

using Instruction = std::variant<Stage, Command>;

// One node → a Stage (FROM) or a Command. Errors as described above.
Result<Instruction> ParseInstruction(const Node& node);

struct ParsedDockerfile {
  std::vector<Stage> stages;
  std::vector<ArgCommand> meta_args;  // the ARGs before the first FROM
};

// All instructions of a parsed file. Errors: the first instruction error, or
// "no build stage in current context" for an instruction other than ARG
// before the first FROM.
Result<ParsedDockerfile> ParseInstructions(const ParseResult& parsed);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_INSTRUCTIONS_H_
