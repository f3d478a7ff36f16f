// The converter's state and helpers. Private to convert*.cc and
// image_config.cc.
#ifndef KILN_RECIPE_SRC_CONVERT_INTERNAL_H_
#define KILN_RECIPE_SRC_CONVERT_INTERNAL_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/llb/path.h"
#include "kiln/llb/state.h"
#include "kiln/recipe/convert.h"
#include "kiln/recipe/recipe.h"

namespace kiln::recipe::internal {

using Json = nlohmann::ordered_json;

// --- image config (image_config.cc) ---------------------------------------

// The config of a scratch stage: default PATH and WorkingDir "/".
Json EmptyImage(const llb::Platform& platform);
// A base image's config JSON, with `config` and architecture/os filled in.
Result<Json> ParseImageConfig(const std::string& text,
                              const llb::Platform& platform);
// Sets or replaces (in place) KEY in config.Env.
void SetConfigEnv(Json& image, const std::string& key,
                  const std::string& value);
void AddHistory(Json& image, const std::string& created_by, bool empty_layer);
// The recipe's `image` section applied to the target's config.
void ApplyImageSection(const ImageSection& section, Json& image);

// Go's path.Clean; PathJoin(a, b) is b when b is absolute, else the
// cleaned a/b.
inline std::string PathClean(std::string_view path) {
  return llb::CleanPath(path);
}
std::string PathJoin(std::string_view a, std::string_view b);

// --- conversion (convert.cc, convert_steps.cc) -----------------------------

struct StageOut {
  std::string name;  // the stage's, for op names
  bool done = false;
  bool active = false;  // being converted (cycle guard)
  llb::State state;
  Json image;
  std::string base_config;  // raw config of the base image, if any
  llb::Platform platform;
};

class Converter {
 public:
  Converter(const Recipe& recipe, const ConvertOptions& options,
            llb::Platform target_platform, llb::State context)
      : recipe_(recipe),
        options_(options),
        target_platform_(std::move(target_platform)),
        context_(std::move(context)),
        stages_(recipe.stages.size()) {}

  // Converts stage `index` after the stages it depends on.
  Status ConvertStage(int index);
  StageOut& stage(int index) { return stages_[index]; }

 private:
  Status DispatchFrom(const Stage& stage, StageOut& out);
  Status DispatchStep(const Stage& stage, const Step& step, StageOut& out);
  Status DispatchRun(const Step& step, const RunStep& run, StageOut& out);
  Status DispatchCopy(const Step& step, const CopyStep& copy, StageOut& out);
  Status DispatchWorkdir(const Step& step, const WorkdirStep& w, StageOut& out);

  // An image as a state plus its config (pinned, resolved once per
  // reference and platform).
  Result<std::pair<llb::State, Json>> ImageState(const std::string& ref,
                                                 const llb::Platform& platform,
                                                 std::string* raw_config);
  // The filesystem a copy or mount reads.
  Result<llb::State> SourceState(const SourceRef& ref,
                                 const llb::Platform& platform);
  Status Located(const Status& status, const Mark& mark) const;
  llb::OpOptions Op(const std::string& stage, const std::string& what,
                    const llb::Platform& platform) const;

  const Recipe& recipe_;
  const ConvertOptions& options_;
  llb::Platform target_platform_;
  llb::State context_;
  std::vector<StageOut> stages_;
  std::map<std::string, ImageMeta> resolved_;
};

}  // namespace kiln::recipe::internal

#endif  // KILN_RECIPE_SRC_CONVERT_INTERNAL_H_
