// The steps of a stage as LLB ops and image config changes. run, copy and
// workdir follow the Dockerfile frontend's RUN, COPY and WORKDIR, so that
// equivalent recipes and Dockerfiles give the same files and config.
#include <string>
#include <variant>
#include <vector>

#include "convert_internal.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"

namespace kiln::recipe::internal {
namespace {

llb::CacheSharing Sharing(const std::string& s) {
  if (s == "private") return llb::CacheSharing::kPrivate;
  if (s == "locked") return llb::CacheSharing::kLocked;
  return llb::CacheSharing::kShared;
}

// A path of a file step: relative paths are under the stage's workdir.
std::string Absolute(const llb::State& state, const std::string& path) {
  const std::string& dir = state.GetDir();
  return PathJoin(dir.empty() ? "/" : dir, path);
}

Result<std::optional<llb::ChownOpt>> Owner(const std::string& spec) {
  if (spec.empty()) return std::optional<llb::ChownOpt>();
  KILN_ASSIGN_OR_RETURN(llb::ChownOpt owner, llb::ChownOpt::Parse(spec));
  return std::optional<llb::ChownOpt>(owner);
}

}  // namespace

Status Converter::DispatchStep(const Stage& stage, const Step& step,
                               StageOut& out) {
  Status status;
  const std::string& name = stage.name;
  if (const auto* run = std::get_if<RunStep>(&step.body)) {
    status = DispatchRun(step, *run, out);
  } else if (const auto* copy = std::get_if<CopyStep>(&step.body)) {
    status = DispatchCopy(step, *copy, out);
  } else if (const auto* w = std::get_if<WorkdirStep>(&step.body)) {
    status = DispatchWorkdir(step, *w, out);
  } else if (const auto* env = std::get_if<EnvStep>(&step.body)) {
    std::string history = "env";
    for (const auto& [k, v] : env->env) {
      out.state = out.state.AddEnv(k, v);
      SetConfigEnv(out.image, k, v);
      history += " " + k + "=" + v;
    }
    AddHistory(out.image, history, true);
  } else if (const auto* user = std::get_if<UserStep>(&step.body)) {
    out.state = out.state.User(user->user);
    out.image["config"]["User"] = user->user;
    AddHistory(out.image, "user " + user->user, true);
  } else if (const auto* mkdir = std::get_if<MkdirStep>(&step.body)) {
    auto owner = Owner(mkdir->owner);
    if (!owner.ok()) return Located(owner.status(), step.mark);
    std::string path = Absolute(out.state, mkdir->path);
    out.state = out.state.File(
        llb::Mkdir(path, mkdir->mode,
                   {.make_parents = mkdir->parents, .owner = *owner}),
        Op(name, "mkdir " + path, out.platform));
    AddHistory(out.image, "mkdir " + path, false);
  } else if (const auto* file = std::get_if<FileStep>(&step.body)) {
    auto owner = Owner(file->owner);
    if (!owner.ok()) return Located(owner.status(), step.mark);
    std::string path = Absolute(out.state, file->path);
    out.state = out.state.File(
        llb::Mkfile(path, file->mode, file->content, {.owner = *owner}),
        Op(name, "file " + path, out.platform));
    AddHistory(out.image, "file " + path, false);
  } else if (const auto* rm = std::get_if<RmStep>(&step.body)) {
    std::string path = Absolute(out.state, rm->path);
    out.state =
        out.state.File(llb::Rm(path, {.allow_not_found = rm->allow_not_found}),
                       Op(name, "rm " + path, out.platform));
    AddHistory(out.image, "rm " + path, false);
  } else if (const auto* link = std::get_if<SymlinkStep>(&step.body)) {
    std::string path = Absolute(out.state, link->link);
    out.state = out.state.File(llb::Symlink(link->target, path),
                               Op(name, "symlink " + path, out.platform));
    AddHistory(out.image, "symlink " + path + " -> " + link->target, false);
  }
  return Located(status, step.mark);
}

Status Converter::DispatchRun(const Step& /*step*/, const RunStep& run,
                              StageOut& out) {
  llb::RunOptions ro;
  ro.args = run.args;
  ro.env = run.env;
  if (run.workdir) ro.cwd = *run.workdir;
  if (run.user) ro.user = *run.user;
  if (run.network == "none") ro.network = llb::NetMode::kNone;
  if (run.network == "host") ro.network = llb::NetMode::kHost;
  const std::string dir = out.state.GetDir().empty() ? "/" : out.state.GetDir();
  for (const MountSpec& m : run.mounts) {
    if (m.type == MountSpec::Type::kSecret) {
      llb::SecretMount sm;
      std::string clean = PathClean(m.target);
      sm.id = !m.id.empty() ? m.id : clean.substr(clean.rfind('/') + 1);
      sm.dest = m.target;
      if (sm.dest.empty() && m.env.empty()) sm.dest = "/run/secrets/" + sm.id;
      sm.env = m.env;
      sm.uid = m.uid.value_or(0);
      sm.gid = m.gid.value_or(0);
      sm.mode = m.mode.value_or(0400);
      sm.optional = !m.required;
      ro.secrets.push_back(std::move(sm));
      continue;
    }
    if (m.type == MountSpec::Type::kSsh) {
      llb::SshMount sm;
      sm.id = m.id;
      sm.dest = m.target;
      sm.uid = m.uid.value_or(0);
      sm.gid = m.gid.value_or(0);
      sm.mode = m.mode.value_or(0600);
      sm.optional = !m.required;
      ro.ssh.push_back(std::move(sm));
      continue;
    }
    std::string target = PathJoin(dir, m.target);
    if (target == "/") {
      return Located(InvalidArgumentError("invalid mount target \"/\""),
                     m.mark);
    }
    if (m.type == MountSpec::Type::kTmpfs) {
      ro.mounts.push_back(llb::Mount::Tmpfs(target, m.size));
      continue;
    }
    auto source = SourceState(m.from, out.platform);
    if (!source.ok()) return Located(source.status(), m.mark);
    std::string selector = PathJoin("/", m.source);
    if (selector == "/") selector.clear();
    if (m.type == MountSpec::Type::kCache) {
      std::string id = m.id.empty() ? target : m.id;
      llb::Mount mount = llb::Mount::Cache(target, id, Sharing(m.sharing));
      llb::State seed = *source;
      if ((m.uid || m.gid || m.mode) && selector.empty()) {
        // As the Dockerfile frontend: a seed dir of that owner and mode.
        llb::ChownOpt owner;
        owner.user = llb::UserRef::Id(m.uid.value_or(0));
        owner.group = llb::UserRef::Id(m.gid.value_or(0));
        llb::OpOptions oo;
        oo.custom_name = "[internal] settings cache mount permissions";
        oo.platform = out.platform;
        seed = seed.File(
            llb::Mkdir("/cache", m.mode.value_or(0755), {.owner = owner}), oo);
        selector = "/cache";
      }
      if (m.from.kind != SourceRef::Kind::kScratch || !selector.empty()) {
        mount.source = seed;
      }
      mount.selector = selector;
      mount.readonly = m.readonly;
      ro.mounts.push_back(std::move(mount));
      continue;
    }
    llb::Mount mount = llb::Mount::Bind(target, *source);
    mount.selector = selector;
    mount.readonly = m.readonly;
    mount.no_output = !m.readonly;
    ro.mounts.push_back(std::move(mount));
  }
  ro.op = Op(out.name, "run " + run.display, out.platform);
  // Step-local env, workdir and user do not outlive the step.
  llb::State before = out.state;
  out.state = out.state.Run(std::move(ro)).Root().Reset(before);
  AddHistory(out.image, "run " + run.display, false);
  return Status::Ok();
}

Status Converter::DispatchCopy(const Step& /*step*/, const CopyStep& copy,
                               StageOut& out) {
  KILN_ASSIGN_OR_RETURN(llb::State source,
                        SourceState(copy.from, out.platform));
  // The destination as the Dockerfile frontend's COPY: relative to the
  // workdir, a trailing slash (or ".") meaning "into this directory".
  const std::string dir = out.state.GetDir().empty() ? "/" : out.state.GetDir();
  std::string dest;
  if (!copy.dest.empty() && copy.dest[0] == '/') {
    dest = copy.dest;
  } else {
    dest = PathJoin(dir, copy.dest);
    if ((copy.dest.empty() || copy.dest == "." || copy.dest.back() == '/') &&
        dest.back() != '/') {
      dest += "/";
    }
  }
  llb::CopyOptions co;
  co.follow_symlinks = true;
  co.copy_dir_contents_only = true;
  co.create_dest_path = true;
  co.allow_wildcard = true;
  co.allow_empty_wildcard = true;
  co.include_patterns = copy.include;
  co.exclude_patterns = copy.exclude;
  KILN_ASSIGN_OR_RETURN(co.owner, Owner(copy.owner));
  co.mode = copy.mode;
  std::optional<llb::FileAction> action;
  std::string history = "copy";
  for (const std::string& src : copy.src) {
    std::string path = PathJoin("/", src);
    history += " " + src;
    action = action ? action->Copy(source, path, dest, co)
                    : llb::Copy(source, path, dest, co);
  }
  history += " " + dest;
  out.state = out.state.File(*action, Op(out.name, history, out.platform));
  AddHistory(out.image, history, false);
  return Status::Ok();
}

Status Converter::DispatchWorkdir(const Step& /*step*/, const WorkdirStep& w,
                                  StageOut& out) {
  std::string wd = Absolute(out.state, w.path);
  out.state = out.state.Dir(wd);
  out.image["config"]["WorkingDir"] = wd;
  if (wd != "/") {
    // As WORKDIR: the directory is created, owned by the current user.
    llb::MkdirOptions mo;
    mo.make_parents = true;
    const Json& cfg = out.image["config"];
    if (cfg.contains("User") && cfg["User"].is_string() &&
        !cfg["User"].get<std::string>().empty()) {
      KILN_ASSIGN_OR_RETURN(mo.owner, Owner(cfg["User"].get<std::string>()));
    }
    out.state = out.state.File(llb::Mkdir(wd, 0755, mo),
                               Op(out.name, "workdir " + wd, out.platform));
  }
  AddHistory(out.image, "workdir " + wd, wd == "/");
  return Status::Ok();
}

}  // namespace kiln::recipe::internal
