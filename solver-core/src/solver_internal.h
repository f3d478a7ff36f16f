// Pieces of the Solver (solver.h) shared by its source files: what a vertex
// evaluates to, read-only and writable views of results, and the environment
// op runners get. Private to solver-core.
#ifndef KILN_SOLVER_SRC_SOLVER_INTERNAL_H_
#define KILN_SOLVER_SRC_SOLVER_INTERNAL_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/cache_index.h"
#include "kiln/solver/cache_mounts.h"
#include "kiln/solver/content_checksum.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/graph.h"
#include "kiln/solver/solver.h"
#include "runc_mounts.h"

namespace kiln::solver::internal {

// One output of a vertex: a committed snapshot, a plain host directory that
// is only read (a synced local source), or neither: the empty filesystem.
struct OutputRef {
  std::string snapshot;
  std::string dir;

  bool empty() const { return snapshot.empty() && dir.empty(); }
};

// The state directories of a Solver under <root>/solver.
struct SolverDirs {
  std::string base;       // <root>/solver
  std::string mounts;     // temporary mountpoints
  std::string locals;     // synced local sources
  std::string checksums;  // content checksum caches of local sources
  std::string git;        // git mirrors
  std::string http;       // http download cache
};

// A read-only directory presenting `ref`: the directory itself for a plain
// directory or a snapshot presented by a single bind mount (copy
// snapshotter, one-layer overlay), else the snapshot's mounts mounted on a
// fresh directory under `mounts_dir`, unmounted when the view goes away.
// The empty filesystem is an empty directory.
class ReadView {
 public:
  static Result<std::unique_ptr<ReadView>> Open(Snapshotter& snapshots,
                                                const OutputRef& ref,
                                                const std::string& mounts_dir);
  ~ReadView();
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;

  const std::string& path() const { return path_; }

 private:
  ReadView() = default;
  std::string path_;
  std::string made_dir_;  // removed on destruction when not empty
  MountStack mounts_;
};

// An active snapshot being written: its writable tree at path() (its
// mounts mounted under `mounts_dir` when the snapshotter needs it), and
// Commit() into a committed snapshot. Removed on destruction unless
// committed.
class WorkSnapshot {
 public:
  // `parent` "" = empty. Prepares a snapshot named `key_hint` plus a nonce.
  static Result<std::unique_ptr<WorkSnapshot>> Prepare(
      Snapshotter& snapshots, const std::string& parent,
      const std::string& mounts_dir);
  ~WorkSnapshot();
  WorkSnapshot(const WorkSnapshot&) = delete;
  WorkSnapshot& operator=(const WorkSnapshot&) = delete;

  // The snapshot's own directory as Prepare returned it (overlay: the upper
  // dir; copy: the whole tree). Write to it only before Path() mounts.
  const std::string& own_dir() const { return own_dir_; }
  // The writable tree; mounted lazily on first call (execs use mounts()).
  Result<std::string> Path();
  // The mounts presenting the active snapshot (for the executor).
  Result<std::vector<Mount>> Mounts();
  // Unmounts, then commits as `name`. The object is spent afterwards.
  Status Commit(const std::string& name);

  const std::string& key() const { return key_; }

 private:
  WorkSnapshot(Snapshotter& s, std::string key, std::string dir,
               std::string mounts_dir)
      : snapshots_(s),
        key_(std::move(key)),
        own_dir_(std::move(dir)),
        mounts_dir_(std::move(mounts_dir)) {}
  Snapshotter& snapshots_;
  std::string key_;
  std::string own_dir_;  // what Prepare returned
  std::string mounts_dir_;
  std::string path_;
  std::string made_dir_;
  MountStack mounts_;
  bool committed_ = false;
};

// Prefix of active snapshots made by the solver: removed at Open, since a
// root has one owner at a time and these belong to a dead predecessor.
inline constexpr std::string_view kWorkPrefix = "kiln-work/";

// Prefix of committed op outputs ("kiln/<key>/<output>/<nonce>"): those no
// index record names are swept at Open.
inline constexpr std::string_view kOutputPrefix = "kiln/";

// A new unique name for an output snapshot of the vertex with `key`.
std::string OutputSnapshotName(const Digest& key, int output);

// What op runners get.
struct OpEnv {
  const Vertex* vertex = nullptr;
  Snapshotter* snapshots = nullptr;
  Executor* executor = nullptr;
  CacheMounts* cache_mounts = nullptr;
  const SolveRequest* request = nullptr;
  const SolverDirs* dirs = nullptr;
  llb::Platform platform;  // of the vertex
  std::string binfmt_dir;  // SolverOptions::binfmt_dir
  std::stop_token stop;
  // Process output and byte progress of this vertex.
  std::function<void(int stream, std::string_view data)> log;
  std::function<void(const std::string& id, int64_t current, int64_t total,
                     bool complete)>
      status;
  // Holds an existing snapshot for the solve against garbage collection;
  // NotFound when it is gone (solver_gc_guard.h). May be empty.
  std::function<Status(const std::string& snapshot)> hold;
};

// A committed snapshot standing for `ref`, to be the parent of Prepare():
// the snapshot itself, "" for the empty filesystem, or for a directory a
// snapshot with a copy of it (made once per directory content digest).
Result<std::string> AsSnapshot(const OpEnv& env, const OutputRef& ref,
                               const std::function<Result<Digest>()>& digest);

// Lazily computed content digests of op inputs (parallel to the inputs),
// for AsSnapshot of directory inputs.
using InputDigests = std::vector<std::function<Result<Digest>()>>;

// Op runners. `inputs` is parallel to the vertex's inputs. They return the
// vertex's outputs, committed as OutputSnapshotName(key, i).
Result<std::vector<OutputRef>> RunExecOp(const OpEnv& env, const Digest& key,
                                         std::span<const OutputRef> inputs,
                                         const InputDigests& digests);
Result<std::vector<OutputRef>> RunFileOp(const OpEnv& env, const Digest& key,
                                         std::span<const OutputRef> inputs,
                                         const InputDigests& digests);
Result<std::vector<OutputRef>> RunMergeOp(const OpEnv& env, const Digest& key,
                                          std::span<const OutputRef> inputs,
                                          const InputDigests& digests);
Result<std::vector<OutputRef>> RunDiffOp(const OpEnv& env, const Digest& key,
                                         std::span<const OutputRef> inputs);

// What a source op evaluates to.
struct SourceOutcome {
  OutputRef output;
  Digest key;  // invalid when lazy_key is set
  // Local sources: the key hashes the whole synced tree, computed only when
  // a dependant needs it (a COPY reads checksums of its own paths instead).
  std::function<Result<Digest>()> lazy_key;
  bool cached = false;       // answered from the cache index
  std::string image_config;  // image sources: the config bytes
};

struct SourceEnv {
  const OpEnv* op = nullptr;
  ImageStore* images = nullptr;
  RegistryClient* registry = nullptr;
  CacheIndex* index = nullptr;
  ContentChecksummer* checksums = nullptr;  // for synced local trees
  // A synced tree under `base` leased to this solve until it ends.
  std::function<std::string(const std::string& base)> AcquireTree;
  // The snapshot recorded for a one-output key, when it still exists.
  std::function<std::optional<std::string>(const Digest& key)> Lookup;
};

Result<SourceOutcome> RunSourceOp(SourceEnv& env);

// Unmounts every mount below `dir` (a crashed predecessor's), deepest first.
Status UnmountBelow(const std::string& dir);

// The paths a file op reads from input `input` when that input is only a
// copy source (never the base of an action), as checksum requests; nullopt
// when the input is a base (its whole identity counts).
struct ChecksumRequest {
  std::string path;
  ChecksumOptions options;
  // A copy with wildcards: the pattern is expanded at key time and each
  // match checksummed (following a matched symlink when the copy does);
  // `path` and `options` are then unused but for the patterns.
  std::string wildcard;
  bool follow_matches = false;
  bool allow_empty = false;  // no match is not an error
};
std::optional<std::vector<ChecksumRequest>> FileOpReads(const pb::FileOp& op,
                                                        int input);
// The same for an exec: a read-only bind mount with a selector that is the
// input's only use.
std::optional<std::vector<ChecksumRequest>> ExecReads(const pb::ExecOp& op,
                                                      int input);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SOLVER_INTERNAL_H_
