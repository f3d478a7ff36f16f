#include "kiln/llb/exec.h"

#include <algorithm>

#include "vertex.h"

namespace kiln::llb {
namespace {

using internal::StateMeta;
using internal::Vertex;

constexpr std::string_view kDefaultLinuxPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct PlacedMount {
  Mount mount;
  int64_t output = -1;
};

class ExecVertex final : public Vertex {
 public:
  ExecVertex(std::shared_ptr<const StateMeta> meta, RunOptions options,
             std::vector<PlacedMount> mounts)
      : Vertex(options.op, meta->platform),
        meta_(std::move(meta)),
        run_(std::move(options)),
        mounts_(std::move(mounts)) {}

  std::vector<const Vertex*> Dependencies() const override {
    std::vector<const Vertex*> deps;
    for (const PlacedMount& m : mounts_) {
      if (m.mount.source && !m.mount.source->IsScratch()) {
        deps.push_back(StateAccess::vertex(*m.mount.source).get());
      }
    }
    return deps;
  }

  Status Build(const internal::MarshalContext& ctx, pb::Op* op,
               std::set<std::string_view>* caps) const override {
    auto* exec = op->mutable_exec();
    auto* meta = exec->mutable_meta();
    for (const auto& a : run_.args) meta->add_args(a);

    std::vector<std::pair<std::string, std::string>> env = meta_->env;
    caps->insert(caps::kExecMetaBase);
    auto has_env = [&](std::string_view key) {
      return std::any_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == key; });
    };
    // The first forwarded agent is the process's SSH_AUTH_SOCK unless set.
    if (!run_.ssh.empty() && !has_env("SSH_AUTH_SOCK")) {
      env.emplace_back("SSH_AUTH_SOCK", SshDest(0));
    }
    if (const caps::CapSet* engine = ctx.options().engine_caps) {
      if (engine->contains(caps::kExecMetaSetsDefaultPath)) {
        caps->insert(caps::kExecMetaSetsDefaultPath);
      } else if (!has_env("PATH")) {
        env.emplace_back("PATH", std::string(kDefaultLinuxPath));
      }
    }
    for (const auto& [k, v] : env) meta->add_env(k + "=" + v);
    meta->set_cwd(meta_->dir);
    meta->set_user(meta_->user);
    if (run_.proxy_env) {
      auto* p = meta->mutable_proxy_env();
      p->set_http_proxy(run_.proxy_env->http_proxy);
      p->set_https_proxy(run_.proxy_env->https_proxy);
      p->set_ftp_proxy(run_.proxy_env->ftp_proxy);
      p->set_no_proxy(run_.proxy_env->no_proxy);
      p->set_all_proxy(run_.proxy_env->all_proxy);
      caps->insert(caps::kExecMetaProxy);
    }
    for (const HostIP& h : meta_->extra_hosts) {
      auto* e = meta->add_extrahosts();
      e->set_host(h.host);
      e->set_ip(h.ip);
    }
    meta->set_hostname(meta_->hostname);
    for (const Ulimit& u : meta_->ulimits) {
      auto* l = meta->add_ulimit();
      l->set_name(u.name);
      l->set_soft(u.soft);
      l->set_hard(u.hard);
    }
    if (!meta_->ulimits.empty()) caps->insert(caps::kExecMetaUlimit);
    if (!meta_->cgroup_parent.empty()) {
      meta->set_cgroupparent(meta_->cgroup_parent);
      caps->insert(caps::kExecMetaCgroupParent);
    }
    meta->set_removemountstubsrecursive(true);
    for (int32_t code : run_.valid_exit_codes) meta->add_validexitcodes(code);
    if (!run_.valid_exit_codes.empty()) caps->insert(caps::kExecValidExitCode);

    switch (meta_->network) {
      case NetMode::kSandbox: break;
      case NetMode::kHost: exec->set_network(pb::HOST); break;
      case NetMode::kNone: exec->set_network(pb::NONE); break;
    }
    if (meta_->network != NetMode::kSandbox) caps->insert(caps::kExecMetaNetwork);
    if (meta_->security == SecurityMode::kInsecure) {
      exec->set_security(pb::INSECURE);
      caps->insert(caps::kExecMetaSecurity);
    }

    for (const PlacedMount& pm : mounts_) {
      const Mount& m = pm.mount;
      auto* out = exec->add_mounts();
      if (m.source && !m.source->IsScratch()) {
        out->set_input(internal::AddInputDedup(
            op, ctx.InputOf(StateAccess::vertex(*m.source).get(), StateAccess::index(*m.source))));
      } else {
        out->set_input(-1);
      }
      out->set_selector(m.selector);
      out->set_dest(m.dest);
      out->set_output(pm.output);
      out->set_readonly(m.readonly);
      if (!m.selector.empty()) caps->insert(caps::kExecMountSelector);
      switch (m.type) {
        case Mount::Type::kBind:
          if (m.source && !m.source->IsScratch()) caps->insert(caps::kExecMountBind);
          break;
        case Mount::Type::kCache: {
          out->set_mounttype(pb::CACHE);
          auto* c = out->mutable_cacheopt();
          c->set_id(m.cache_id);
          switch (m.sharing) {
            case CacheSharing::kShared: c->set_sharing(pb::SHARED); break;
            case CacheSharing::kPrivate: c->set_sharing(pb::PRIVATE); break;
            case CacheSharing::kLocked: c->set_sharing(pb::LOCKED); break;
          }
          caps->insert(caps::kExecMountCache);
          caps->insert(caps::kExecMountCacheSharing);
          break;
        }
        case Mount::Type::kTmpfs:
          out->set_mounttype(pb::TMPFS);
          out->mutable_tmpfsopt()->set_size(m.tmpfs_size);
          caps->insert(caps::kExecMountTmpfs);
          if (m.tmpfs_size > 0) caps->insert(caps::kExecMountTmpfsSize);
          break;
      }
      if (m.content_cache != ContentCache::kDefault) {
        out->set_contentcache(m.content_cache == ContentCache::kOn ? pb::ON : pb::OFF);
        caps->insert(caps::kExecMountContentCache);
      }
    }

    // A secret may be an env var, a file, or both.
    if (!run_.secrets.empty()) caps->insert(caps::kExecMountSecret);
    for (const SecretMount& s : run_.secrets) {
      if (!s.env.empty()) {
        auto* e = exec->add_secretenv();
        e->set_id(s.id);
        e->set_name(s.env);
        e->set_optional(s.optional);
        caps->insert(caps::kExecSecretEnv);
      }
      if (s.dest.empty()) continue;
      auto* m = exec->add_mounts();
      m->set_input(-1);
      m->set_dest(s.dest);
      m->set_mounttype(pb::SECRET);
      auto* o = m->mutable_secretopt();
      o->set_id(s.id);
      o->set_uid(s.uid);
      o->set_gid(s.gid);
      o->set_mode(s.mode);
      o->set_optional(s.optional);
    }
    for (size_t i = 0; i < run_.ssh.size(); ++i) {
      const SshMount& s = run_.ssh[i];
      auto* m = exec->add_mounts();
      m->set_input(-1);
      m->set_dest(SshDest(i));
      m->set_mounttype(pb::SSH);
      auto* o = m->mutable_sshopt();
      o->set_id(s.id);
      o->set_uid(s.uid);
      o->set_gid(s.gid);
      o->set_mode(s.mode);
      o->set_optional(s.optional);
      caps->insert(caps::kExecMountSsh);
    }
    for (const CdiDevice& d : run_.cdi_devices) {
      auto* c = exec->add_cdidevices();
      c->set_name(d.name);
      c->set_optional(d.optional);
      caps->insert(caps::kExecMetaCdi);
    }
    if (run_.linux_resources) caps->insert(caps::kExecMetaLinuxResources);
    return Status::Ok();
  }

  void AddMetadata(pb::OpMetadata* md) const override {
    if (!run_.linux_resources) return;
    const LinuxResources& r = *run_.linux_resources;
    auto* out = md->mutable_linux_resources();
    out->set_memory(r.memory);
    out->set_memoryswap(r.memory_swap);
    out->set_cpushares(r.cpu_shares);
    out->set_cpuperiod(r.cpu_period);
    out->set_cpuquota(r.cpu_quota);
    out->set_cpusetcpus(r.cpuset_cpus);
    out->set_cpusetmems(r.cpuset_mems);
  }

  bool WritesPlatform() const override { return true; }

  // Where ssh agent `i` is mounted.
  std::string SshDest(size_t i) const {
    const std::string& dest = run_.ssh[i].dest;
    return dest.empty() ? "/run/buildkit/ssh_agent." + std::to_string(i) : dest;
  }

  std::string Describe() const override {
    std::string s = "exec [";
    for (size_t i = 0; i < run_.args.size(); ++i) {
      if (i) s += ' ';
      s += run_.args[i];
    }
    return s + "]";
  }

 private:
  std::shared_ptr<const StateMeta> meta_;
  RunOptions run_;
  std::vector<PlacedMount> mounts_;
};

Status ValidateRun(const RunOptions& o, const std::vector<PlacedMount>& mounts) {
  if (o.args.empty()) return InvalidArgumentError("exec needs at least one argument (args)");
  std::set<std::string, std::less<>> dests;
  auto check_dest = [&](const std::string& dest, std::string_view what) -> Status {
    if (dest.empty() || dest[0] != '/') {
      return InvalidArgumentError(std::string(what) + " destination \"" + dest +
                                  "\" must be an absolute path");
    }
    if (!dests.insert(dest).second) {
      return InvalidArgumentError("two mounts at \"" + dest + "\"");
    }
    return Status::Ok();
  };
  for (const PlacedMount& m : mounts) {
    KILN_RETURN_IF_ERROR(check_dest(m.mount.dest, "mount"));
    if (m.mount.type == Mount::Type::kCache && m.mount.cache_id.empty()) {
      return InvalidArgumentError("cache mount at \"" + m.mount.dest + "\" needs an id");
    }
    if (m.mount.type == Mount::Type::kTmpfs && m.mount.tmpfs_size < 0) {
      return InvalidArgumentError("tmpfs mount at \"" + m.mount.dest + "\" has a negative size");
    }
  }
  for (const SecretMount& s : o.secrets) {
    if (s.id.empty()) return InvalidArgumentError("secret needs an id, a destination or an env name");
    if (s.env.empty() && s.dest.empty()) {
      return InvalidArgumentError("secret \"" + s.id + "\" needs a destination file or an env name");
    }
    if (!s.dest.empty()) KILN_RETURN_IF_ERROR(check_dest(s.dest, "secret"));
  }
  for (const SshMount& s : o.ssh) {
    if (!s.dest.empty()) KILN_RETURN_IF_ERROR(check_dest(s.dest, "ssh"));
  }
  return Status::Ok();
}

}  // namespace

Mount Mount::Bind(std::string dest, State source) {
  Mount m;
  m.type = Type::kBind;
  m.dest = std::move(dest);
  m.source = std::move(source);
  return m;
}

Mount Mount::Cache(std::string dest, std::string id, CacheSharing sharing) {
  Mount m;
  m.type = Type::kCache;
  m.dest = std::move(dest);
  m.cache_id = std::move(id);
  m.sharing = sharing;
  return m;
}

Mount Mount::Tmpfs(std::string dest, int64_t size_bytes) {
  Mount m;
  m.type = Type::kTmpfs;
  m.dest = std::move(dest);
  m.tmpfs_size = size_bytes;
  return m;
}

ExecState::ExecState(State root, std::shared_ptr<const internal::Vertex> exec,
                     std::map<std::string, int64_t, std::less<>> outputs)
    : State(std::move(root)), exec_(std::move(exec)), outputs_(std::move(outputs)) {}

Result<State> ExecState::GetMount(std::string_view dest) const {
  auto it = outputs_.find(dest);
  if (it == outputs_.end()) {
    return NotFoundError("exec has no mount at \"" + std::string(dest) + "\"");
  }
  if (it->second < 0) {
    return FailedPreconditionError("mount at \"" + std::string(dest) +
                                   "\" has no output (readonly, cache, tmpfs, no-output, "
                                   "secret or ssh)");
  }
  return StateAccess::Make(exec_, it->second, StateAccess::meta_ptr(*this));
}

ExecState State::Run(RunOptions options) const {
  // The process context: the state's, with the run options applied.
  auto meta = std::make_shared<internal::StateMeta>(*meta_);
  for (auto& [k, v] : options.env) {
    std::erase_if(meta->env, [&](const auto& kv) { return kv.first == k; });
    meta->env.emplace_back(k, v);
  }
  if (options.cwd) {
    meta->dir = (!options.cwd->empty() && (*options.cwd)[0] == '/')
                    ? *options.cwd
                    : internal::JoinPath(meta->dir, *options.cwd);
  }
  if (options.user) meta->user = *options.user;
  if (options.hostname) meta->hostname = *options.hostname;
  if (options.network) meta->network = *options.network;
  if (options.security) meta->security = *options.security;
  for (const HostIP& h : options.extra_hosts) meta->extra_hosts.push_back(h);
  for (const Ulimit& u : options.ulimits) meta->ulimits.push_back(u);
  if (options.cgroup_parent) meta->cgroup_parent = *options.cgroup_parent;
  for (SecretMount& s : options.secrets) {
    if (s.id.empty()) s.id = s.env.empty() ? s.dest : s.env;
  }

  // Root first, then the caller's mounts, sorted by destination as the Go
  // client does; outputs numbered in that order.
  std::vector<PlacedMount> mounts;
  Mount root_mount = Mount::Bind("/", *this);
  root_mount.readonly = options.readonly_rootfs;
  mounts.push_back(PlacedMount{std::move(root_mount), -1});
  for (Mount& m : options.mounts) mounts.push_back(PlacedMount{std::move(m), -1});
  options.mounts.clear();
  std::stable_sort(mounts.begin(), mounts.end(), [](const PlacedMount& a, const PlacedMount& b) {
    return a.mount.dest < b.mount.dest;
  });
  int64_t next_output = 0;
  std::map<std::string, int64_t, std::less<>> outputs;
  for (PlacedMount& pm : mounts) {
    const Mount& m = pm.mount;
    if (m.type == Mount::Type::kBind && !m.readonly && !m.no_output) pm.output = next_output++;
    outputs[m.dest] = pm.output;
  }
  for (const SecretMount& s : options.secrets) {
    if (!s.dest.empty()) outputs.emplace(s.dest, -1);
  }

  Status error = ValidateRun(options, mounts);
  const bool readonly_root = options.readonly_rootfs;
  auto vertex = std::make_shared<ExecVertex>(meta, std::move(options), std::move(mounts));
  if (!error.ok()) vertex->set_error(std::move(error));
  // As in the Go client, a read-only root filesystem is not an output: the
  // result's root is the unchanged input root.
  // The run options shape this exec only: as in the Go client (Run returns
  // s.WithOutput(...)), the result keeps the process context of the state it
  // was run on — a RUN --network=host must not give the next RUN host
  // network.
  State root = readonly_root ? *this : State(vertex, outputs["/"], meta_);
  return ExecState(std::move(root), vertex, std::move(outputs));
}

Result<std::vector<std::string>> Shlex(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < command.size() &&
                 std::string_view("\"\\$`\n").find(command[i + 1]) != std::string_view::npos) {
        word += command[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\') {
      if (i + 1 >= command.size()) return InvalidArgumentError("command ends with a backslash");
      word += command[++i];
    } else {
      word += c;
    }
  }
  if (quote != 0) {
    return InvalidArgumentError(std::string("unterminated ") + quote + " quote in command");
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace kiln::llb
