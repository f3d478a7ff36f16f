// Private state of the Dockerfile → LLB conversion (convert*.cc).
#ifndef KILN_DOCKERFILE_SRC_CONVERT_INTERNAL_H_
#define KILN_DOCKERFILE_SRC_CONVERT_INTERNAL_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/dockerfile/convert.h"
#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/shell_lex.h"
#include "kiln/llb/path.h"
#include "kiln/llb/state.h"

namespace kiln::dockerfile::convert {

using Json = nlohmann::ordered_json;

struct BuildArg {
  std::string key;
  std::optional<std::string> value;
};

// One stage being converted (upstream's dispatchState).
struct StageState {
  const Stage* stage = nullptr;
  int index = 0;
  std::string display_name;  // "deps", "stage-3" or empty (single stage)
  int base_stage = -1;       // FROM another stage
  std::string base_ref;      // FROM image (expanded), empty for scratch/stage
  std::string base_config;   // the base image's config JSON, as resolved
  llb::Platform platform;
  bool dispatched = false;
  llb::State state;
  Json image;  // the image config being built
  bool cmd_set = false;
  std::vector<BuildArg> build_args;
  std::set<std::string> ctx_paths;
  int cmd_index = 0;
  int cmd_total = 0;
  // The base's ONBUILD triggers (InitOnbuild), run right after FROM.
  bool onbuild_init = false;
  std::vector<Command> onbuild;
  // The named context that replaces this whole stage (by its name), if any.
  std::optional<std::string> named_context;
};

// The conversion of one Dockerfile; Run() may be called once per pass.
struct Converter {
  const ConvertOptions* options = nullptr;
  const ParsedDockerfile* parsed = nullptr;
  char escape = '\\';
  llb::Platform target_platform;
  llb::Platform build_platform;
  std::vector<std::pair<std::string, std::string>> meta_args;  // with values
  std::vector<StageState> stages;
  llb::State context;  // the build context source
  std::vector<std::string> warnings;
  // Resolved images by ref, so both passes resolve once.
  std::map<std::string, ImageMeta>* image_cache = nullptr;
  int unregistered = 0;  // extra states upstream creates (prefix names)

  // Expands `word` with the stage's env (ARGs + ENV).
  Result<std::string> Expand(const StageState& s, std::string_view word) const;
  // The stage's env as a lookup.
  EnvLookup Lookup(const StageState& s) const;
  // "[name i/n] " prefix, advancing the stage's counter.
  std::string Prefix(StageState& s, const std::string& text) const;
  Result<ImageMeta> Resolve(const std::string& ref, const llb::Platform& p);
  // The state an image name stands for, with its image config: the named
  // context for `ref` when options->named_contexts has one (NamedContext),
  // else `docker-image://…@digest`. `raw_config`, when given, receives the
  // resolved config JSON as the resolver returned it ("" for none).
  Result<std::pair<llb::State, Json>> ImageState(
      const std::string& ref, const llb::Platform& p, const std::string& name,
      std::string* raw_config = nullptr);
  // The named context `value` for `ref` (reference frontend-images.md §6:
  // docker-image://, git, http(s), oci-layout://, local:, input:).
  // InvalidArgument for a malformed value, Unimplemented for other forms.
  Result<std::pair<llb::State, Json>> NamedContext(const std::string& ref,
                                                   const std::string& value,
                                                   const llb::Platform& p,
                                                   const std::string& name,
                                                   std::string* raw_config);
  // The images (not stages) `cmd` of stage `index` reads through --from or
  // mounts: extra states upstream creates, which make display names
  // prefixed even for one stage.
  int Unregistered(const Command& cmd, int index) const;
  // "name"/"stage-N" display names when there is more than one state.
  void AssignDisplayNames();
  // The stage a `--from`/mount `from` names (name or index), or -1.
  int FindStage(const std::string& name, int before) const;
  // True when `name` names a stage at or after index `index`.
  bool IsLaterStage(const std::string& name, int index) const;

  // Parses the ONBUILD triggers of the stage's base into s.onbuild (once):
  // the base stage's ONBUILD instructions, else the base image config's
  // OnBuild (resolving the image). Errors: the resolver's, or
  // InvalidArgument for a trigger that does not parse, located at FROM.
  Status InitOnbuild(StageState& s);
  Status DispatchFrom(StageState& s);
  Status Dispatch(StageState& s, const Command& cmd);
  Status DispatchRun(StageState& s, const RunCommand& c);
  Status DispatchCopy(StageState& s, const CommandBase& base,
                      const SourcesAndDest& files, const std::string& from,
                      const std::string& chown, const std::string& chmod,
                      bool link, const std::vector<std::string>& excludes,
                      bool is_add, bool unpack, const std::string& checksum,
                      bool keep_git_dir, bool parents = false);
  Status DispatchWorkdir(StageState& s, const WorkdirCommand& c);
  Status DispatchConfig(StageState& s, const Command& cmd);
};

// Errors naming the instruction: "<file>:<line>:<col>: <what>: \"<line>\"".
Status Unimplemented(const CommandBase& c, std::string_view what);
Status Invalid(const CommandBase& c, std::string_view what);

// History entry (upstream's commitToHistory).
void AddHistory(Json& image, std::string created_by, bool with_layer,
                bool from_op);
// Go's fmt %q of a []string: ["a" "b"].
std::string GoQuoteList(const std::vector<std::string>& v);
// The shell (config Shell or /bin/sh -c) prepended to a shell-form line.
std::vector<std::string> WithShell(const Json& image,
                                   const std::vector<std::string>& args);
// A fresh image config for `platform` (upstream's emptyImage).
Json EmptyImage(const llb::Platform& platform);
// Parses a base image config; InvalidArgument on bad JSON.
Result<Json> ParseImageConfig(const std::string& text,
                              const llb::Platform& platform);
// The value of the named context for image name `ref`: looked up by the
// name in familiar form without ":latest" ("alpine", "ghcr.io/x/y:1"), then
// as written. nullopt when there is none.
std::optional<std::string> FindNamedContext(
    const std::map<std::string, std::string>& contexts, const std::string& ref);
// True for an http:// or https:// URL.
bool IsHttpUrl(std::string_view src);
// Git sources as upstream recognizes them: git@, git://, ssh:// and http(s)
// URLs whose path (before any query or fragment) ends in ".git".
bool IsGitUrl(std::string_view src);
// A git source parsed from Dockerfile git-ref syntax: REMOTE#ref[:subdir] or
// the query form REMOTE?ref=|tag=|branch=…&subdir=…&checksum=|commit=…
// &keep-git-dir[=bool]&submodules[=bool]&mtime=checkout|commit.
struct GitRef {
  std::string remote;                // the URL without query and fragment
  std::string ref;                   // "ref[:subdir]" for llb::Git
  std::optional<bool> keep_git_dir;  // from the query, when given
  std::string checksum;
  bool skip_submodules = false;
  std::string mtime;
};
// InvalidArgument for an unknown query key, a bad bool, or ref/subdir given
// both in the query and the fragment.
Result<GitRef> ParseGitRef(std::string_view src);
// Joins like Go's path.Join; Clean("") = ".".
std::string PathJoin(std::string_view a, std::string_view b);
inline std::string PathClean(std::string_view path) {
  return llb::CleanPath(path);
}

}  // namespace kiln::dockerfile::convert

#endif  // KILN_DOCKERFILE_SRC_CONVERT_INTERNAL_H_
