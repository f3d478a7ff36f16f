// Convert(): stages, target selection and pruning, meta ARGs, FROM, and the
// build context source. Instructions are in convert_*.cc.
#include "kiln/dockerfile/convert.h"

#include <algorithm>
#include <functional>
#include <set>

#include "convert_internal.h"
#include "go_text.h"
#include "kiln/dockerfile/parser.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/source.h"
#include "kiln/sdk/image_config.h"

namespace kiln::dockerfile {
namespace convert {
namespace {

void AddPlatformArgs(std::vector<std::pair<std::string, std::string>>& out,
                     const std::string& prefix, const llb::Platform& p) {
  out.emplace_back(prefix + "PLATFORM", llb::FormatPlatform(p));
  out.emplace_back(prefix + "OS", p.os);
  out.emplace_back(prefix + "ARCH", p.architecture);
  out.emplace_back(prefix + "VARIANT", p.variant);
}

EnvLookup PairsLookup(
    const std::vector<std::pair<std::string, std::string>>* pairs) {
  return [pairs](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> found;
    for (const auto& [k, v] : *pairs) {
      if (k == name) found = v;
    }
    return found;
  };
}

// Stages a stage depends on: its base and every --from / mount from naming
// an earlier stage.
std::vector<int> Deps(const Converter& c, const StageState& s) {
  std::vector<int> deps;
  if (s.named_context) return deps;  // replaced: its commands never run
  if (s.base_stage >= 0) deps.push_back(s.base_stage);
  std::vector<const Command*> all;
  for (const Command& cmd : s.onbuild) all.push_back(&cmd);
  for (const Command& cmd : s.stage->commands) all.push_back(&cmd);
  for (const Command* cmd_ptr : all) {
    const Command& cmd = *cmd_ptr;
    if (const auto* copy = std::get_if<CopyCommand>(&cmd)) {
      int d = c.FindStage(copy->from, s.index);
      if (d >= 0) deps.push_back(d);
    } else if (const auto* run = std::get_if<RunCommand>(&cmd)) {
      for (const Mount& m : run->mounts) {
        int d = c.FindStage(m.from, s.index);
        if (d >= 0) deps.push_back(d);
      }
    }
  }
  return deps;
}

}  // namespace

int Converter::Unregistered(const Command& cmd, int index) const {
  int n = 0;
  if (const auto* cp = std::get_if<CopyCommand>(&cmd)) {
    if (!cp->from.empty() && FindStage(cp->from, index) < 0) n++;
  }
  if (const auto* r = std::get_if<RunCommand>(&cmd)) {
    // Upstream's detectRunMount: a cache without `from` names scratch;
    // tmpfs and context mounts name nothing.
    for (const Mount& m : r->mounts) {
      std::string from =
          m.from.empty() && m.type == MountType::kCache ? "scratch" : m.from;
      if (from.empty() || m.type == MountType::kTmpfs) continue;
      if (FindStage(from, static_cast<int>(stages.size())) < 0) n++;
    }
  }
  return n;
}

void Converter::AssignDisplayNames() {
  if (stages.size() + unregistered <= 1) return;
  for (StageState& s : stages) {
    s.display_name = s.stage->name.empty() ? "stage-" + std::to_string(s.index)
                                           : s.stage->name;
  }
}

int Converter::FindStage(const std::string& name, int before) const {
  if (name.empty()) return -1;
  std::string lower = gotext::AsciiLower(name);
  for (int i = 0; i < before && i < static_cast<int>(stages.size()); ++i) {
    if (stages[i].stage->name == lower) return i;
  }
  if (std::all_of(name.begin(), name.end(), ::isdigit) && name.size() < 6) {
    int i = std::stoi(name);
    if (i < before) return i;
  }
  return -1;
}

bool Converter::IsLaterStage(const std::string& name, int index) const {
  if (name.empty()) return false;
  std::string lower = gotext::AsciiLower(name);
  for (size_t i = index; i < stages.size(); ++i) {
    if (stages[i].stage->name == lower) return true;
  }
  return false;
}

Result<ImageMeta> Converter::Resolve(const std::string& ref,
                                     const llb::Platform& p) {
  std::string key = ref + "|" + llb::FormatPlatform(p);
  auto it = image_cache->find(key);
  if (it != image_cache->end()) return it->second;
  if (!options->resolve_image) {
    return FailedPreconditionError("no image resolver to resolve " + ref);
  }
  KILN_ASSIGN_OR_RETURN(ImageMeta meta, options->resolve_image(ref, p));
  image_cache->emplace(key, meta);
  return meta;
}

Result<std::pair<llb::State, Json>> Converter::ImageState(
    const std::string& ref, const llb::Platform& p, const std::string& name,
    std::string* raw_config) {
  if (std::optional<std::string> value =
          FindNamedContext(options->named_contexts, ref)) {
    return NamedContext(ref, *value, p, name, raw_config);
  }
  // Upstream resolves the normalized, tagged name and pins the reference
  // with the resolved digest (a tag given stays).
  KILN_ASSIGN_OR_RETURN(llb::ImageReference parsed,
                        llb::ParseImageReference(ref));
  KILN_ASSIGN_OR_RETURN(ImageMeta meta,
                        Resolve(llb::TagNameOnly(parsed).String(), p));
  llb::ImageReference pinned_ref = parsed;
  if (parsed.digest.empty() && !meta.digest.empty())
    pinned_ref.digest = meta.digest;
  std::string pinned = pinned_ref.String();
  if (raw_config != nullptr) *raw_config = meta.config;
  Json image = EmptyImage(p);
  if (!meta.config.empty()) {
    KILN_ASSIGN_OR_RETURN(image, ParseImageConfig(meta.config, p));
  }
  llb::ImageOptions io;
  io.op.platform = p;
  io.op.custom_name = name.empty() ? "" : name + pinned;
  io.op.ignore_cache = options->no_cache;
  io.resolve_mode = options->image_resolve_mode;
  return std::make_pair(llb::Image(pinned, io), std::move(image));
}

Status Converter::DispatchFrom(StageState& s) {
  Json image;
  llb::State st;
  if (!s.named_context && s.base_stage >= 0) {
    const StageState& base = stages[s.base_stage];
    st = base.state;
    image = base.image;
    s.base_config = base.base_config;
    s.build_args = base.build_args;
    s.platform = base.platform;
  } else if (!s.named_context && s.base_ref.empty()) {
    image = EmptyImage(s.platform);
    st = llb::Scratch().WithPlatform(s.platform);
  } else {
    std::string name = Prefix(s, "FROM ");
    // A named context for the stage's name replaces the whole stage
    // (upstream's toDispatchState); else the FROM image.
    auto resolved =
        s.named_context
            ? NamedContext(s.stage->name, *s.named_context, s.platform, name,
                           &s.base_config)
            : ImageState(s.base_ref, s.platform, name, &s.base_config);
    if (!resolved.ok()) return resolved.status().WithRange(s.stage->range);
    auto& pair = *resolved;
    st = pair.first.WithPlatform(s.platform);
    image = std::move(pair.second);
    KILN_ASSIGN_OR_RETURN(
        st, sdk::ApplyImageConfig(
                std::move(st),
                image.dump(-1, ' ', false, Json::error_handler_t::replace)));
    if (s.named_context) {
      // Upstream takes the platform of the context's image config.
      if (image.value("architecture", "") != "" &&
          image.value("os", "") != "") {
        s.platform.architecture = image["architecture"].get<std::string>();
        s.platform.os = image["os"].get<std::string>();
        s.platform.variant = image.value("variant", "");
      }
    } else if (s.base_stage < 0) {
      // Upstream drops the base image's own platform for the target's.
      image["architecture"] = s.platform.architecture;
      image["os"] = s.platform.os;
      if (!s.platform.variant.empty()) image["variant"] = s.platform.variant;
    }
  }
  image.erase("rootfs");
  // Triggers inherited from the base run now (InitOnbuild); the stage's
  // own ONBUILD instructions start a fresh list.
  if (image.contains("config") && image["config"].is_object())
    image["config"].erase("OnBuild");
  s.state = st;
  s.image = std::move(image);
  return Status::Ok();
}

Status Run(Converter& c, int target) {
  // Reachable stages from the target.
  // Reachable stages, then the ONBUILD triggers of those (resolving base
  // images in stage order); triggers' --from and mounts may reach more
  // stages, so repeat until nothing new is reachable (upstream's loop).
  std::set<int> reachable;
  while (true) {
    std::set<int> seen;
    std::function<void(int)> visit = [&](int i) {
      if (!seen.insert(i).second) return;
      for (int d : Deps(c, c.stages[i])) visit(d);
    };
    visit(target);
    if (seen == reachable) break;
    reachable = std::move(seen);
    for (int i : reachable) KILN_RETURN_IF_ERROR(c.InitOnbuild(c.stages[i]));
  }
  c.AssignDisplayNames();  // triggers may name images too
  for (StageState& s : c.stages) {
    if (!reachable.count(s.index)) continue;
    KILN_RETURN_IF_ERROR(c.DispatchFrom(s));
    if (s.named_context) {
      s.dispatched = true;
      if (s.index == target) break;
      continue;
    }
    for (const Command& cmd : s.onbuild) {
      KILN_RETURN_IF_ERROR(c.Dispatch(s, cmd));
    }
    for (const Command& cmd : s.stage->commands) {
      KILN_RETURN_IF_ERROR(c.Dispatch(s, cmd));
    }
    s.dispatched = true;
    if (s.index == target) break;
  }
  return Status::Ok();
}

}  // namespace convert

Result<ConvertResult> Convert(std::string_view dockerfile,
                              const ConvertOptions& options) {
  using convert::Converter;
  using convert::StageState;
  KILN_ASSIGN_OR_RETURN(ParseResult parsed,
                        Parse(dockerfile, options.filename));
  KILN_ASSIGN_OR_RETURN(ParsedDockerfile df, ParseInstructions(parsed));
  if (df.stages.empty())
    return InvalidArgumentError("dockerfile has no stages");

  ConvertResult result;
  for (const ParseWarning& w : parsed.warnings)
    result.warnings.push_back(w.message);
  std::map<std::string, ImageMeta> image_cache;
  auto make = [&](Converter& c) -> Status {
    c.options = &options;
    c.parsed = &df;
    c.escape = parsed.directives.escape_token;
    c.image_cache = &image_cache;
    c.target_platform = options.target_platform.os.empty()
                            ? llb::HostPlatform()
                            : llb::NormalizePlatform(options.target_platform);
    c.build_platform = options.build_platform.os.empty()
                           ? llb::HostPlatform()
                           : llb::NormalizePlatform(options.build_platform);
    convert::AddPlatformArgs(c.meta_args, "BUILD", c.build_platform);
    convert::AddPlatformArgs(c.meta_args, "TARGET", c.target_platform);
    for (const ArgCommand& arg : df.meta_args) {
      for (const ArgDefinition& a : arg.args) {
        auto lookup = convert::PairsLookup(&c.meta_args);
        KILN_ASSIGN_OR_RETURN(std::string key,
                              ProcessWord(a.key, lookup, {.escape = c.escape}));
        std::optional<std::string> value;
        auto ba = options.build_args.find(key);
        if (ba != options.build_args.end()) {
          value = ba->second;
        } else if (a.value) {
          auto expanded = ProcessWord(*a.value, lookup, {.escape = c.escape});
          if (!expanded.ok()) {
            return expanded.status().WithRange(arg.range);
          }
          value = *expanded;
        }
        if (value) c.meta_args.emplace_back(key, *value);
      }
    }
    auto lookup = convert::PairsLookup(&c.meta_args);
    for (size_t i = 0; i < df.stages.size(); ++i) {
      const Stage& st = df.stages[i];
      StageState s;
      s.stage = &st;
      s.index = static_cast<int>(i);
      auto base = ProcessWord(st.base, lookup, {.escape = c.escape});
      if (!base.ok()) return base.status().WithRange(st.range);
      s.platform = c.target_platform;
      if (!st.platform.empty()) {
        auto p = ProcessWord(st.platform, lookup, {.escape = c.escape});
        if (!p.ok()) return p.status().WithRange(st.range);
        auto parsed_p = llb::ParsePlatform(*p);
        if (!parsed_p.ok()) return parsed_p.status().WithRange(st.range);
        s.platform = *parsed_p;
      }
      s.base_stage = c.FindStage(*base, s.index);
      if (s.base_stage < 0 && *base != "scratch") s.base_ref = *base;
      if (!st.name.empty()) {
        s.named_context =
            convert::FindNamedContext(options.named_contexts, st.name);
      }
      c.stages.push_back(std::move(s));
    }
    // Display names and op counts, as upstream's prefixCommand.
    for (StageState& s : c.stages) {
      if (!s.base_ref.empty()) s.cmd_total++;
      for (const Command& cmd : s.stage->commands) {
        if (std::holds_alternative<RunCommand>(cmd) ||
            std::holds_alternative<CopyCommand>(cmd) ||
            std::holds_alternative<AddCommand>(cmd) ||
            std::holds_alternative<WorkdirCommand>(cmd)) {
          s.cmd_total++;
        }
        c.unregistered += c.Unregistered(cmd, s.index);
      }
    }
    c.AssignDisplayNames();
    return Status::Ok();
  };

  int target = static_cast<int>(df.stages.size()) - 1;
  if (!options.target.empty()) {
    target = -1;
    std::string lower = gotext::AsciiLower(options.target);
    for (size_t i = 0; i < df.stages.size(); ++i) {
      if (df.stages[i].name == lower) target = static_cast<int>(i);
    }
    if (target < 0) {
      return NotFoundError("target stage " + options.target +
                           " could not be found");
    }
  }

  // Pass 1 collects the context paths COPY/ADD and mounts read; pass 2
  // builds with the context source that follows only those.
  Converter first;
  KILN_RETURN_IF_ERROR(make(first));
  auto input = options.inputs.find(options.context_name);
  const bool context_input = input != options.inputs.end();
  first.context =
      context_input ? input->second : llb::Local(options.context_name);
  KILN_RETURN_IF_ERROR(convert::Run(first, target));
  std::set<std::string> paths;
  for (const StageState& s : first.stages)
    paths.insert(s.ctx_paths.begin(), s.ctx_paths.end());

  Converter c;
  KILN_RETURN_IF_ERROR(make(c));
  llb::LocalOptions lo;
  lo.shared_key_hint = options.context_name;
  lo.exclude_patterns = options.excludes;
  lo.op.custom_name = "[internal] load build context";
  lo.op.ignore_cache = options.no_cache;
  if (!paths.empty() && !paths.count("/")) {
    for (const std::string& p : paths) lo.follow_paths.push_back(p.substr(1));
    std::sort(lo.follow_paths.begin(), lo.follow_paths.end());
  }
  c.context =
      context_input ? input->second : llb::Local(options.context_name, lo);
  KILN_RETURN_IF_ERROR(convert::Run(c, target));

  StageState& out = c.stages[target];
  llb::MarshalOptions mo;
  mo.platform = out.platform;
  mo.ignore_cache = options.no_cache;
  KILN_ASSIGN_OR_RETURN(result.definition, out.state.Marshal(mo));
  if (!out.image["config"].contains("OnBuild"))
    out.image["config"]["OnBuild"] = nullptr;
  result.image_config = out.image.dump();
  result.base_image_config = out.base_config;
  for (auto& w : c.warnings) result.warnings.push_back(std::move(w));
  return result;
}

}  // namespace kiln::dockerfile
