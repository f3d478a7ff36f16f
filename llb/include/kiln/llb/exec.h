// Exec ops: run a process on a root filesystem with mounts, as BuildKit's Go
// client (client/llb/exec.go) encodes them.
#ifndef KILN_LLB_EXEC_H_
#define KILN_LLB_EXEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/llb/state.h"

namespace kiln::llb {

enum class CacheSharing { kShared, kPrivate, kLocked };
enum class ContentCache { kDefault, kOn, kOff };

// One mount of an exec op. Build with the static constructors and the
// chainable setters: Mount::Bind("/src", ctx).Readonly().Selector("app").
struct Mount {
  enum class Type { kBind, kCache, kTmpfs };

  // A filesystem (scratch allowed) at `dest`; writable mounts are outputs.
  static Mount Bind(std::string dest, State source);
  // A persistent cache directory `id`, never exported. Optionally seeded
  // from `From(state)`.
  static Mount Cache(std::string dest, std::string id,
                     CacheSharing sharing = CacheSharing::kShared);
  // A tmpfs of `size_bytes` (0 = runtime default).
  static Mount Tmpfs(std::string dest, int64_t size_bytes = 0);

  Mount&& Readonly() && { readonly = true; return std::move(*this); }
  // Writable, but its changes are discarded (no output).
  Mount&& NoOutput() && { no_output = true; return std::move(*this); }
  // Mount only this path of the source.
  Mount&& Selector(std::string path) && { selector = std::move(path); return std::move(*this); }
  Mount&& From(State base) && { source = std::move(base); return std::move(*this); }
  Mount&& WithContentCache(ContentCache mode) && { content_cache = mode; return std::move(*this); }

  Type type = Type::kBind;
  std::string dest;
  std::optional<State> source;  // bind: the filesystem; cache: the seed
  std::string selector;
  bool readonly = false;
  bool no_output = false;
  std::string cache_id;
  CacheSharing sharing = CacheSharing::kShared;
  int64_t tmpfs_size = 0;
  ContentCache content_cache = ContentCache::kDefault;
};

// A secret from the client's secret store, as a file (on tmpfs), an env
// var, or both.
struct SecretMount {
  std::string id;    // default: the destination path, else the env name
  std::string dest;  // file path; may be empty when `env` is set
  std::string env;   // also (or only) expose it as this environment variable
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0400;
  bool optional = false;
};

// A forwarded ssh agent socket.
struct SshMount {
  std::string id;    // agent id; empty = the engine's default agent
  std::string dest;  // default: /run/buildkit/ssh_agent.<n>
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0600;
  bool optional = false;
};

struct ProxyEnv {
  std::string http_proxy, https_proxy, ftp_proxy, no_proxy, all_proxy;
};

struct CdiDevice {
  std::string name;  // "vendor.com/class=name"
  bool optional = false;
};

// cgroup limits, recorded in the op's metadata (not its cache key).
struct LinuxResources {
  int64_t memory = 0;
  int64_t memory_swap = 0;
  uint64_t cpu_shares = 0;
  uint64_t cpu_period = 0;
  int64_t cpu_quota = 0;
  std::string cpuset_cpus;
  std::string cpuset_mems;
};

struct RunOptions {
  std::vector<std::string> args;  // argv; required
  // Process context of this exec only: added to / overriding the state's.
  // As with the Go client's RunOptions, the resulting state keeps the
  // process context of the state Run was called on.
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<std::string> cwd;  // relative = joined to the state's dir
  std::optional<std::string> user;
  std::optional<std::string> hostname;
  std::optional<NetMode> network;
  std::optional<SecurityMode> security;
  std::vector<HostIP> extra_hosts;  // in addition to the state's
  std::vector<Ulimit> ulimits;      // in addition to the state's
  std::optional<std::string> cgroup_parent;

  std::optional<ProxyEnv> proxy_env;
  std::vector<int32_t> valid_exit_codes;  // empty = only 0
  bool readonly_rootfs = false;
  std::vector<Mount> mounts;
  std::vector<SecretMount> secrets;
  // Forwarded ssh agents; the first becomes SSH_AUTH_SOCK unless env sets it.
  std::vector<SshMount> ssh;
  std::vector<CdiDevice> cdi_devices;
  std::optional<LinuxResources> linux_resources;
  OpOptions op;
};

// Splits a shell-like command line into words (quotes and backslashes as in
// sh, no expansion), for RunOptions.args. InvalidArgument on an unterminated
// quote.
Result<std::vector<std::string>> Shlex(std::string_view command);

// The result of State::Run(): the new root filesystem (this State) plus the
// other writable mounts. With RunOptions.readonly_rootfs the root is not an
// output and this State is the unchanged input root, as in the Go client.
class ExecState : public State {
 public:
  State Root() const { return *this; }
  // The output of the mount at `dest`. NotFound if there is no such mount,
  // FailedPrecondition if it has no output (readonly, cache, tmpfs,
  // no-output, secret, ssh).
  Result<State> GetMount(std::string_view dest) const;

 private:
  friend class State;
  ExecState(State root, std::shared_ptr<const internal::Vertex> exec,
            std::map<std::string, int64_t, std::less<>> outputs);
  std::shared_ptr<const internal::Vertex> exec_;
  std::map<std::string, int64_t, std::less<>> outputs_;
};

}  // namespace kiln::llb

#endif  // KILN_LLB_EXEC_H_
