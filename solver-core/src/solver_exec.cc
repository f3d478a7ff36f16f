// ExecOp on the executor: mounts of every type, then the process, then the
// output mounts committed as snapshots (solver_internal.h).
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "file_op_internal.h"
#include "kiln/solver/exec_mounts.h"
#include "kiln/solver/exec_platform.h"
#include "snapshot_base.h"
#include "solver_internal.h"

namespace kiln::solver::internal {
namespace {

// Everything one exec holds while it runs; released in reverse order.
struct ExecResources {
  std::vector<std::unique_ptr<WorkSnapshot>> outputs;  // by output slot
  std::vector<std::unique_ptr<WorkSnapshot>> scratch;  // writable, discarded
  std::vector<std::unique_ptr<ReadView>> views;
  std::vector<CacheMountLease> caches;
  std::vector<std::unique_ptr<SecretFile>> secrets;
  std::vector<std::unique_ptr<SshForwarder>> agents;
};

bool Entitled(const OpEnv& env, const std::string& name) {
  return env.request->entitlements.contains(name);
}

Status CheckMeta(const OpEnv& env, const pb::ExecOp& exec) {
  if (exec.network() == pb::HOST && !Entitled(env, "network.host")) {
    return PermissionDeniedError(
        "network=host needs the network.host entitlement (--allow "
        "network.host)");
  }
  if (exec.security() == pb::INSECURE) {
    if (!Entitled(env, "security.insecure")) {
      return PermissionDeniedError(
          "security=insecure needs the security.insecure entitlement "
          "(--allow security.insecure)");
    }
    return UnimplementedError(
        "security=insecure: kiln's executor does not run privileged "
        "containers yet");
  }
  if (exec.cdidevices_size() > 0) {
    return UnimplementedError("exec: CDI devices are not supported");
  }
  if (!exec.meta().cgroupparent().empty()) {
    return UnimplementedError("exec: cgroupParent is not supported");
  }
  return Status::Ok();
}

// The host path of `selector` inside a read view (symlinks resolved in it).
Result<std::string> SelectorPath(const ReadView& view,
                                 const std::string& selector) {
  if (selector.empty() || selector == "/") return view.path();
  KILN_ASSIGN_OR_RETURN(std::string rel,
                        ResolveInRoot(view.path(), selector, true));
  return UnderRoot(view.path(), rel);
}

Result<Mount> OneMount(Result<std::vector<Mount>> mounts) {
  if (!mounts.ok()) return mounts.status();
  if (mounts->size() != 1) {
    return InternalError("snapshot presented by " +
                         std::to_string(mounts->size()) + " mounts");
  }
  return std::move((*mounts)[0]);
}

Status AddBind(const OpEnv& env, const pb::Mount& m, const OutputRef& in,
               const std::function<Result<Digest>()>& digest,
               ExecResources& res, ExecSpec& spec) {
  Mount mount;
  if (!m.readonly()) {
    if (!m.selector().empty()) {
      return UnimplementedError("writable bind mount with a selector (" +
                                m.selector() + ")");
    }
    KILN_ASSIGN_OR_RETURN(std::string parent, AsSnapshot(env, in, digest));
    KILN_ASSIGN_OR_RETURN(
        std::unique_ptr<WorkSnapshot> work,
        WorkSnapshot::Prepare(*env.snapshots, parent, env.dirs->mounts));
    KILN_ASSIGN_OR_RETURN(mount, OneMount(work->Mounts()));
    if (m.output() >= 0) {
      res.outputs[static_cast<size_t>(m.output())] = std::move(work);
    } else {
      res.scratch.push_back(std::move(work));
    }
  } else if (!in.snapshot.empty() && m.selector().empty()) {
    KILN_ASSIGN_OR_RETURN(mount, OneMount(env.snapshots->Mounts(in.snapshot)));
  } else {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<ReadView> view,
                          ReadView::Open(*env.snapshots, in, env.dirs->mounts));
    KILN_ASSIGN_OR_RETURN(std::string path, SelectorPath(*view, m.selector()));
    mount = Mount{"bind", path, {"rbind", "ro"}};
    res.views.push_back(std::move(view));
  }
  if (m.dest() == "/") {
    spec.rootfs = {mount};
    spec.readonly_rootfs = m.readonly();
  } else {
    spec.mounts.push_back(ExecMount{m.dest(), mount, m.readonly()});
  }
  return Status::Ok();
}

Result<CacheSharing> Sharing(pb::CacheSharingOpt opt) {
  switch (opt) {
    case pb::SHARED:
      return CacheSharing::kShared;
    case pb::PRIVATE:
      return CacheSharing::kPrivate;
    case pb::LOCKED:
      return CacheSharing::kLocked;
    default:
      return InvalidArgumentError("unknown cache sharing mode " +
                                  std::to_string(static_cast<int>(opt)));
  }
}

Status AddCache(const OpEnv& env, const pb::Mount& m, const OutputRef& in,
                const std::function<Result<Digest>()>& digest,
                ExecResources& res, ExecSpec& spec) {
  std::string id = m.cacheopt().id().empty() ? m.dest() : m.cacheopt().id();
  if (m.input() >= 0) {
    // Seeded caches are per seed, as BuildKit keys them by id and ref.
    KILN_ASSIGN_OR_RETURN(Digest seed, digest());
    id += ":" + seed.str() + ":" + m.selector();
  }
  KILN_ASSIGN_OR_RETURN(CacheSharing sharing, Sharing(m.cacheopt().sharing()));
  auto init = [&](const std::string& dir) -> Status {
    if (in.empty()) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<ReadView> view,
                          ReadView::Open(*env.snapshots, in, env.dirs->mounts));
    KILN_ASSIGN_OR_RETURN(std::string src, SelectorPath(*view, m.selector()));
    return CopyTree(src, dir);
  };
  if (env.cache_mounts == nullptr) {
    return FailedPreconditionError("cache mounts are not available");
  }
  KILN_ASSIGN_OR_RETURN(CacheMountLease lease,
                        env.cache_mounts->Acquire(id, sharing, init, env.stop));
  spec.mounts.push_back(ExecMount{
      m.dest(), Mount{"bind", lease.dir(), {"rbind", "rw"}}, m.readonly()});
  res.caches.push_back(std::move(lease));
  return Status::Ok();
}

// What a client provider answers for a secret or an ssh agent: the value,
// nullopt when the item is optional and absent, or the error.
template <typename Fetch>
Result<std::optional<std::string>> FromProvider(bool have_provider,
                                                bool optional,
                                                const std::string& what,
                                                const std::string& plural,
                                                const Fetch& fetch) {
  if (!have_provider) {
    if (optional) return std::optional<std::string>();
    return NotFoundError(what + ": no " + plural + " provided");
  }
  Result<std::string> got = fetch();
  if (got.ok()) return std::optional<std::string>(std::move(*got));
  if (optional && got.status().code() == StatusCode::kNotFound) {
    return std::optional<std::string>();
  }
  return got.status();
}

Status AddSecret(const OpEnv& env, const pb::Mount& m, ExecResources& res,
                 ExecSpec& spec) {
  const pb::SecretOpt& opt = m.secretopt();
  SecretProvider* secrets = env.request->secrets;
  auto data = FromProvider(secrets != nullptr, opt.optional(),
                           "secret \"" + opt.id() + "\"", "secrets",
                           [&] { return secrets->GetSecret(opt.id()); });
  if (!data.ok())
    return data.status().WithContext("secret mount at " + m.dest());
  if (!data->has_value()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<SecretFile> file,
      SecretFile::Create(**data, opt.uid(), opt.gid(),
                         opt.mode() == 0 ? 0400 : opt.mode()));
  spec.mounts.push_back(
      ExecMount{m.dest(), Mount{"bind", file->path(), {"rbind", "ro"}}, true});
  res.secrets.push_back(std::move(file));
  return Status::Ok();
}

Status AddSsh(const OpEnv& env, const pb::Mount& m, ExecResources& res,
              ExecSpec& spec) {
  const pb::SSHOpt& opt = m.sshopt();
  const std::string id = opt.id().empty() ? "default" : opt.id();
  SshProvider* ssh = env.request->ssh;
  auto socket =
      FromProvider(ssh != nullptr, opt.optional(), "ssh agent \"" + id + "\"",
                   "ssh agents", [&] { return ssh->AgentSocket(id); });
  if (!socket.ok())
    return socket.status().WithContext("ssh mount at " + m.dest());
  if (!socket->has_value()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<SshForwarder> agent,
      SshForwarder::Start(**socket, opt.uid(), opt.gid(),
                          opt.mode() == 0 ? 0600 : opt.mode()));
  spec.mounts.push_back(ExecMount{
      m.dest(), Mount{"bind", agent->socket_path(), {"rbind"}}, false});
  res.agents.push_back(std::move(agent));
  return Status::Ok();
}

Status AddSecretEnv(const OpEnv& env, const pb::ExecOp& exec, ExecSpec& spec) {
  SecretProvider* secrets = env.request->secrets;
  for (const pb::SecretEnv& se : exec.secretenv()) {
    auto data = FromProvider(secrets != nullptr, se.optional(),
                             "secret \"" + se.id() + "\"", "secrets",
                             [&] { return secrets->GetSecret(se.id()); });
    if (!data.ok()) return data.status().WithContext("secret env " + se.name());
    if (data->has_value()) spec.env.push_back(se.name() + "=" + **data);
  }
  return Status::Ok();
}

void FillMeta(const OpEnv& env, const pb::ExecOp& exec, ExecSpec& spec) {
  const pb::Meta& meta = exec.meta();
  spec.args.assign(meta.args().begin(), meta.args().end());
  spec.env.assign(meta.env().begin(), meta.env().end());
  spec.cwd = meta.cwd().empty() ? "/" : meta.cwd();
  spec.user = meta.user();
  if (!meta.hostname().empty()) spec.hostname = meta.hostname();
  spec.network =
      exec.network() == pb::HOST ? NetworkMode::kHost : NetworkMode::kNone;
  for (const pb::HostIP& h : meta.extrahosts()) {
    spec.extra_hosts.push_back({h.host(), h.ip()});
  }
  for (const pb::Ulimit& u : meta.ulimit()) {
    spec.ulimits.push_back({u.name(), u.soft(), u.hard()});
  }
  spec.valid_exit_codes.assign(meta.validexitcodes().begin(),
                               meta.validexitcodes().end());
  spec.log = [log = env.log](int stream, std::string_view data,
                             std::chrono::system_clock::time_point) {
    if (log) log(stream, data);
  };
}

}  // namespace

Result<std::vector<OutputRef>> RunExecOp(const OpEnv& env, const Digest& key,
                                         std::span<const OutputRef> inputs,
                                         const InputDigests& input_digests) {
  if (env.executor == nullptr) {
    return FailedPreconditionError(
        "no executor: this engine cannot run processes (needs root and runc)");
  }
  const pb::ExecOp& exec = env.vertex->op.exec();
  KILN_RETURN_IF_ERROR(CheckMeta(env, exec));
  // A foreign platform fails here, before anything is prepared or started.
  KILN_RETURN_IF_ERROR(
      CheckExecPlatform(env.platform, llb::HostPlatform(), env.binfmt_dir));
  ExecSpec spec;
  FillMeta(env, exec, spec);
  KILN_RETURN_IF_ERROR(AddSecretEnv(env, exec, spec));

  ExecResources res;
  res.outputs.resize(static_cast<size_t>(env.vertex->num_outputs));
  std::vector<OutputRef> outputs(res.outputs.size());
  static const std::function<Result<Digest>()> kNoDigest = [] {
    return Result<Digest>(InternalError("no digest for scratch"));
  };
  for (const pb::Mount& m : exec.mounts()) {
    const bool has_input = m.input() >= 0;
    const OutputRef in =
        has_input ? inputs[static_cast<size_t>(m.input())] : OutputRef{};
    const auto& digest =
        has_input ? input_digests[static_cast<size_t>(m.input())] : kNoDigest;
    Status added;
    switch (m.mounttype()) {
      case pb::BIND:
        added = AddBind(env, m, in, digest, res, spec);
        // A read-only mount with an output passes its input through (as a
        // snapshot: a recorded output must outlive a synced directory).
        if (added.ok() && m.readonly() && m.output() >= 0) {
          auto snapshot = AsSnapshot(env, in, digest);
          if (!snapshot.ok()) {
            added = snapshot.status();
          } else {
            outputs[static_cast<size_t>(m.output())].snapshot = *snapshot;
          }
        }
        break;
      case pb::CACHE:
        added = AddCache(env, m, in, digest, res, spec);
        break;
      case pb::TMPFS:
        spec.mounts.push_back(
            ExecMount{m.dest(), TmpfsMount(m.tmpfsopt().size()), false});
        break;
      case pb::SECRET:
        added = AddSecret(env, m, res, spec);
        break;
      case pb::SSH:
        added = AddSsh(env, m, res, spec);
        break;
      default:
        added = InvalidArgumentError(
            "unknown mount type " +
            std::to_string(static_cast<int>(m.mounttype())));
    }
    KILN_RETURN_IF_ERROR(added.WithContext("mount " + m.dest()));
  }
  if (spec.rootfs.empty()) {
    return InvalidArgumentError("exec: no root mount");
  }
  Result<ExecResult> run = env.executor->Run(spec, env.stop);
  if (!run.ok()) return run.status();

  for (size_t i = 0; i < res.outputs.size(); ++i) {
    if (res.outputs[i] == nullptr) continue;
    std::string name = OutputSnapshotName(key, static_cast<int>(i));
    KILN_RETURN_IF_ERROR(res.outputs[i]->Commit(name));
    outputs[i].snapshot = std::move(name);
  }
  return outputs;
}

}  // namespace kiln::solver::internal
