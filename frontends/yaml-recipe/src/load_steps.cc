// Loading the steps of a stage: the step kinds, their keys, and run mounts.
#include <algorithm>
#include <string>
#include <vector>

#include "kiln/llb/reference.h"
#include "load_internal.h"

namespace kiln::recipe::internal {
namespace {

const std::vector<std::string> kPrimaryKinds = {"run",  "copy", "mkdir",
                                                "file", "rm",   "symlink"};
const std::vector<std::string> kContextKinds = {"env", "workdir", "user"};

// `from` (a stage) and `image` (a reference) of a copy or mount.
Result<SourceRef> LoadSource(const Loader& l, const YamlNode& map,
                             const std::string& where,
                             const std::vector<std::string>& stage_names,
                             SourceRef::Kind fallback) {
  const YamlNode* from = Loader::Find(map, "from");
  const YamlNode* image = Loader::Find(map, "image");
  if (from != nullptr && image != nullptr) {
    return l.Error(image->mark,
                   "\"from\" and \"image\" are mutually exclusive in " + where);
  }
  if (from != nullptr) {
    KILN_ASSIGN_OR_RETURN(std::string name, l.String(*from, "from", where));
    if (std::find(stage_names.begin(), stage_names.end(), name) ==
        stage_names.end()) {
      return l.Error(from->mark, "unknown stage " + Quote(name) + " in " +
                                     where + Suggestion(name, stage_names));
    }
    return SourceRef{SourceRef::Kind::kStage, name};
  }
  if (image != nullptr) {
    KILN_ASSIGN_OR_RETURN(std::string ref, l.String(*image, "image", where));
    Result<llb::ImageReference> parsed = llb::ParseImageReference(ref);
    if (!parsed.ok()) {
      return l.Error(image->mark, "invalid image reference " + Quote(ref) +
                                      " in " + where + ": " +
                                      parsed.status().message());
    }
    return SourceRef{SourceRef::Kind::kImage, ref};
  }
  return SourceRef{fallback, ""};
}

Result<MountSpec> LoadMount(const Loader& l, const YamlNode& node,
                            const std::string& where,
                            const std::vector<std::string>& stage_names) {
  static const std::vector<std::string> kTypes = {"bind", "cache", "tmpfs",
                                                  "secret", "ssh"};
  MountSpec m;
  m.mark = node.mark;
  if (!node.IsMap()) return l.WrongType(node, "mounts", where, "a mapping");
  KILN_ASSIGN_OR_RETURN(const YamlNode* type_node,
                        l.Require(node, "type", where));
  KILN_ASSIGN_OR_RETURN(std::string type, l.String(*type_node, "type", where));
  std::vector<std::string> allowed = {"type", "target"};
  if (type == "bind") {
    m.type = MountSpec::Type::kBind;
    m.readonly = true;  // as the Dockerfile's: writable only when asked
    allowed.insert(allowed.end(), {"from", "image", "source", "readonly"});
  } else if (type == "cache") {
    m.type = MountSpec::Type::kCache;
    allowed.insert(allowed.end(), {"id", "sharing", "from", "image", "source",
                                   "readonly", "mode", "uid", "gid"});
  } else if (type == "tmpfs") {
    m.type = MountSpec::Type::kTmpfs;
    allowed.push_back("size");
  } else if (type == "secret") {
    m.type = MountSpec::Type::kSecret;
    allowed.insert(allowed.end(),
                   {"id", "env", "required", "mode", "uid", "gid"});
  } else if (type == "ssh") {
    m.type = MountSpec::Type::kSsh;
    allowed.insert(allowed.end(), {"id", "required", "mode", "uid", "gid"});
  } else {
    return l.Error(type_node->mark, "invalid mount type " + Quote(type) +
                                        " in " + where +
                                        Suggestion(type, kTypes));
  }
  KILN_RETURN_IF_ERROR(l.CheckMap(node, "mounts", where, allowed));
  for (const auto& [k, v] : node.entries) {
    const std::string& key = k.scalar;
    if (key == "target") {
      KILN_ASSIGN_OR_RETURN(m.target, l.String(v, key, where));
    } else if (key == "source") {
      KILN_ASSIGN_OR_RETURN(m.source, l.String(v, key, where));
    } else if (key == "readonly") {
      KILN_ASSIGN_OR_RETURN(m.readonly, l.Bool(v, key, where));
    } else if (key == "id") {
      KILN_ASSIGN_OR_RETURN(m.id, l.String(v, key, where));
    } else if (key == "sharing") {
      KILN_ASSIGN_OR_RETURN(m.sharing, l.String(v, key, where));
      if (m.sharing != "shared" && m.sharing != "private" &&
          m.sharing != "locked") {
        return l.Error(v.mark, "invalid sharing " + Quote(m.sharing) + " in " +
                                   where +
                                   ": expected shared, private or locked");
      }
    } else if (key == "size") {
      KILN_ASSIGN_OR_RETURN(m.size, l.Integer(v, key, where));
    } else if (key == "env") {
      KILN_ASSIGN_OR_RETURN(m.env, l.String(v, key, where));
    } else if (key == "required") {
      KILN_ASSIGN_OR_RETURN(m.required, l.Bool(v, key, where));
    } else if (key == "mode") {
      KILN_ASSIGN_OR_RETURN(m.mode, l.Octal(v, key, where));
    } else if (key == "uid" || key == "gid") {
      KILN_ASSIGN_OR_RETURN(int64_t id, l.Integer(v, key, where));
      (key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(id);
    }
  }
  bool needs_target =
      m.type != MountSpec::Type::kSecret && m.type != MountSpec::Type::kSsh;
  if (needs_target && m.target.empty()) {
    return l.Error(node.mark, "missing key \"target\" in " + where);
  }
  if (m.type == MountSpec::Type::kSecret && m.id.empty() && m.target.empty()) {
    return l.Error(node.mark,
                   "secret mount needs \"id\" or \"target\" in " + where);
  }
  KILN_ASSIGN_OR_RETURN(m.from, LoadSource(l, node, where, stage_names,
                                           m.type == MountSpec::Type::kCache
                                               ? SourceRef::Kind::kScratch
                                               : SourceRef::Kind::kContext));
  return m;
}

Status LoadRun(const Loader& l, const YamlNode& node, const std::string& where,
               const std::vector<std::string>& stage_names, RunStep* run) {
  const YamlNode& cmd = *Loader::Find(node, "run");
  if (cmd.IsScalar()) {
    KILN_ASSIGN_OR_RETURN(run->display, l.String(cmd, "run", where));
    run->args = {"/bin/sh", "-c", run->display};
  } else {
    KILN_ASSIGN_OR_RETURN(run->args, l.StringList(cmd, "run", where, false));
    if (run->args.empty()) {
      return l.Error(cmd.mark, "empty command in " + where);
    }
    for (const std::string& a : run->args) {
      run->display += (run->display.empty() ? "" : " ") + a;
    }
  }
  for (const auto& [k, v] : node.entries) {
    if (k.scalar == "env") {
      KILN_ASSIGN_OR_RETURN(run->env, l.StringMap(v, "env", where));
    } else if (k.scalar == "workdir") {
      KILN_ASSIGN_OR_RETURN(run->workdir, l.String(v, "workdir", where));
    } else if (k.scalar == "user") {
      KILN_ASSIGN_OR_RETURN(run->user, l.String(v, "user", where));
    } else if (k.scalar == "network") {
      KILN_ASSIGN_OR_RETURN(run->network, l.String(v, "network", where));
      if (run->network != "default" && run->network != "none" &&
          run->network != "host") {
        return l.Error(v.mark, "invalid network " + Quote(run->network) +
                                   " in " + where +
                                   ": expected default, none or host");
      }
    } else if (k.scalar == "mounts") {
      if (!v.IsSequence()) return l.WrongType(v, "mounts", where, "a sequence");
      for (size_t i = 0; i < v.items.size(); ++i) {
        std::string mount_where =
            "mount " + std::to_string(i + 1) + " of " + where;
        KILN_ASSIGN_OR_RETURN(
            MountSpec m, LoadMount(l, v.items[i], mount_where, stage_names));
        run->mounts.push_back(std::move(m));
      }
    }
  }
  return Status::Ok();
}

Status LoadCopy(const Loader& l, const YamlNode& node, const std::string& where,
                const std::vector<std::string>& stage_names, CopyStep* copy) {
  KILN_ASSIGN_OR_RETURN(copy->src, l.StringList(*Loader::Find(node, "copy"),
                                                "copy", where, true));
  if (copy->src.empty()) {
    return l.Error(node.mark, "no source paths in " + where);
  }
  KILN_ASSIGN_OR_RETURN(const YamlNode* dest, l.Require(node, "dest", where));
  KILN_ASSIGN_OR_RETURN(copy->dest, l.String(*dest, "dest", where));
  KILN_ASSIGN_OR_RETURN(copy->from, LoadSource(l, node, where, stage_names,
                                               SourceRef::Kind::kContext));
  for (const auto& [k, v] : node.entries) {
    if (k.scalar == "owner") {
      KILN_ASSIGN_OR_RETURN(copy->owner, l.String(v, "owner", where));
    } else if (k.scalar == "mode") {
      KILN_ASSIGN_OR_RETURN(uint32_t mode, l.Octal(v, "mode", where));
      copy->mode = static_cast<int32_t>(mode);
    } else if (k.scalar == "include") {
      KILN_ASSIGN_OR_RETURN(copy->include,
                            l.StringList(v, "include", where, true));
    } else if (k.scalar == "exclude") {
      KILN_ASSIGN_OR_RETURN(copy->exclude,
                            l.StringList(v, "exclude", where, true));
    }
  }
  return Status::Ok();
}

// The keys a step of `kind` may have besides its kind key.
std::vector<std::string> AllowedKeys(const std::string& kind) {
  std::vector<std::string> keys = {kind};
  if (kind == "run") {
    keys.insert(keys.end(), {"env", "workdir", "user", "network", "mounts"});
  } else if (kind == "copy") {
    keys.insert(keys.end(), {"dest", "from", "image", "owner", "mode",
                             "include", "exclude"});
  } else if (kind == "mkdir") {
    keys.insert(keys.end(), {"mode", "parents", "owner"});
  } else if (kind == "file") {
    keys.insert(keys.end(), {"content", "mode", "owner"});
  } else if (kind == "rm") {
    keys.push_back("allow-not-found");
  } else if (kind == "symlink") {
    keys.push_back("target");
  }
  return keys;
}

}  // namespace

Result<Step> LoadStep(const Loader& l, const YamlNode& node, int index,
                      const std::string& stage,
                      const std::vector<std::string>& stage_names) {
  const std::string where =
      "step " + std::to_string(index) + " of stage " + Quote(stage);
  Step step;
  step.index = index;
  step.mark = node.mark;
  if (!node.IsMap()) return l.WrongType(node, "steps", where, "a mapping");
  std::vector<std::string> kinds;
  for (const auto& [k, v] : node.entries) {
    if (k.IsScalar() && std::find(kPrimaryKinds.begin(), kPrimaryKinds.end(),
                                  k.scalar) != kPrimaryKinds.end()) {
      kinds.push_back(k.scalar);
    }
  }
  if (kinds.empty()) {
    for (const auto& [k, v] : node.entries) {
      if (k.IsScalar() && std::find(kContextKinds.begin(), kContextKinds.end(),
                                    k.scalar) != kContextKinds.end()) {
        kinds.push_back(k.scalar);
      }
    }
  }
  if (kinds.empty()) {
    std::vector<std::string> all = kPrimaryKinds;
    all.insert(all.end(), kContextKinds.begin(), kContextKinds.end());
    std::string hint;
    if (!node.entries.empty() && node.entries[0].key.IsScalar()) {
      hint = Suggestion(node.entries[0].key.scalar, all);
    }
    return l.Error(node.mark, where +
                                  " has no kind: expected one of run, "
                                  "copy, mkdir, file, rm, symlink, env, "
                                  "workdir, user" +
                                  hint);
  }
  if (kinds.size() > 1) {
    return l.Error(node.mark, where + " has more than one kind: " +
                                  Quote(kinds[0]) + " and " + Quote(kinds[1]));
  }
  step.kind = kinds[0];
  KILN_RETURN_IF_ERROR(
      l.CheckMap(node, "steps", where, AllowedKeys(step.kind)));
  const YamlNode& value = *Loader::Find(node, step.kind);
  const std::string& kind = step.kind;
  if (kind == "run") {
    RunStep run;
    KILN_RETURN_IF_ERROR(LoadRun(l, node, where, stage_names, &run));
    step.body = std::move(run);
  } else if (kind == "copy") {
    CopyStep copy;
    KILN_RETURN_IF_ERROR(LoadCopy(l, node, where, stage_names, &copy));
    step.body = std::move(copy);
  } else if (kind == "mkdir" || kind == "file") {
    KILN_ASSIGN_OR_RETURN(std::string path, l.String(value, kind, where));
    std::string owner;
    std::optional<uint32_t> mode;
    std::optional<bool> parents;
    for (const auto& [k, v] : node.entries) {
      if (k.scalar == "owner") {
        KILN_ASSIGN_OR_RETURN(owner, l.String(v, "owner", where));
      } else if (k.scalar == "mode") {
        KILN_ASSIGN_OR_RETURN(mode, l.Octal(v, "mode", where));
      } else if (k.scalar == "parents") {
        KILN_ASSIGN_OR_RETURN(parents, l.Bool(v, "parents", where));
      }
    }
    if (kind == "mkdir") {
      step.body = MkdirStep{.path = path,
                            .mode = mode.value_or(0755),
                            .parents = parents.value_or(true),
                            .owner = owner};
    } else {
      KILN_ASSIGN_OR_RETURN(const YamlNode* content,
                            l.Require(node, "content", where));
      KILN_ASSIGN_OR_RETURN(std::string text,
                            l.String(*content, "content", where));
      step.body = FileStep{.path = path,
                           .content = text,
                           .mode = mode.value_or(0644),
                           .owner = owner};
    }
  } else if (kind == "rm") {
    RmStep rm;
    KILN_ASSIGN_OR_RETURN(rm.path, l.String(value, kind, where));
    if (const YamlNode* v = Loader::Find(node, "allow-not-found")) {
      KILN_ASSIGN_OR_RETURN(rm.allow_not_found,
                            l.Bool(*v, "allow-not-found", where));
    }
    step.body = std::move(rm);
  } else if (kind == "symlink") {
    SymlinkStep link;
    KILN_ASSIGN_OR_RETURN(link.link, l.String(value, kind, where));
    KILN_ASSIGN_OR_RETURN(const YamlNode* target,
                          l.Require(node, "target", where));
    KILN_ASSIGN_OR_RETURN(link.target, l.String(*target, "target", where));
    step.body = std::move(link);
  } else if (kind == "env") {
    KILN_ASSIGN_OR_RETURN(EnvList env, l.StringMap(value, kind, where));
    step.body = EnvStep{std::move(env)};
  } else if (kind == "workdir") {
    KILN_ASSIGN_OR_RETURN(std::string path, l.String(value, kind, where));
    if (path.empty()) return l.Error(value.mark, "empty workdir in " + where);
    step.body = WorkdirStep{std::move(path)};
  } else {
    KILN_ASSIGN_OR_RETURN(std::string user, l.String(value, kind, where));
    if (user.empty()) return l.Error(value.mark, "empty user in " + where);
    step.body = UserStep{std::move(user)};
  }
  return step;
}

}  // namespace kiln::recipe::internal
