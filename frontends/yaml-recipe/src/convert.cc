// Convert(): target selection, the build context, stage order and bases.
// Steps are in convert_steps.cc.
#include "kiln/recipe/convert.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "convert_internal.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/source.h"
#include "kiln/sdk/image_config.h"

namespace kiln::recipe {
namespace internal {
namespace {

// Stages reachable from `index` (itself included).
void Reach(const Recipe& recipe, int index, std::set<int>* seen) {
  if (index < 0 || !seen->insert(index).second) return;
  const Stage& s = recipe.stages[index];
  if (s.from.kind == SourceRef::Kind::kStage) {
    Reach(recipe, recipe.FindStage(s.from.name), seen);
  }
  for (const Step& step : s.steps) {
    if (const auto* copy = std::get_if<CopyStep>(&step.body)) {
      if (copy->from.kind == SourceRef::Kind::kStage) {
        Reach(recipe, recipe.FindStage(copy->from.name), seen);
      }
    } else if (const auto* run = std::get_if<RunStep>(&step.body)) {
      for (const MountSpec& m : run->mounts) {
        if (m.from.kind == SourceRef::Kind::kStage) {
          Reach(recipe, recipe.FindStage(m.from.name), seen);
        }
      }
    }
  }
}

// The context paths the reachable stages read ("/" = everything).
std::set<std::string> ContextPaths(const Recipe& recipe,
                                   const std::set<int>& stages) {
  std::set<std::string> paths;
  for (int i : stages) {
    for (const Step& step : recipe.stages[i].steps) {
      if (const auto* copy = std::get_if<CopyStep>(&step.body)) {
        if (copy->from.kind != SourceRef::Kind::kContext) continue;
        for (const std::string& src : copy->src) {
          paths.insert(PathJoin("/", src));
        }
      } else if (const auto* run = std::get_if<RunStep>(&step.body)) {
        for (const MountSpec& m : run->mounts) {
          if (m.type == MountSpec::Type::kBind &&
              m.from.kind == SourceRef::Kind::kContext) {
            paths.insert(PathJoin("/", m.source));
          }
        }
      }
    }
  }
  return paths;
}

}  // namespace

Status Converter::Located(const Status& status, const Mark& mark) const {
  if (status.ok() || !status.ranges().empty()) return status;
  return status.WithRange(SourceRange{
      .file = options_.filename, .line = mark.line, .column = mark.column});
}

llb::OpOptions Converter::Op(const std::string& stage, const std::string& what,
                             const llb::Platform& platform) const {
  llb::OpOptions op;
  op.custom_name = "[" + stage + "] " + what;
  op.platform = platform;
  op.ignore_cache = options_.no_cache;
  return op;
}

Result<std::pair<llb::State, Json>> Converter::ImageState(
    const std::string& ref, const llb::Platform& platform,
    std::string* raw_config) {
  KILN_ASSIGN_OR_RETURN(llb::ImageReference parsed,
                        llb::ParseImageReference(ref));
  std::string tagged = llb::TagNameOnly(parsed).String();
  std::string key = tagged + "|" + llb::FormatPlatform(platform);
  auto it = resolved_.find(key);
  if (it == resolved_.end()) {
    if (!options_.resolve_image) {
      return FailedPreconditionError("no image resolver to resolve " + ref);
    }
    KILN_ASSIGN_OR_RETURN(ImageMeta meta,
                          options_.resolve_image(tagged, platform));
    it = resolved_.emplace(key, std::move(meta)).first;
  }
  const ImageMeta& meta = it->second;
  llb::ImageReference pinned = parsed;
  if (parsed.digest.empty() && !meta.digest.empty()) {
    pinned.digest = meta.digest;
  }
  Json image = EmptyImage(platform);
  if (!meta.config.empty()) {
    KILN_ASSIGN_OR_RETURN(image, ParseImageConfig(meta.config, platform));
  }
  if (raw_config != nullptr) *raw_config = meta.config;
  llb::ImageOptions io;
  io.op.platform = platform;
  io.op.custom_name = "[internal] load " + pinned.String();
  io.op.ignore_cache = options_.no_cache;
  io.resolve_mode = options_.image_resolve_mode;
  return std::make_pair(llb::Image(pinned.String(), io), std::move(image));
}

Result<llb::State> Converter::SourceState(const SourceRef& ref,
                                          const llb::Platform& platform) {
  switch (ref.kind) {
    case SourceRef::Kind::kContext:
      return context_;
    case SourceRef::Kind::kScratch:
      return llb::Scratch();
    case SourceRef::Kind::kStage: {
      int index = recipe_.FindStage(ref.name);
      if (index < 0) return NotFoundError("unknown stage " + ref.name);
      KILN_RETURN_IF_ERROR(ConvertStage(index));
      return stages_[index].state;
    }
    case SourceRef::Kind::kImage: {
      KILN_ASSIGN_OR_RETURN(auto pair, ImageState(ref.name, platform, nullptr));
      return pair.first;
    }
  }
  return InternalError("unknown source kind");
}

Status Converter::DispatchFrom(const Stage& stage, StageOut& out) {
  out.platform = stage.platform ? llb::NormalizePlatform(*stage.platform)
                                : target_platform_;
  if (stage.from.kind == SourceRef::Kind::kScratch) {
    out.state = llb::Scratch().WithPlatform(out.platform);
    out.image = EmptyImage(out.platform);
    return Status::Ok();
  }
  if (stage.from.kind == SourceRef::Kind::kStage) {
    int base = recipe_.FindStage(stage.from.name);
    KILN_RETURN_IF_ERROR(ConvertStage(base));
    const StageOut& b = stages_[base];
    out.state = b.state;
    out.image = b.image;
    out.base_config = b.base_config;
    if (!stage.platform) out.platform = b.platform;
    return Status::Ok();
  }
  auto resolved = ImageState(stage.from.name, out.platform, &out.base_config);
  if (!resolved.ok()) return Located(resolved.status(), stage.from_mark);
  llb::State st = resolved->first.WithPlatform(out.platform);
  Json image = std::move(resolved->second);
  KILN_ASSIGN_OR_RETURN(
      st, sdk::ApplyImageConfig(
              std::move(st),
              image.dump(-1, ' ', false, Json::error_handler_t::replace)));
  // The target's platform replaces the base image's own, as upstream's.
  image["architecture"] = out.platform.architecture;
  image["os"] = out.platform.os;
  if (!out.platform.variant.empty()) image["variant"] = out.platform.variant;
  image.erase("rootfs");
  out.state = st;
  out.image = std::move(image);
  return Status::Ok();
}

Status Converter::ConvertStage(int index) {
  StageOut& out = stages_[index];
  if (out.done) return Status::Ok();
  // The loader rejects cycles; this guards a hand-built Recipe.
  if (out.active) {
    return InvalidArgumentError("cycle between stages at " +
                                recipe_.stages[index].name);
  }
  out.active = true;
  out.name = recipe_.stages[index].name;
  const Stage& stage = recipe_.stages[index];
  KILN_RETURN_IF_ERROR(DispatchFrom(stage, out));
  for (const Step& step : stage.steps) {
    KILN_RETURN_IF_ERROR(DispatchStep(stage, step, stages_[index]));
  }
  stages_[index].done = true;
  return Status::Ok();
}

}  // namespace internal

Result<ConvertResult> Convert(const Recipe& recipe,
                              const ConvertOptions& options) {
  if (recipe.stages.empty())
    return InvalidArgumentError("recipe has no stages");
  std::string target_name =
      !options.target.empty() ? options.target : recipe.target;
  int target = static_cast<int>(recipe.stages.size()) - 1;
  if (!target_name.empty()) {
    target = recipe.FindStage(target_name);
    if (target < 0) {
      return NotFoundError("target stage " + target_name +
                           " could not be found");
    }
  }
  std::set<int> reachable;
  internal::Reach(recipe, target, &reachable);
  std::set<std::string> paths = internal::ContextPaths(recipe, reachable);

  llb::LocalOptions lo;
  lo.shared_key_hint = options.context_name;
  lo.exclude_patterns = options.excludes;
  lo.op.custom_name = "[internal] load build context";
  lo.op.ignore_cache = options.no_cache;
  if (!paths.empty() && !paths.contains("/")) {
    for (const std::string& p : paths) lo.follow_paths.push_back(p.substr(1));
  }
  llb::Platform platform =
      options.target_platform.os.empty()
          ? llb::HostPlatform()
          : llb::NormalizePlatform(options.target_platform);
  internal::Converter converter(recipe, options, platform,
                                llb::Local(options.context_name, lo));
  KILN_RETURN_IF_ERROR(converter.ConvertStage(target));
  internal::StageOut& out = converter.stage(target);
  internal::ApplyImageSection(recipe.image, out.image);
  if (!out.image["config"].contains("OnBuild")) {
    out.image["config"]["OnBuild"] = nullptr;
  }

  ConvertResult result;
  llb::MarshalOptions mo;
  mo.platform = out.platform;
  mo.ignore_cache = options.no_cache;
  KILN_ASSIGN_OR_RETURN(result.definition, out.state.Marshal(mo));
  result.image_config =
      out.image.dump(-1, ' ', false, internal::Json::error_handler_t::replace);
  result.base_image_config = out.base_config;
  return result;
}

}  // namespace kiln::recipe
