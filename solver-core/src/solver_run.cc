// One solve: a pool of workers runs the vertices whose inputs are ready,
// computes their cache keys, answers them from the cache index or runs
// their op, and stops everything on the first failure (solver_impl.h).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "file_op_internal.h"
#include "kiln/solver/cache_key.h"
#include "solver_impl.h"

namespace kiln::solver::internal {
namespace {

class SolveRun {
 public:
  SolveRun(SolverImpl& solver, const Graph& graph, const SolveRequest& request,
           std::stop_token caller)
      : solver_(solver),
        graph_(graph),
        request_(request),
        caller_(std::move(caller)),
        holds_(solver.gc()) {}

  Result<SolveResult> Run();
  SolveHolds& holds() { return holds_; }
  ~SolveRun() {
    for (const std::string& tree : leased_trees_) {
      solver_.ReleaseLocalTree(tree);
    }
  }

 private:
  struct State {
    int pending = 0;
    std::vector<int> dependents;
    std::mutex key_mu;
    Digest key;
    std::function<Result<Digest>()> lazy_key;
    std::vector<OutputRef> outputs;
    llb::Platform platform;
  };

  void Worker();
  Status Process(int v);
  Status ProcessOp(int v, const OpEnv& env, bool* cached, bool* has_slot);
  // solver_.Lookup, held for this solve, when the record gives every output
  // of `vertex`.
  std::optional<std::vector<OutputRef>> LookupOutputs(const Vertex& vertex,
                                                      const Digest& key);
  Status RunOrWait(int v, const OpEnv& env, const Digest& key,
                   const InputDigests& digests, bool* cached, bool* has_slot);
  Status RunOwned(int v, const OpEnv& env, const Digest& key,
                  const InputDigests& digests,
                  const std::shared_ptr<InFlight>& entry);
  Result<Digest> KeyOf(int v);
  Result<Digest> InputChecksum(const OutputRef& ref,
                               const std::vector<ChecksumRequest>& reads);
  // Hands a vertex's key and outputs to the request's cache recorder.
  void Record(const State& state) {
    if (request_.cache_recorder == nullptr || !state.key.valid()) return;
    std::vector<std::string> names;
    for (const OutputRef& out : state.outputs) {
      if (!out.dir.empty()) return;  // a host directory is no layer chain
      names.push_back(out.snapshot);
    }
    request_.cache_recorder->Add(state.key, std::move(names));
  }
  void Report(const VertexProgress& p) {
    if (request_.progress != nullptr) request_.progress->OnVertex(p);
  }

  SolverImpl& solver_;
  const Graph& graph_;
  const SolveRequest& request_;
  std::stop_token caller_;
  std::stop_source stop_;
  std::vector<std::unique_ptr<State>> states_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> ready_;
  int remaining_ = 0;
  bool failed_ = false;
  Status first_error_;

  std::mutex trees_mu_;
  std::vector<std::string> leased_trees_;

  std::atomic<int> executed_{0};
  std::atomic<int> cached_{0};

  SolveHolds holds_;  // what this solve uses, kept from GC until it ends
};

bool CountsInStats(const Vertex& v) {
  return v.op.has_exec() || v.op.has_file() || v.op.has_merge() ||
         v.op.has_diff();
}

Result<SolveResult> SolveRun::Run() {
  const int n = graph_.size();
  states_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) states_.push_back(std::make_unique<State>());
  for (int i = 0; i < n; ++i) {
    const Vertex& v = graph_.vertex(i);
    states_[static_cast<size_t>(i)]->pending =
        static_cast<int>(v.inputs.size());
    for (const VertexInput& in : v.inputs) {
      states_[static_cast<size_t>(in.vertex)]->dependents.push_back(i);
    }
    if (v.inputs.empty()) ready_.push_back(i);
  }
  remaining_ = n;
  std::stop_callback on_cancel(caller_, [this] {
    stop_.request_stop();
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_) first_error_ = CancelledError("build cancelled");
    failed_ = true;
    cv_.notify_all();
  });
  {
    int workers = std::min(
        n, std::max(1, solver_.options().parallelism > 0
                           ? solver_.options().parallelism
                           : static_cast<int>(std::max(
                                 2u, std::thread::hardware_concurrency()))));
    std::vector<std::jthread> pool;
    for (int i = 0; i < workers; ++i) pool.emplace_back([this] { Worker(); });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_) return first_error_;
  }

  const VertexInput result = graph_.result();
  State& top = *states_[static_cast<size_t>(result.vertex)];
  OutputRef ref = top.outputs[static_cast<size_t>(result.output)];
  SolveResult out;
  out.platform = top.platform;
  KILN_ASSIGN_OR_RETURN(out.cache_key, KeyOf(result.vertex));
  if (!ref.dir.empty()) {
    OpEnv env;
    env.snapshots = solver_.options().snapshots;
    env.dirs = &solver_.dirs();
    env.hold = [this](const std::string& s) {
      return solver_.HoldExisting(holds_, s);
    };
    KILN_ASSIGN_OR_RETURN(ref.snapshot, AsSnapshot(env, ref, [&] {
                            return KeyOf(result.vertex);
                          }));
  }
  out.snapshot = ref.snapshot;
  for (std::string name = out.snapshot; !name.empty();) {
    out.created_by[name] = solver_.DescriptionOf(name);
    auto info = solver_.options().snapshots->Stat(name);
    if (!info.ok()) break;
    name = info->parent;
  }
  out.stats.executed = executed_.load();
  out.stats.cached = cached_.load();
  return out;
}

void SolveRun::Worker() {
  for (;;) {
    int v = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock,
               [&] { return failed_ || remaining_ == 0 || !ready_.empty(); });
      if (failed_ || remaining_ == 0) return;
      v = ready_.front();
      ready_.pop_front();
    }
    Status status = Process(v);
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok()) {
      if (!failed_) first_error_ = status;
      failed_ = true;
      stop_.request_stop();
      cv_.notify_all();
      return;
    }
    --remaining_;
    for (int d : states_[static_cast<size_t>(v)]->dependents) {
      if (--states_[static_cast<size_t>(d)]->pending == 0) ready_.push_back(d);
    }
    cv_.notify_all();
  }
}

Status SolveRun::Process(int v) {
  const Vertex& vertex = graph_.vertex(v);
  State& state = *states_[static_cast<size_t>(v)];
  state.platform = vertex.op.has_platform()
                       ? llb::FromProto(vertex.op.platform())
                       : request_.platform;
  if (state.platform.os.empty()) state.platform = llb::HostPlatform();

  VertexProgress progress;
  progress.digest = vertex.digest;
  for (const VertexInput& in : vertex.inputs) {
    progress.inputs.push_back(graph_.vertex(in.vertex).digest);
  }
  progress.name = vertex.name;
  if (vertex.metadata.has_progress_group()) {
    progress.progress_group = vertex.metadata.progress_group().id();
  }
  progress.started = ProgressClock::now();
  Report(progress);

  OpEnv env;
  env.vertex = &vertex;
  env.snapshots = solver_.options().snapshots;
  env.executor = solver_.options().executor;
  env.cache_mounts = &solver_.cache_mounts();
  env.request = &request_;
  env.dirs = &solver_.dirs();
  env.platform = state.platform;
  env.binfmt_dir = solver_.options().binfmt_dir;
  env.stop = stop_.get_token();
  env.hold = [this](const std::string& s) {
    return solver_.HoldExisting(holds_, s);
  };
  ProgressSink* sink = request_.progress;
  env.log = [sink, &vertex](int stream, std::string_view data) {
    if (sink == nullptr) return;
    sink->OnLog(VertexLogEntry{vertex.digest, stream, std::string(data),
                               ProgressClock::now()});
  };

  env.status = [sink, &vertex, &progress](const std::string& id,
                                          int64_t current, int64_t total,
                                          bool complete) {
    if (sink == nullptr) return;
    VertexStatusEntry entry;
    entry.vertex = vertex.digest;
    entry.id = id;
    entry.current = current;
    entry.total = total;
    entry.timestamp = ProgressClock::now();
    entry.started = progress.started;
    if (complete) entry.completed = entry.timestamp;
    sink->OnStatus(entry);
  };

  bool cached = false;
  Status status = CancelledError("build cancelled");
  bool has_slot = solver_.AcquireSlot(env.stop);
  if (has_slot && !env.stop.stop_requested()) {
    status = ProcessOp(v, env, &cached, &has_slot);
  }
  if (has_slot) solver_.ReleaseSlot();

  progress.completed = ProgressClock::now();
  progress.cached = cached && status.ok();
  if (!status.ok()) progress.error = status.message();
  Report(progress);
  if (status.ok() && CountsInStats(vertex)) {
    ++(cached ? cached_ : executed_);
    Record(state);
  }
  if (status.ok() || status.code() == StatusCode::kCancelled) return status;
  return status.WithContext("\"" + vertex.name + "\" (op " +
                            vertex.digest.str() + ")");
}

std::optional<std::vector<OutputRef>> SolveRun::LookupOutputs(
    const Vertex& vertex, const Digest& key) {
  auto hit = solver_.Lookup(key, &holds_);
  // A record that does not give every output of the op (only an imported
  // one could, and those are checked) is no answer: run the op again.
  if (hit.has_value() &&
      hit->size() != static_cast<size_t>(vertex.num_outputs)) {
    solver_.index().Remove(key).IgnoreError();
    return std::nullopt;
  }
  return hit;
}

Status SolveRun::ProcessOp(int v, const OpEnv& env, bool* cached,
                           bool* has_slot) {
  const Vertex& vertex = graph_.vertex(v);
  State& state = *states_[static_cast<size_t>(v)];
  std::vector<OutputRef> inputs;
  InputDigests digests;
  for (const VertexInput& in : vertex.inputs) {
    inputs.push_back(states_[static_cast<size_t>(in.vertex)]
                         ->outputs[static_cast<size_t>(in.output)]);
    digests.push_back([this, vi = in.vertex] { return KeyOf(vi); });
  }

  if (vertex.op.has_source()) {
    SourceEnv senv;
    senv.op = &env;
    senv.images = solver_.options().images;
    senv.registry = solver_.options().registry;
    senv.index = &solver_.index();
    senv.checksums = &solver_.local_checksums();
    senv.AcquireTree = [this](const std::string& base) {
      std::string tree = solver_.AcquireLocalTree(base);
      std::lock_guard<std::mutex> lock(trees_mu_);
      leased_trees_.push_back(tree);
      return tree;
    };
    senv.Lookup = [this](const Digest& key) -> std::optional<std::string> {
      auto hit = solver_.Lookup(key, &holds_);
      if (!hit.has_value() || hit->size() != 1) return std::nullopt;
      return (*hit)[0].snapshot;
    };
    // Held against GC (solver_gc_guard.h): an image's layer snapshots are
    // found and held in one shared section; other sources' snapshots are
    // held afterwards, and made again if GC removed them meanwhile.
    const std::string& id = vertex.op.source().identifier();
    const bool image =
        id.starts_with("docker-image://") || id.starts_with("oci-layout://");
    SourceOutcome outcome;
    for (int attempt = 0;; ++attempt) {
      std::shared_lock<std::shared_mutex> section(solver_.gc().lock(),
                                                  std::defer_lock);
      if (image) section.lock();
      KILN_ASSIGN_OR_RETURN(outcome, RunSourceOp(senv));
      const std::string& made = outcome.output.snapshot;
      if (made.empty()) break;
      if (image) {
        holds_.Add(made);
        break;
      }
      Status held = solver_.HoldExisting(holds_, made);
      if (held.ok()) break;
      if (held.code() != StatusCode::kNotFound || attempt >= 2) return held;
    }
    state.key = outcome.key;
    state.lazy_key = std::move(outcome.lazy_key);
    state.outputs = {outcome.output};
    *cached = outcome.cached;
    if (!outcome.output.snapshot.empty()) {
      solver_.Describe(outcome.output.snapshot, vertex.name);
    }
    return Status::Ok();
  }
  if (vertex.op.has_build()) {
    return UnimplementedError(
        "build ops (nested definitions) are not supported");
  }

  std::vector<Digest> keys;
  std::vector<Digest> sums(vertex.inputs.size());
  for (size_t i = 0; i < vertex.inputs.size(); ++i) {
    std::optional<std::vector<ChecksumRequest>> reads;
    if (vertex.op.has_file()) {
      reads = FileOpReads(vertex.op.file(), static_cast<int>(i));
    } else if (vertex.op.has_exec()) {
      reads = ExecReads(vertex.op.exec(), static_cast<int>(i));
    }
    if (reads.has_value()) {
      KILN_ASSIGN_OR_RETURN(sums[i], InputChecksum(inputs[i], *reads));
      keys.emplace_back();
      continue;
    }
    KILN_ASSIGN_OR_RETURN(Digest k, KeyOf(vertex.inputs[i].vertex));
    keys.push_back(k);
  }
  const Digest key = VertexCacheKey(vertex, keys, sums);
  state.key = key;

  if (vertex.op.has_passthrough()) {
    for (int64_t index : vertex.op.passthrough().outputs()) {
      state.outputs.push_back(inputs[static_cast<size_t>(index)]);
    }
    return Status::Ok();
  }
  if (!vertex.ignore_cache()) {
    if (auto hit = LookupOutputs(vertex, key); hit.has_value()) {
      state.outputs = std::move(*hit);
      *cached = true;
      return Status::Ok();
    }
    if (auto hit = ImportedHit(solver_, env, key, holds_); hit.has_value()) {
      state.outputs = std::move(*hit);
      *cached = true;
      return Status::Ok();
    }
  }
  return RunOrWait(v, env, key, digests, cached, has_slot);
}

Status SolveRun::RunOrWait(int v, const OpEnv& env, const Digest& key,
                           const InputDigests& digests, bool* cached,
                           bool* has_slot) {
  const Vertex& vertex = graph_.vertex(v);
  State& state = *states_[static_cast<size_t>(v)];
  for (;;) {
    auto [entry, owner] = solver_.BeginRun(key);
    if (owner) {
      // Another solve may have finished this key between our lookup and
      // BeginRun: look again before running it.
      if (!vertex.ignore_cache()) {
        if (auto hit = LookupOutputs(vertex, key); hit.has_value()) {
          solver_.FinishRun(key, entry, Status::Ok(), *hit);
          state.outputs = std::move(*hit);
          *cached = true;
          return Status::Ok();
        }
      }
      return RunOwned(v, env, key, digests, entry);
    }
    // Another solve runs the same vertex: wait for it without a slot.
    solver_.ReleaseSlot();
    *has_slot = false;
    std::unique_lock<std::mutex> lock(entry->mu);
    while (!entry->done && !env.stop.stop_requested()) {
      entry->cv.wait_for(lock, std::chrono::milliseconds(50));
    }
    const bool done = entry->done;
    const bool ok = entry->status.ok();
    std::vector<OutputRef> outputs = entry->outputs;
    lock.unlock();
    *has_slot = solver_.AcquireSlot(env.stop);
    if (!*has_slot || !done || env.stop.stop_requested()) {
      return CancelledError("build cancelled");
    }
    // The other solve's outputs, held for us unless GC took them after
    // that solve ended (then we run the vertex ourselves).
    bool held = ok;
    for (const OutputRef& out : outputs) {
      if (held && !out.snapshot.empty()) {
        held = solver_.HoldExisting(holds_, out.snapshot).ok();
      }
    }
    if (held) {
      state.outputs = std::move(outputs);
      *cached = true;
      return Status::Ok();
    }
    // The other run failed: its secrets, entitlements or cancellation are
    // not ours, so run (or wait for) the vertex again ourselves.
  }
}

Status SolveRun::RunOwned(int v, const OpEnv& env, const Digest& key,
                          const InputDigests& digests,
                          const std::shared_ptr<InFlight>& entry) {
  const Vertex& vertex = graph_.vertex(v);
  State& state = *states_[static_cast<size_t>(v)];
  std::vector<OutputRef> in_refs;
  for (const VertexInput& in : vertex.inputs) {
    in_refs.push_back(states_[static_cast<size_t>(in.vertex)]
                          ->outputs[static_cast<size_t>(in.output)]);
  }
  std::span<const OutputRef> inputs = in_refs;
  Result<std::vector<OutputRef>> ran = InternalError("unknown op type");
  if (vertex.op.has_exec()) {
    ran = RunExecOp(env, key, inputs, digests);
  } else if (vertex.op.has_file()) {
    ran = RunFileOp(env, key, inputs, digests);
  } else if (vertex.op.has_merge()) {
    ran = RunMergeOp(env, key, inputs, digests);
  } else if (vertex.op.has_diff()) {
    ran = RunDiffOp(env, key, inputs);
  }
  Status status = ran.status();
  if (ran.ok()) {
    std::vector<std::string> names;
    for (const OutputRef& out : *ran) {
      names.push_back(out.snapshot);
      if (!out.snapshot.empty()) solver_.Describe(out.snapshot, vertex.name);
      // Held before it is recorded: GC never removes an unrecorded output.
      if (status.ok() && !out.snapshot.empty()) {
        status = solver_.HoldExisting(holds_, out.snapshot);
      }
    }
    if (status.ok()) status = solver_.index().Record(key, names, vertex.name);
  }
  solver_.FinishRun(key, entry, status,
                    ran.ok() ? *ran : std::vector<OutputRef>{});
  if (!status.ok()) return status;
  state.outputs = std::move(*ran);
  return Status::Ok();
}

Result<Digest> SolveRun::KeyOf(int v) {
  State& state = *states_[static_cast<size_t>(v)];
  std::lock_guard<std::mutex> lock(state.key_mu);
  if (!state.key.valid() && state.lazy_key) {
    KILN_ASSIGN_OR_RETURN(state.key, state.lazy_key());
  }
  if (!state.key.valid()) return InternalError("vertex key not computed");
  return state.key;
}

Result<Digest> SolveRun::InputChecksum(
    const OutputRef& ref, const std::vector<ChecksumRequest>& reads) {
  std::string combined;
  std::unique_ptr<ReadView> view;
  // The directory to read `ref` from, mounted on first use.
  auto root = [&]() -> Result<std::string> {
    if (!ref.dir.empty()) return ref.dir;
    if (view == nullptr) {
      KILN_ASSIGN_OR_RETURN(view, ReadView::Open(*solver_.options().snapshots,
                                                 ref, solver_.dirs().mounts));
    }
    return view->path();
  };
  // One path of the input: local trees through the engine's incremental
  // checksummer, snapshots memoized in the index (they never change).
  auto checksum = [&](const std::string& path, const ChecksumOptions& options,
                      const std::string& spec) -> Result<Digest> {
    if (!ref.dir.empty()) {
      return solver_.local_checksums().Checksum(ref.dir, path, options);
    }
    auto memo = solver_.index().GetChecksum(ref.snapshot, spec);
    if (memo.ok() && memo->has_value()) return **memo;
    KILN_ASSIGN_OR_RETURN(std::string dir, root());
    ContentChecksummer once;
    KILN_ASSIGN_OR_RETURN(Digest sum, once.Checksum(dir, path, options));
    solver_.index().PutChecksum(ref.snapshot, spec, sum).IgnoreError();
    return sum;
  };
  for (const ChecksumRequest& req : reads) {
    // Versioned: memos of an older content-hash definition never answer.
    std::string spec = std::string("v2\n") + req.path + "\n" +
                       (req.options.follow_links ? "follow" : "nofollow");
    for (const auto& p : req.options.include_patterns) spec += "\n+" + p;
    for (const auto& p : req.options.exclude_patterns) spec += "\n-" + p;
    if (ref.empty()) {
      if (req.allow_empty) {
        combined += spec + "\nempty\n";
        continue;
      }
      return NotFoundError(req.path + ": not found (the input is empty)");
    }
    if (req.wildcard.empty()) {
      KILN_ASSIGN_OR_RETURN(Digest sum, checksum(req.path, req.options, spec));
      combined += spec + "\n" + sum.str() + "\n";
      continue;
    }
    // A wildcard: what it matches now, each match as the copy reads it.
    KILN_ASSIGN_OR_RETURN(std::string dir, root());
    KILN_ASSIGN_OR_RETURN(
        std::vector<std::string> matches,
        ExpandWildcards(dir, req.wildcard, req.follow_matches));
    if (matches.empty() && !req.allow_empty) {
      return NotFoundError(req.wildcard + ": no source files were specified");
    }
    combined += spec + "\nwildcard " + req.wildcard + "\n";
    ChecksumOptions options = req.options;
    options.follow_links = req.follow_matches;
    for (const std::string& match : matches) {
      std::string match_spec =
          spec + "\nmatch " + match + (req.follow_matches ? " follow" : "");
      KILN_ASSIGN_OR_RETURN(Digest sum, checksum(match, options, match_spec));
      combined += match + " " + sum.str() + "\n";
    }
  }
  return Digest::FromBytes(combined);
}

}  // namespace

Result<SolveResult> RunSolve(SolverImpl& solver, const Graph& graph,
                             const SolveRequest& request,
                             std::stop_token stop) {
  if (graph.size() == 0) return InvalidArgumentError("empty graph");
  SolveRun run(solver, graph, request, std::move(stop));
  Result<SolveResult> result = run.Run();
  // While the solve still holds what it used (its result included).
  if (result.ok()) solver.AfterSolve(run.holds());
  return result;
}

}  // namespace kiln::solver::internal
