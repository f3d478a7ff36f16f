// llb::State: the C++ builder for LLB graphs, modelled on BuildKit's Go
// client (client/llb) so that the same graph gives the same op bytes and
// digests.
//
// A State is an immutable value: a reference to one output of a vertex (or to
// the empty filesystem) plus the process context later ops inherit (env, dir,
// user, platform, network …). Every method returns a new State sharing history
// with the old one; nothing runs until the graph is marshaled and solved.
// Identical ops deduplicate by digest at Marshal().
//
// Errors found while building (an invalid image reference, a mount that has
// no output) are kept in the graph and reported by Marshal(), like the Go
// client does, so building code stays fluent.
//
// Thread safety: States are immutable and may be shared and used across
// threads; they hold shared_ptrs to const vertices.
#ifndef KILN_LLB_STATE_H_
#define KILN_LLB_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/llb/caps.h"
#include "kiln/llb/encoding.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln::llb {

namespace internal {
class Vertex;
struct StateMeta;
}  // namespace internal

class ExecState;
class FileAction;
struct RunOptions;
struct StateAccess;

enum class NetMode { kSandbox, kHost, kNone };
enum class SecurityMode { kSandbox, kInsecure };

struct HostIP {
  std::string host;
  std::string ip;
};

struct Ulimit {
  std::string name;  // "nofile", "nproc", …
  int64_t soft = 0;
  int64_t hard = 0;
};

struct ProgressGroup {
  std::string id;
  std::string name;
  bool weak = false;
};

// A source file an op came from (e.g. the Dockerfile), for error locations.
// Share one SourceFile among all the ops of a file.
struct SourceFile {
  std::string filename;
  std::string language;  // e.g. "Dockerfile"
  std::string data;      // the full file text
  // LLB that produced the file (e.g. the local://dockerfile load), optional.
  std::shared_ptr<const pb::Definition> definition;
};

struct SourceLocation {
  std::shared_ptr<const SourceFile> file;
  // 1-based lines; character 0 = whole line.
  struct Position {
    int line = 0;
    int character = 0;
  };
  struct Range {
    Position start;
    Position end;
  };
  std::vector<Range> ranges;
};

// Per-op options (BuildKit's ConstraintsOpt): where the op may run and its
// metadata. Accepted by every op-creating function.
struct OpOptions {
  // Platform of this op; default: the state's, else MarshalOptions.platform.
  std::optional<Platform> platform;
  // containerd-style worker filters, added to MarshalOptions.worker_filters.
  std::vector<std::string> worker_filters;
  // Display name (description key "llb.customname").
  std::string custom_name;
  // Free-form description entries.
  std::map<std::string, std::string> description;
  bool ignore_cache = false;
  std::optional<bool> export_cache;
  std::optional<ProgressGroup> progress_group;
  std::vector<SourceLocation> source_locations;
};

struct MarshalOptions {
  // Platform for ops that don't set one; default: HostPlatform().
  std::optional<Platform> platform;
  // Worker filters applied to every op.
  std::vector<std::string> worker_filters;
  // Marks every op ignore_cache.
  bool ignore_cache = false;
  // Value of the `local.unique` attr for local sources without a session id.
  // Empty (the default) omits the attr, keeping bytes reproducible; BuildKit's
  // Go client sets a random id here.
  std::string local_unique_id;
  // LLB caps the target engine advertises. When set, Marshal fails if an op
  // needs a cap outside the set, and exec ops get a default PATH when the
  // engine lacks exec.meta.setsdefaultpath. When null, no check is made.
  const caps::CapSet* engine_caps = nullptr;
  OpEncoding encoding = OpEncoding::kProtobufGo;
};

class State {
 public:
  // The empty filesystem (scratch) with dir "/".
  State();

  // The output a Definition's terminal op points at (Go's
  // llb.NewDefinitionOp), e.g. a frontend input: building on it and
  // marshaling emits the Definition's ops byte for byte with their metadata
  // (source locations are not carried over). The process context is the
  // default one. An empty Definition gives Scratch(). Errors:
  // InvalidArgument when the Definition does not load (LoadDefinition).
  static Result<State> FromDefinition(const pb::Definition& definition);

  // True for the empty filesystem.
  bool IsScratch() const { return vertex_ == nullptr; }

  // --- process context inherited by later ops -------------------------------

  // Sets (or replaces, moving it to the end, as BuildKit does) an env var.
  State AddEnv(std::string key, std::string value) const;
  State DelEnv(const std::string& key) const;
  // Working dir; a relative path is joined to the current one.
  State Dir(const std::string& dir) const;
  State User(std::string user) const;
  State Hostname(std::string hostname) const;
  State WithPlatform(Platform platform) const;
  State Network(NetMode mode) const;
  State Security(SecurityMode mode) const;
  State AddExtraHost(std::string host, std::string ip) const;
  State AddUlimit(std::string name, int64_t soft, int64_t hard) const;
  State WithCgroupParent(std::string parent) const;
  // This state's output with `other`'s process context (Go's Reset).
  State Reset(const State& other) const;

  std::optional<std::string> GetEnv(std::string_view key) const;
  // KEY=value entries in order.
  std::vector<std::string> Env() const;
  const std::string& GetDir() const;
  const std::string& GetUser() const;
  const std::string& GetHostname() const;
  // Unset means "the marshal default".
  const std::optional<Platform>& GetPlatform() const;
  NetMode GetNetwork() const;
  SecurityMode GetSecurity() const;

  // --- ops -------------------------------------------------------------------

  // Runs a process with this state as the root filesystem. See exec.h.
  ExecState Run(RunOptions options) const;
  // Applies file actions (mkdir, mkfile, rm, copy, symlink) to this state.
  // See file.h.
  State File(const FileAction& action, OpOptions options = {}) const;

  // Marshals this state and everything it depends on into a Definition: each
  // distinct op once, inputs before users, then the terminal op. A scratch
  // state gives an empty Definition. Same graph + same options = same bytes.
  // Errors: deferred build errors (InvalidArgument, naming the op) and, with
  // engine_caps set, FailedPrecondition for an unsupported cap.
  Result<pb::Definition> Marshal(const MarshalOptions& options = {}) const;

 private:
  friend class ExecState;
  friend struct StateAccess;

  State(std::shared_ptr<const internal::Vertex> vertex, int64_t index,
        std::shared_ptr<const internal::StateMeta> meta);
  State WithMeta(std::shared_ptr<const internal::StateMeta> meta) const;

  std::shared_ptr<const internal::Vertex> vertex_;
  int64_t index_ = 0;
  std::shared_ptr<const internal::StateMeta> meta_;
};

// The empty filesystem.
State Scratch();

// Merges the states' filesystems, later ones on top (a MergeOp). Scratch
// inputs are dropped; none left gives Scratch(), one left gives that state.
State Merge(const std::vector<State>& inputs, OpOptions options = {});

// The changes that turn `lower` into `upper` (a DiffOp). Diff(scratch, x) = x.
State Diff(const State& lower, const State& upper, OpOptions options = {});

// Serializes a Definition for the wire (deterministic: map entries sorted).
std::string SerializeDefinition(const pb::Definition& def);

}  // namespace kiln::llb

#endif  // KILN_LLB_STATE_H_
