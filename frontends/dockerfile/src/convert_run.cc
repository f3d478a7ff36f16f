// RUN: exec ops with the stage's env, SHELL, --mount (bind, cache, tmpfs,
// secret, ssh with upstream's defaults), --network and --security, as
// upstream's dispatchRun and dispatchRunMounts.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "convert_internal.h"
#include "heredoc.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"

namespace kiln::dockerfile::convert {
namespace {

// upstream's runCommandString: "|N k=v … args".
std::string RunCommandString(const std::vector<std::string>& args,
                             const std::vector<BuildArg>& build_args,
                             const EnvLookup& env) {
  std::vector<std::string> tmp;
  std::map<std::string, size_t> idx;
  for (const BuildArg& a : build_args) {
    auto v = env(a.key);
    if (!v) continue;
    auto it = idx.find(a.key);
    if (it != idx.end()) {
      tmp[it->second] = a.key + "=" + *v;
    } else {
      idx[a.key] = tmp.size();
      tmp.push_back(a.key + "=" + *v);
    }
  }
  std::string out;
  if (!tmp.empty()) {
    out.push_back('|');
    out.append(std::to_string(tmp.size()));
  }
  for (const auto& t : tmp) out += " " + t;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

// `<<-` bodies: leading tabs stripped from every line.
std::string ChompTabs(const std::string& content) {
  std::string out;
  bool line_start = true;
  for (char ch : content) {
    if (line_start && ch == '\t') continue;
    line_start = ch == '\n';
    out.push_back(ch);
  }
  return out;
}

// The uid, gid, mode (`default_mode` if unset) and optional flag of a secret
// or ssh mount.
template <typename FileMount>
void SetOwnerAndMode(const Mount& m, uint32_t default_mode, FileMount* sm) {
  sm->uid = m.uid.value_or(0);
  sm->gid = m.gid.value_or(0);
  sm->mode = m.mode.value_or(default_mode);
  sm->optional = !m.required;
}

llb::CacheSharing Sharing(std::optional<MountSharing> s) {
  if (s == MountSharing::kPrivate) return llb::CacheSharing::kPrivate;
  if (s == MountSharing::kLocked) return llb::CacheSharing::kLocked;
  return llb::CacheSharing::kShared;
}

}  // namespace

Status Converter::DispatchRun(StageState& s, const RunCommand& c) {
  llb::RunOptions ro;
  std::vector<std::string> args = c.command.args;
  std::optional<llb::Mount> script_mount;
  if (!c.command.files.empty()) {
    // Upstream's heredoc RUN: a lone heredoc runs its body (a file when it
    // starts with #!), otherwise the line and bodies go to the shell.
    if (args.size() != 1 || !c.command.prepend_shell) {
      return Invalid(c, "parsing produced an invalid run command");
    }
    auto lone = ParseHeredocWord(args[0]);
    if (!lone.ok()) return Invalid(c, lone.status().message());
    const Heredoc& first = c.command.files[0];
    std::string data = first.chomp ? ChompTabs(first.content) : first.content;
    if (*lone && data.rfind("#!", 0) == 0) {
      llb::OpOptions oo;
      oo.custom_name = "[internal] preparing inline document";
      oo.platform = s.platform;
      llb::State script =
          llb::Scratch().File(llb::Mkfile("/" + first.name, 0755, data), oo);
      script_mount = llb::Mount::Bind("/dev/pipes/", script);
      script_mount->readonly = true;
      args = {PathJoin("/dev/pipes/", first.name)};
    } else if (*lone) {
      args = {data};
    } else {
      std::string full = args[0];
      for (const Heredoc& h : c.command.files)
        full += "\n" + h.content + h.name;
      args = {full};
    }
  }
  if (c.command.prepend_shell) args = WithShell(s.image, args);
  if (script_mount) ro.mounts.push_back(*script_mount);
  if (args.empty()) return Invalid(c, "RUN has no command");
  EnvLookup env = Lookup(s);
  ro.args = args;
  const ConvertOptions::RunDefaults& defaults = options->run;
  ro.network = defaults.network;  // force-network-mode; --network wins
  if (c.network == "none") {
    ro.network = llb::NetMode::kNone;
  } else if (c.network == "host") {
    ro.network = llb::NetMode::kHost;
  }
  ro.extra_hosts = defaults.extra_hosts;
  ro.hostname = defaults.hostname;
  ro.ulimits = defaults.ulimits;
  ro.cgroup_parent = defaults.cgroup_parent;
  if (defaults.shm_size > 0) {
    ro.mounts.push_back(llb::Mount::Tmpfs("/dev/shm", defaults.shm_size));
  }
  if (c.security == "insecure") ro.security = llb::SecurityMode::kInsecure;
  // Proxy build args reach RUN as proxy env (not in the cache key).
  llb::ProxyEnv proxy;
  bool has_proxy = false;
  auto proxy_arg = [&](const char* upper, const char* lower, std::string* out) {
    for (const char* k : {upper, lower}) {
      auto it = options->build_args.find(k);
      if (it != options->build_args.end()) {
        *out = it->second;
        has_proxy = true;
        return;
      }
    }
  };
  proxy_arg("HTTP_PROXY", "http_proxy", &proxy.http_proxy);
  proxy_arg("HTTPS_PROXY", "https_proxy", &proxy.https_proxy);
  proxy_arg("FTP_PROXY", "ftp_proxy", &proxy.ftp_proxy);
  proxy_arg("NO_PROXY", "no_proxy", &proxy.no_proxy);
  proxy_arg("ALL_PROXY", "all_proxy", &proxy.all_proxy);
  if (has_proxy) ro.proxy_env = proxy;

  const std::string& dir = s.state.GetDir();
  MountValueExpander expander = [&](std::string_view v) -> Result<std::string> {
    return ProcessWord(v, env, {.escape = escape});
  };
  for (const Mount& parsed : c.mounts) {
    Mount m = parsed;
    if (m.deferred) {
      auto r = ParseMount(m.spec, &expander);
      if (!r.ok()) return Invalid(c, r.status().message());
      m = *r;
    }
    if (m.type == MountType::kSecret) {
      llb::SecretMount sm;
      sm.id = !m.id.empty() ? m.id : m.source;
      sm.dest = m.target;
      if (sm.id.empty() && sm.dest.empty()) {
        return Invalid(c, "one of source, target required for secret mount");
      }
      if (sm.id.empty())
        sm.id = PathClean(sm.dest).substr(PathClean(sm.dest).rfind('/') + 1);
      if (sm.dest.empty() && !m.env) sm.dest = "/run/secrets/" + sm.id;
      if (m.env) sm.env = *m.env;
      SetOwnerAndMode(m, 0400, &sm);
      ro.secrets.push_back(std::move(sm));
      continue;
    }
    if (m.type == MountType::kSsh) {
      llb::SshMount sm;
      sm.id = m.id;
      sm.dest = m.target;
      SetOwnerAndMode(m, 0600, &sm);
      ro.ssh.push_back(std::move(sm));
      continue;
    }
    std::string target = m.target;
    if (target.empty() || target[0] != '/')
      target = PathJoin(PathJoin("/", dir), target);
    target = PathClean(target);
    if (target == "/") return Invalid(c, "invalid mount target \"/\"");
    std::string from = m.from;
    if (from.empty() && m.type == MountType::kCache) from = "scratch";
    std::optional<llb::State> source;
    if (from.empty()) {
      source = context;
      s.ctx_paths.insert(PathJoin("/", m.source));
    } else if (from != "scratch") {
      if (IsLaterStage(from, s.index)) {
        return Invalid(
            c, "cannot mount from stage " + from +
                   ", stage needs to be defined before current command");
      }
      int st = FindStage(from, s.index);
      if (st >= 0) {
        if (!stages[st].dispatched) {
          return Invalid(
              c, "cannot mount from stage " + from +
                     ", stage needs to be defined before current command");
        }
        source = stages[st].state;
      } else {
        auto img = ImageState(from, s.platform, "");
        if (!img.ok()) return img.status().WithRange(c.range);
        source = img->first;
      }
    }
    std::string selector = PathJoin("/", m.source);
    if (selector == "/") selector.clear();
    if (m.type == MountType::kTmpfs) {
      ro.mounts.push_back(llb::Mount::Tmpfs(target, m.size_limit));
      continue;
    }
    if (m.type == MountType::kCache) {
      std::string id = m.id.empty() ? PathClean(m.target) : m.id;
      llb::Mount mount =
          llb::Mount::Cache(target, "/" + id, Sharing(m.sharing));
      if ((m.uid || m.gid || m.mode) && selector.empty()) {
        // Upstream seeds the cache with a /cache dir of that owner and mode.
        llb::MkdirOptions mo;
        llb::ChownOpt owner;
        owner.user = llb::UserRef::Id(m.uid.value_or(0));
        owner.group = llb::UserRef::Id(m.gid.value_or(0));
        mo.owner = owner;
        llb::OpOptions oo;
        oo.custom_name = "[internal] settings cache mount permissions";
        oo.platform = s.platform;
        llb::State seed = source ? *source : llb::Scratch();
        source = seed.File(llb::Mkdir("/cache", m.mode.value_or(0755), mo), oo);
        selector = "/cache";
      }
      mount.source = source;
      mount.selector = selector;
      mount.readonly = m.read_only;
      ro.mounts.push_back(std::move(mount));
      continue;
    }
    llb::Mount mount =
        llb::Mount::Bind(target, source ? *source : llb::Scratch());
    mount.selector = selector;
    mount.readonly = m.read_only;
    mount.no_output = !m.read_only;
    ro.mounts.push_back(std::move(mount));
  }

  LexOptions name_lex{
      .escape = escape, .raw_quotes = true, .skip_unset_env = true};
  auto shown = ProcessWord(c.original, env, name_lex);
  ro.op.custom_name = Prefix(s, shown.ok() ? *shown : c.original);
  ro.op.description["com.docker.dockerfile.v1.command"] = c.original;
  ro.op.ignore_cache = options->no_cache;
  std::string history = "RUN " + RunCommandString(args, s.build_args, env);
  s.state = s.state.Run(std::move(ro)).Root();
  AddHistory(s.image, history, true, true);
  return Status::Ok();
}

}  // namespace kiln::dockerfile::convert
