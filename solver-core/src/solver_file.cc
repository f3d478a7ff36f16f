// FileOp on snapshots, and what file ops and execs read from their inputs
// for content-based cache keys (solver_internal.h).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "file_op_internal.h"
#include "kiln/solver/file_op.h"
#include "snapshot_base.h"
#include "solver_internal.h"

namespace kiln::solver::internal {
namespace {

// How often each action's result is used by later actions and outputs.
struct ActionUse {
  int as_base = 0;   // as another action's `input`
  int as_other = 0;  // as a secondaryInput or owner input, or as an output
};

// The FileAction indexes an action reads user and group names from.
std::vector<int64_t> OwnerInputs(const pb::FileAction& action) {
  const pb::ChownOpt* chown = nullptr;
  if (action.has_copy()) chown = &action.copy().owner();
  if (action.has_mkdir()) chown = &action.mkdir().owner();
  if (action.has_mkfile()) chown = &action.mkfile().owner();
  if (action.has_symlink()) chown = &action.symlink().owner();
  std::vector<int64_t> out;
  if (chown == nullptr) return out;
  if (chown->user().has_byname()) out.push_back(chown->user().byname().input());
  if (chown->group().has_byname()) {
    out.push_back(chown->group().byname().input());
  }
  return out;
}

std::vector<ActionUse> CountUses(const pb::FileOp& op, int num_inputs) {
  std::vector<ActionUse> uses(static_cast<size_t>(op.actions_size()));
  auto action_of = [&](int64_t index) -> ActionUse* {
    int64_t a = index - num_inputs;
    if (a < 0 || a >= op.actions_size()) return nullptr;
    return &uses[static_cast<size_t>(a)];
  };
  for (const pb::FileAction& action : op.actions()) {
    if (ActionUse* u = action_of(action.input())) ++u->as_base;
    if (ActionUse* u = action_of(action.secondaryinput())) ++u->as_other;
    for (int64_t in : OwnerInputs(action)) {
      if (ActionUse* u = action_of(in)) ++u->as_other;
    }
  }
  for (int i = 0; i < op.actions_size(); ++i) {
    if (op.actions(i).output() >= 0) ++uses[static_cast<size_t>(i)].as_other;
  }
  return uses;
}

bool UsesAsOwnerInput(const pb::FileAction& action, int input) {
  for (int64_t in : OwnerInputs(action)) {
    if (in == input) return true;
  }
  return false;
}

ChecksumRequest CopyRead(const pb::FileActionCopy& copy) {
  ChecksumRequest req;
  req.options.follow_links = copy.followsymlink();
  std::string src = copy.src();
  if (copy.allowwildcard() && HasMeta(src)) {
    req.wildcard = src;
    req.follow_matches = copy.followsymlink();
    req.allow_empty = copy.allowemptywildcard();
  }
  req.path = src;
  req.options.include_patterns.assign(copy.include_patterns().begin(),
                                      copy.include_patterns().end());
  req.options.exclude_patterns.assign(copy.exclude_patterns().begin(),
                                      copy.exclude_patterns().end());
  return req;
}

}  // namespace

std::optional<std::vector<ChecksumRequest>> FileOpReads(const pb::FileOp& op,
                                                        int input) {
  std::vector<ChecksumRequest> reads;
  for (const pb::FileAction& action : op.actions()) {
    if (action.input() == input || UsesAsOwnerInput(action, input)) {
      return std::nullopt;
    }
    if (action.has_copy() && action.secondaryinput() == input) {
      reads.push_back(CopyRead(action.copy()));
    }
  }
  if (reads.empty()) return std::nullopt;
  return reads;
}

std::optional<std::vector<ChecksumRequest>> ExecReads(const pb::ExecOp& op,
                                                      int input) {
  std::vector<ChecksumRequest> reads;
  for (const pb::Mount& m : op.mounts()) {
    if (m.input() != input) continue;
    // A read-only mount with an output passes the whole input on.
    if (m.mounttype() != pb::BIND || !m.readonly() || m.selector().empty() ||
        m.dest() == "/" || m.output() >= 0) {
      return std::nullopt;
    }
    ChecksumRequest req;
    req.path = m.selector();
    req.options.follow_links = true;
    reads.push_back(std::move(req));
  }
  if (reads.empty()) return std::nullopt;
  return reads;
}

Result<std::vector<OutputRef>> RunFileOp(const OpEnv& env, const Digest& key,
                                         std::span<const OutputRef> inputs,
                                         const InputDigests& digests) {
  const pb::FileOp& op = env.vertex->op.file();
  const int num_inputs = static_cast<int>(inputs.size());
  const std::vector<ActionUse> uses = CountUses(op, num_inputs);

  // Read-only views of the inputs, by the directory ApplyFileOp sees.
  std::vector<std::unique_ptr<ReadView>> views;
  std::vector<std::string> input_dirs;
  std::map<std::string, size_t> input_of_dir;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].empty()) {
      input_dirs.emplace_back();
      continue;
    }
    KILN_ASSIGN_OR_RETURN(
        std::unique_ptr<ReadView> view,
        ReadView::Open(*env.snapshots, inputs[i], env.dirs->mounts));
    input_dirs.push_back(view->path());
    input_of_dir.emplace(view->path(), i);
    views.push_back(std::move(view));
  }

  struct Work {
    std::unique_ptr<WorkSnapshot> snapshot;
    std::string parent;  // the snapshot it was prepared on
  };
  std::vector<std::unique_ptr<Work>> works;
  std::map<std::string, Work*> work_of_dir;
  auto prepare_on = [&](const std::string& parent) -> Result<Work*> {
    auto work = std::make_unique<Work>();
    KILN_ASSIGN_OR_RETURN(
        work->snapshot,
        WorkSnapshot::Prepare(*env.snapshots, parent, env.dirs->mounts));
    work->parent = parent;
    works.push_back(std::move(work));
    return works.back().get();
  };

  PrepareActionDir prepare =
      [&](size_t action,
          const std::optional<std::string>& base) -> Result<std::string> {
    Work* work = nullptr;
    if (!base.has_value() || base->empty()) {
      KILN_ASSIGN_OR_RETURN(work, prepare_on(""));
    } else if (auto in = input_of_dir.find(*base); in != input_of_dir.end()) {
      const OutputRef& ref = inputs[in->second];
      KILN_ASSIGN_OR_RETURN(std::string parent,
                            AsSnapshot(env, ref, digests[in->second]));
      KILN_ASSIGN_OR_RETURN(work, prepare_on(parent));
    } else if (auto w = work_of_dir.find(*base); w != work_of_dir.end()) {
      const pb::FileAction& act = op.actions(static_cast<int>(action));
      const int64_t prev = act.input() - num_inputs;
      if (prev >= 0 && uses[static_cast<size_t>(prev)].as_base == 1 &&
          uses[static_cast<size_t>(prev)].as_other == 0) {
        return *base;  // the only user of that result: work on it in place
      }
      // A result several actions build on: a copy of its own directory
      // (overlay: its changes, whiteouts included, on the same parent; copy
      // snapshotter: its whole tree) into a fresh, not yet mounted one.
      Work* from = w->second;
      const bool overlay = env.snapshots->kind() == SnapshotterKind::kOverlay;
      KILN_ASSIGN_OR_RETURN(work, prepare_on(overlay ? from->parent : ""));
      KILN_RETURN_IF_ERROR(
          CopyTree(from->snapshot->own_dir(), work->snapshot->own_dir()));
    } else {
      return InternalError("file op: unknown base directory " + *base);
    }
    KILN_ASSIGN_OR_RETURN(std::string path, work->snapshot->Path());
    work_of_dir[path] = work;
    return path;
  };

  KILN_ASSIGN_OR_RETURN(std::vector<std::string> out_dirs,
                        ApplyFileOp(op, input_dirs, prepare));
  std::vector<OutputRef> outputs(out_dirs.size());
  for (size_t slot = 0; slot < out_dirs.size(); ++slot) {
    auto w = work_of_dir.find(out_dirs[slot]);
    if (w == work_of_dir.end()) {
      return InternalError("file op: output " + std::to_string(slot) +
                           " is not a prepared directory");
    }
    std::string name = OutputSnapshotName(key, static_cast<int>(slot));
    KILN_RETURN_IF_ERROR(w->second->snapshot->Commit(name));
    outputs[slot].snapshot = std::move(name);
  }
  return outputs;
}

}  // namespace kiln::solver::internal
