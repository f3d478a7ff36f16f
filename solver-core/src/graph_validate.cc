// Per-op structural checks of BuildGraph: index ranges inside an op body and
// output numbering (reference/llb.md §6), and metadata caps (§9).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "graph_internal.h"
#include "kiln/llb/definition.h"

namespace kiln::solver::internal {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

Status Invalid(const LabelFn& label, const std::string& reason) {
  return InvalidArgumentError(label() + ": " + reason);
}

// A mount, merge, diff, build or passthrough index into Op.inputs. `what()`
// names the field; it is only called on error.
template <typename What>
Status CheckInputIndex(int64_t index, int64_t min, int inputs,
                       const LabelFn& label, const What& what) {
  if (index >= min && index < inputs) return Status::Ok();
  return Invalid(label, what() + " has input index " + Str(index) +
                            " out of range (the op has " + Str(inputs) +
                            " inputs)");
}

Result<int> ValidateExec(const pb::Op& op, const LabelFn& label) {
  const pb::ExecOp& exec = op.exec();
  if (exec.meta().args_size() == 0)
    return Invalid(label, "exec has no args (meta.args is empty)");
  const pb::Mount* root = nullptr;
  int outputs = 0;
  for (int i = 0; i < exec.mounts_size(); ++i) {
    const pb::Mount& m = exec.mounts(i);
    auto what = [&] {
      return "mount " + Str(i) + " (dest \"" + m.dest() + "\")";
    };
    if (m.dest() == "/" && root == nullptr) root = &m;
    // Only bind and cache mounts read an input or produce an output; the
    // engine ignores both fields of secret, ssh and tmpfs mounts (which
    // gogo-era clients leave at 0).
    const bool bind = m.mounttype() == pb::BIND;
    if (!bind && m.mounttype() != pb::CACHE) continue;
    KILN_RETURN_IF_ERROR(
        CheckInputIndex(m.input(), -1, op.inputs_size(), label, what));
    if (m.output() == -1 || (!bind && m.input() == -1)) continue;
    if (m.output() != outputs) {
      return Invalid(label, what() + " has output index " + Str(m.output()) +
                                " out of range: expected " + Str(outputs) +
                                " (exec outputs are numbered 0, 1, 2… in mount "
                                "order, -1 = none)");
    }
    ++outputs;
  }
  if (root == nullptr)
    return Invalid(label, "exec has no root mount (no mount has dest \"/\")");
  if (root->mounttype() != pb::BIND) {
    return Invalid(label, "exec root mount is not a bind mount (mount type " +
                              Str(root->mounttype()) + ")");
  }
  return outputs;
}

// FileAction index scheme (§6.2): -1 scratch, < n an op input, n + j the
// result of action j.
template <typename What>
Status CheckFileRef(int64_t ref, int inputs, int actions, const LabelFn& label,
                    const What& what) {
  if (ref >= -1 && ref < inputs + actions) return Status::Ok();
  return Invalid(label, what() + " " + Str(ref) +
                            " is out of range (the op has " + Str(inputs) +
                            " inputs and " + Str(actions) +
                            " actions: valid are -1, 0.." +
                            Str(inputs + actions - 1) + ")");
}

void AddOwnerRefs(const pb::ChownOpt& owner,
                  std::vector<std::pair<int64_t, const char*>>* refs) {
  if (owner.user().has_byname())
    refs->emplace_back(owner.user().byname().input(), "owner user input");
  if (owner.group().has_byname()) {
    refs->emplace_back(owner.group().byname().input(), "owner group input");
  }
}

std::vector<std::pair<int64_t, const char*>> ActionRefs(
    const pb::FileAction& a) {
  std::vector<std::pair<int64_t, const char*>> refs = {
      {a.input(), "input"}, {a.secondaryinput(), "secondaryInput"}};
  switch (a.action_case()) {
    case pb::FileAction::kCopy:
      AddOwnerRefs(a.copy().owner(), &refs);
      break;
    case pb::FileAction::kMkfile:
      AddOwnerRefs(a.mkfile().owner(), &refs);
      break;
    case pb::FileAction::kMkdir:
      AddOwnerRefs(a.mkdir().owner(), &refs);
      break;
    case pb::FileAction::kSymlink:
      AddOwnerRefs(a.symlink().owner(), &refs);
      break;
    case pb::FileAction::kRm:
    case pb::FileAction::ACTION_NOT_SET:
      break;
  }
  return refs;
}

Result<int> ValidateFile(const pb::Op& op, const LabelFn& label) {
  const pb::FileOp& file = op.file();
  const int n = op.inputs_size();
  const int m = file.actions_size();
  std::vector<std::vector<int>> deps(static_cast<size_t>(m));
  std::vector<int> output_owner;  // output slot -> action
  for (int i = 0; i < m; ++i) {
    const pb::FileAction& a = file.actions(i);
    auto what = [i] { return "file action " + Str(i); };
    if (a.action_case() == pb::FileAction::ACTION_NOT_SET) {
      return Invalid(label,
                     what() + " has no action body (unknown action type)");
    }
    for (const auto& [ref, field] : ActionRefs(a)) {
      KILN_RETURN_IF_ERROR(
          CheckFileRef(ref, n, m, label, [&] { return what() + " " + field; }));
      if (ref >= n)
        deps[static_cast<size_t>(i)].push_back(static_cast<int>(ref - n));
    }
    if (a.output() == -1) continue;
    if (a.output() < -1 || a.output() >= m) {
      return Invalid(
          label,
          what() + " has output index " + Str(a.output()) +
              " out of range (outputs are -1 or 0..number of actions - 1)");
    }
    auto slot = static_cast<size_t>(a.output());
    if (output_owner.size() <= slot) output_owner.resize(slot + 1, -1);
    if (output_owner[slot] != -1) {
      return Invalid(label, "file actions " + Str(output_owner[slot]) +
                                " and " + Str(i) + " both have output index " +
                                Str(a.output()));
    }
    output_owner[slot] = i;
  }
  for (size_t slot = 0; slot < output_owner.size(); ++slot) {
    if (output_owner[slot] == -1) {
      return Invalid(
          label, "file op outputs skip index " +
                     Str(static_cast<int64_t>(slot)) +
                     " (action outputs must be numbered 0.." +
                     Str(static_cast<int64_t>(output_owner.size()) - 1) + ")");
    }
  }
  std::vector<int> all(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) all[static_cast<size_t>(i)] = i;
  NodeOrder order = OrderNodes(deps, all);
  if (!order.cycle.empty()) {
    std::string path;
    for (int a : order.cycle)
      path += (path.empty() ? "action " : " -> action ") + Str(a);
    return Invalid(label, "file actions form a cycle: " + path);
  }
  return static_cast<int>(output_owner.size());
}

Result<int> ValidateOther(const pb::Op& op, const LabelFn& label) {
  const int n = op.inputs_size();
  switch (op.op_case()) {
    case pb::Op::kSource:
      if (op.source().identifier().empty())
        return Invalid(label, "source has an empty identifier");
      return 1;
    case pb::Op::kMerge:
      for (int i = 0; i < op.merge().inputs_size(); ++i) {
        KILN_RETURN_IF_ERROR(
            CheckInputIndex(op.merge().inputs(i).input(), 0, n, label,
                            [i] { return "merge input " + Str(i); }));
      }
      return 1;
    case pb::Op::kDiff:
      KILN_RETURN_IF_ERROR(
          CheckInputIndex(op.diff().lower().input(), -1, n, label,
                          [] { return std::string("diff lower"); }));
      KILN_RETURN_IF_ERROR(
          CheckInputIndex(op.diff().upper().input(), -1, n, label,
                          [] { return std::string("diff upper"); }));
      return 1;
    case pb::Op::kBuild:
      if (op.build().builder() != -1) {
        return Invalid(label, "build op has builder " +
                                  Str(op.build().builder()) +
                                  " (only -1, the llb builder, is supported)");
      }
      for (const auto& [name, in] : op.build().inputs()) {
        KILN_RETURN_IF_ERROR(CheckInputIndex(in.input(), 0, n, label, [&] {
          return "build input \"" + name + "\"";
        }));
      }
      return 1;
    case pb::Op::kPassthrough:
      if (op.passthrough().id().empty())
        return Invalid(label, "passthrough op has no id");
      if (op.passthrough().outputs_size() == 0) {
        return Invalid(label, "passthrough op has no outputs");
      }
      for (int i = 0; i < op.passthrough().outputs_size(); ++i) {
        KILN_RETURN_IF_ERROR(
            CheckInputIndex(op.passthrough().outputs(i), 0, n, label,
                            [i] { return "passthrough output " + Str(i); }));
      }
      return op.passthrough().outputs_size();
    default:
      break;
  }
  return Invalid(
      label,
      "unknown op type (the op has no exec, source, file, build, merge, diff "
      "or passthrough body; only the last op of a definition may have none)");
}

}  // namespace

std::string OpLabel(const Digest& digest, const pb::Op& op,
                    const pb::OpMetadata* metadata, bool is_terminal) {
  std::string_view kind = llb::OpKind(op);
  if (op.op_case() == pb::Op::OP_NOT_SET && !is_terminal) kind = "unknown";
  std::string label = "op " + digest.str() + " (" + std::string(kind);
  if (metadata != nullptr) {
    auto it = metadata->description().find("llb.customname");
    if (it != metadata->description().end()) label += " \"" + it->second + "\"";
  }
  return label + ")";
}

Result<int> ValidateOpBody(const pb::Op& op, const LabelFn& label) {
  switch (op.op_case()) {
    case pb::Op::kExec:
      return ValidateExec(op, label);
    case pb::Op::kFile:
      return ValidateFile(op, label);
    default:
      return ValidateOther(op, label);
  }
}

Status ValidateCaps(const pb::OpMetadata* metadata,
                    const llb::caps::CapSet& engine_caps,
                    const LabelFn& label) {
  if (metadata == nullptr) return Status::Ok();
  auto bad = [&](const std::string& cap) {
    return !llb::caps::AllLlbCaps().contains(cap) || !engine_caps.contains(cap);
  };
  bool any_bad = false;
  for (const auto& [cap, unused] : metadata->caps())
    any_bad = any_bad || bad(cap);
  if (!any_bad) return Status::Ok();
  // Sorted, so that the error names the same cap on every run.
  std::vector<std::string> caps;
  for (const auto& [cap, unused] : metadata->caps()) caps.push_back(cap);
  std::sort(caps.begin(), caps.end());
  for (const std::string& cap : caps) {
    if (!llb::caps::AllLlbCaps().contains(cap)) {
      return Invalid(label,
                     "unknown capability \"" + cap + "\" in op metadata");
    }
    if (!engine_caps.contains(cap)) {
      return Invalid(
          label, "capability \"" + cap + "\" is not supported by this engine");
    }
  }
  return Status::Ok();
}

}  // namespace kiln::solver::internal
