// solver-core: executes LLB Definitions (see DESIGN.md). It depends on llb
// only and knows nothing of Dockerfiles or other frontend languages.
//
// The Solver runs a validated Graph (graph.h): every vertex whose inputs are
// ready runs on a bounded pool of threads; a vertex's cache key
// (cache_key.h) is computed from its inputs' keys and, for the paths an op
// reads from an input (copy sources, bind-mount selectors), from content
// checksums (content_checksum.h); a key found in the persistent cache index
// (cache_index.h) reuses the recorded snapshots instead of running the op,
// unless the op says ignore_cache. Identical vertices — equal cache keys —
// run once, within a solve and across concurrent solves of one Solver.
//
// Results are committed snapshots (snapshotter.h). Each output of an exec or
// file op becomes one snapshot whose parent is the snapshot it was prepared
// from, so a result's snapshot chain is its layer chain (an exported image
// has one layer per op, on top of its base image's layers).
//
// Sources: docker-image:// and oci-layout:// (image_source.h), local:// (a
// client directory, synced incrementally, local_source.h), git:// and
// https:// / http:// (git_source.h, http_source.h).
//
// Progress (progress.h): every vertex reports started and completed (cached,
// error); exec output comes as log lines; image pulls report each blob's
// bytes as status entries (id = the blob digest), local sources what they
// transferred as a status entry and a log line.
//
// Failure: the first failing vertex cancels the rest of its solve (running
// execs are killed); its error names the vertex (name and digest) and keeps
// the op's own message (for an exec: command, exit code, output tail).
// Nothing half-done is ever recorded in the cache index: a snapshot is
// committed and recorded only once its op succeeded.
//
// Crash safety: after a kill -9 the next Open() removes the active (work in
// progress) snapshots and runtime leftovers of the dead process; committed
// snapshots and the index (SQLite, WAL) stay consistent, and an index entry
// whose snapshot is missing is treated as a miss.
//
// Thread safety: Solve may be called concurrently from several threads.
// The stores and executor passed in SolverOptions must outlive the Solver.
#ifndef KILN_SOLVER_SOLVER_H_
#define KILN_SOLVER_SOLVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/build_cache.h"
#include "kiln/solver/exec_platform.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/gc.h"
#include "kiln/solver/graph.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/layer.h"
#include "kiln/solver/local_source.h"
#include "kiln/solver/progress.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/secrets.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver {

struct SolverOptions {
  // The engine's state directory ($KILN_ROOT): the cache index
  // (solver/cache.db), cache mounts, checksum caches and work directories
  // live under <root>/solver.
  std::string root;
  ImageStore* images = nullptr;        // required
  RegistryClient* registry = nullptr;  // may be null: no registry access
  Snapshotter* snapshots = nullptr;    // required
  Executor* executor = nullptr;        // may be null: execs fail clearly
  // Vertices run at once, per Solver (shared by concurrent solves). 0: the
  // number of CPUs, at least 2.
  int parallelism = 0;
  // Automatic garbage collection after solves, applied in order (empty: no
  // automatic GC). See gc.h.
  std::vector<PruneOptions> gc_policies;
  // Where binfmt_misc handlers are read before an exec of a foreign platform
  // (exec_platform.h); tests point it at a directory of their own.
  std::string binfmt_dir = kBinfmtMiscDir;
};

// Where local:// sources that are not in SolveRequest::locals come from: a
// client session (kilnd). Sync makes `dest_dir` hold exactly the entries the
// options select from the client's directory `name` of session
// `session_id` (the op's local.session attribute; "" when absent),
// transferring only what differs from what `dest_dir` already holds.
// `dest_dir` persists between builds of the same (shared key, name).
// Thread safety: implementations must allow concurrent calls.
class LocalProvider {
 public:
  virtual ~LocalProvider() = default;
  virtual Result<LocalSyncStats> Sync(const std::string& session_id,
                                      const std::string& name,
                                      const LocalSyncOptions& options,
                                      const std::string& dest_dir,
                                      std::stop_token stop) = 0;
  // Scopes reuse of synced trees: builds whose provider returns the same
  // key for (session, name) share one tree (BuildKit's session shared key).
  virtual std::string SharedKey(const std::string& session_id,
                                const std::string& name) = 0;
};

// A source a solve resolved, as provenance needs it (BuildKit's llbsolver
// provenance capture): the source op's identifier, what it resolved to
// ("sha256:…" of an image manifest or of http content, "sha1:…" of a git
// commit, "" for a local) and, for images, the platform loaded.
struct ResolvedSource {
  std::string identifier;
  std::string digest;
  llb::Platform platform;
  friend bool operator==(const ResolvedSource&,
                         const ResolvedSource&) = default;
};

// Collects the image, git, http and local sources of one or more solves.
// Thread-safe: the solver records from its
// workers. Sources() is in first-recorded order, without duplicates.
class SourceRecorder {
 public:
  void Record(ResolvedSource source);
  std::vector<ResolvedSource> Sources() const;

 private:
  mutable std::mutex mu_;
  std::vector<ResolvedSource> sources_;  // guarded by mu_
};

struct SolveRequest {
  // local:// name → host directory (the CLI's --local name=dir).
  std::map<std::string, std::string> locals;
  // Names not in `locals` are asked of this provider; may be null.
  LocalProvider* local_provider = nullptr;
  // oci-layout store id → OCI layout directory.
  std::map<std::string, std::string> oci_layouts;
  SecretProvider* secrets = nullptr;  // may be null: secret mounts fail
  SshProvider* ssh = nullptr;         // may be null: ssh mounts fail
  // Granted entitlements: "network.host", "security.insecure". Ops that need
  // one that is not granted fail naming it.
  std::set<std::string> entitlements;
  ProgressSink* progress = nullptr;  // may be null
  // Default platform of ops that carry none: the host's.
  llb::Platform platform;
  // When set, every image, git, http and local source resolved is recorded
  // here (provenance); borrowed, must outlive the solve.
  SourceRecorder* resolved_sources = nullptr;
  // Imported caches (build_cache.h), consulted in order after a miss in the
  // local cache index (never for ignore_cache vertices). A hit fetches the
  // layer blobs whose chain-ID snapshots are missing, unpacks them, records
  // the result in the local index and counts as cached; a hit that cannot
  // be materialized (a blob missing or corrupt) is logged on the vertex,
  // which then runs. Borrowed: must outlive the solve.
  std::vector<const ImportedCache*> cache_imports;
  // Collects the key and outputs of every exec, file, merge and diff
  // vertex (run or cached), for a cache export; may be null. Borrowed.
  CacheRecorder* cache_recorder = nullptr;
};

// Exec, file, merge and diff vertices only (sources are resolved every
// time; their cost is a lookup, a sync or a fetch, never an op run).
struct SolveStats {
  int executed = 0;  // vertices whose op ran
  int cached = 0;    // vertices answered from the cache index (or by a
                     // concurrent solve that ran the same key)
};

struct SolveResult {
  // The committed snapshot holding the result; "" when the result is the
  // empty filesystem (scratch).
  std::string snapshot;
  Digest cache_key;
  llb::Platform platform;  // of the result's op (or the request's)
  // created_by for each snapshot of the result's chain (history of an
  // exported image): the op that produced it.
  std::map<std::string, std::string> created_by;
  SolveStats stats;
};

class Solver {
 public:
  virtual ~Solver() = default;

  // Opens the state under options.root (creating it), cleaning up after a
  // crashed predecessor. Errors: InvalidArgument for missing stores,
  // DataLoss for an unreadable index, Internal for I/O failures.
  static Result<std::unique_ptr<Solver>> Open(const SolverOptions& options);

  // Runs `graph` to its result. Errors: the failing vertex's error (see the
  // file comment); Cancelled when `stop` is requested (running execs are
  // killed, nothing is recorded for unfinished vertices).
  virtual Result<SolveResult> Solve(const Graph& graph,
                                    const SolveRequest& request,
                                    std::stop_token stop) = 0;

  // The cache's usage records matching `filters` (gc.h syntax).
  virtual Result<std::vector<UsageRecord>> DiskUsage(
      const std::vector<std::string>& filters) = 0;
  // Removes what `options` selects (records in use are kept) and returns
  // the removed records.
  virtual Result<std::vector<UsageRecord>> Prune(
      const PruneOptions& options) = 0;

  // Keeps the committed `snapshot` (and the chain it builds on) from garbage
  // collection while the returned handle lives, e.g. a result being
  // exported after Solve returned. Release it before the Solver is
  // destroyed. NotFound when the snapshot no longer exists (a concurrent
  // prune removed it).
  virtual Result<std::shared_ptr<void>> Hold(const std::string& snapshot) = 0;

  // Layer blobs of snapshots, for exporters (backed by the cache index).
  virtual LayerCache& layers() = 0;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_SOLVER_H_
