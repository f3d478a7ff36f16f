// The YAML recipe language (docs/yaml-recipe.md): its model and the loader
// that validates a recipe and substitutes its args.
//
// LoadRecipe parses the YAML (yaml_node.h), checks every key and type,
// substitutes `${NAME}` in every value under `stages`, `image` and `target`
// (values of the recipe's `args`, overridden by build args, plus the
// predefined TARGETPLATFORM/TARGETOS/TARGETARCH/TARGETVARIANT and the BUILD*
// ones; `$$` is a literal `$`, and a `$` not followed by `{` stays as it
// is, so a shell's `$HOME` passes through), resolves what each stage and
// step refers to, and rejects cycles between stages.
//
// Errors: InvalidArgument, located (Status::ranges()) at the line:column of
// the offending node in `filename`, with messages such as
//   unknown key "form" in stage "build" (did you mean "from"?)
//   wrong type for "steps" in stage "build": expected a sequence, got a
//   scalar
//   unknown stage "buld" in step 2 of stage "app" (did you mean "build"?)
//   cycle between stages: a -> b -> a
//   undefined arg "VERISON" (did you mean "VERSION"?)
// (docs/yaml-recipe.md lists them all).
//
// Ownership: values. Thread-safety: LoadRecipe is reentrant.
#ifndef KILN_RECIPE_RECIPE_H_
#define KILN_RECIPE_RECIPE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/recipe/yaml_node.h"

namespace kiln::recipe {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Where a copy or mount takes its files from.
struct SourceRef {
  enum class Kind { kContext, kStage, kImage, kScratch };
  Kind kind = Kind::kContext;
  std::string name;  // stage name or image reference
};

struct MountSpec {
  enum class Type { kBind, kCache, kTmpfs, kSecret, kSsh };
  Type type = Type::kBind;
  std::string target;
  SourceRef from;         // bind, cache (seed; default scratch for cache)
  std::string source;     // path inside `from`
  bool readonly = false;  // bind: true unless `readonly: false`
  std::string id;         // cache, secret, ssh
  std::string sharing = "shared";  // cache: shared, private, locked
  int64_t size = 0;                // tmpfs bytes
  std::string env;                 // secret as env var
  bool required = false;           // secret, ssh
  std::optional<uint32_t> mode, uid, gid;
  Mark mark;
};

struct RunStep {
  std::vector<std::string> args;  // argv; shell form = {"/bin/sh", "-c", cmd}
  std::string display;            // the command as written
  EnvList env;
  std::optional<std::string> workdir;
  std::optional<std::string> user;
  std::string network = "default";  // default, none, host
  std::vector<MountSpec> mounts;
};

struct CopyStep {
  std::vector<std::string> src;
  std::string dest;
  SourceRef from;
  std::string owner;  // "user[:group]"
  std::optional<int32_t> mode;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
};

struct MkdirStep {
  std::string path;
  uint32_t mode = 0755;
  bool parents = true;
  std::string owner;
};

struct FileStep {
  std::string path;
  std::string content;
  uint32_t mode = 0644;
  std::string owner;
};

struct RmStep {
  std::string path;
  bool allow_not_found = false;
};

struct SymlinkStep {
  std::string target;  // what the link points to
  std::string link;    // the link's path
};

struct EnvStep {
  EnvList env;
};
struct WorkdirStep {
  std::string path;
};
struct UserStep {
  std::string user;
};

using StepBody = std::variant<RunStep, CopyStep, MkdirStep, FileStep, RmStep,
                              SymlinkStep, EnvStep, WorkdirStep, UserStep>;

struct Step {
  StepBody body;
  std::string kind;  // "run", "copy", ...
  int index = 0;     // 1-based within the stage
  Mark mark;
};

struct Stage {
  std::string name;
  Mark mark;       // the stage's key
  SourceRef from;  // kScratch, kStage or kImage
  Mark from_mark;
  std::optional<llb::Platform> platform;
  Mark platform_mark;
  std::vector<Step> steps;
};

struct ImageSection {
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  EnvList env;
  EnvList labels;
  std::vector<std::string> ports;  // "8080/tcp"
  std::vector<std::string> volumes;
  std::optional<std::string> user;
  std::optional<std::string> workdir;
};

struct Recipe {
  std::vector<Stage> stages;  // in source order
  std::string target;         // default target; empty = the last stage
  Mark target_mark;
  ImageSection image;

  // The index of stage `name`, -1 if none.
  int FindStage(std::string_view name) const;
};

// Limits that keep a hostile recipe bounded (the loader's errors name them).
inline constexpr size_t kMaxValueSize = 64 * 1024;  // a value after ${...}
inline constexpr size_t kMaxStages = 1000;
inline constexpr size_t kMaxSteps = 5000;  // in all stages together

struct LoadOptions {
  std::string filename = "recipe.yaml";
  std::map<std::string, std::string> build_args;  // override arg defaults
  llb::Platform target_platform;                  // empty os = HostPlatform()
  llb::Platform build_platform;                   // empty os = HostPlatform()
};

Result<Recipe> LoadRecipe(std::string_view text, const LoadOptions& options);

}  // namespace kiln::recipe

#endif  // KILN_RECIPE_RECIPE_H_
