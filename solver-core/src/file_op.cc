// ApplyFileOp: runs a FileOp's action graph (see file_op.h).
#include "kiln/solver/file_op.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::solver {
namespace {

void AddOwnerDeps(const pb::ChownOpt& owner, std::vector<int64_t>* deps) {
  if (owner.user().has_byname()) deps->push_back(owner.user().byname().input());
  if (owner.group().has_byname()) {
    deps->push_back(owner.group().byname().input());
  }
}

// The indices (FileAction scheme) an action reads.
std::vector<int64_t> Deps(const pb::FileAction& action) {
  std::vector<int64_t> deps = {action.input()};
  switch (action.action_case()) {
    case pb::FileAction::kCopy:
      deps.push_back(action.secondaryinput());
      if (action.copy().has_owner()) AddOwnerDeps(action.copy().owner(), &deps);
      break;
    case pb::FileAction::kMkfile:
      if (action.mkfile().has_owner()) {
        AddOwnerDeps(action.mkfile().owner(), &deps);
      }
      break;
    case pb::FileAction::kMkdir:
      if (action.mkdir().has_owner())
        AddOwnerDeps(action.mkdir().owner(), &deps);
      break;
    case pb::FileAction::kSymlink:
      if (action.symlink().has_owner()) {
        AddOwnerDeps(action.symlink().owner(), &deps);
      }
      break;
    case pb::FileAction::kRm:
    case pb::FileAction::ACTION_NOT_SET:
      break;
  }
  return deps;
}

class Runner {
 public:
  Runner(const pb::FileOp& op, const std::vector<std::string>& inputs)
      : op_(op),
        inputs_(inputs),
        n_(static_cast<int64_t>(inputs.size())),
        state_(op.actions_size(), 0),
        order_() {}

  // Depth-first visit of action `j` and what it reads; appends to order_.
  Status Visit(int64_t j) {
    if (state_[j] == 2) return Status::Ok();
    if (state_[j] == 1) {
      return InvalidArgumentError("file action " + std::to_string(j) +
                                  ": cycle in the action graph");
    }
    state_[j] = 1;
    for (int64_t dep : Deps(op_.actions(static_cast<int>(j)))) {
      if (dep < -1 || dep >= n_ + op_.actions_size()) {
        return InvalidArgumentError("file action " + std::to_string(j) +
                                    ": input index " + std::to_string(dep) +
                                    " out of range");
      }
      if (dep >= n_) KILN_RETURN_IF_ERROR(Visit(dep - n_));
    }
    state_[j] = 2;
    order_.push_back(j);
    return Status::Ok();
  }

  // The directory of index `i` ("" = empty filesystem); dependencies ran.
  std::string Dir(int64_t i) const {
    if (i < 0) return "";
    if (i < n_) return inputs_[static_cast<size_t>(i)];
    return results_.at(static_cast<size_t>(i - n_));
  }

  Status Run(const PrepareActionDir& prepare) {
    results_.assign(static_cast<size_t>(op_.actions_size()), "");
    for (int64_t j : order_) {
      const auto& action = op_.actions(static_cast<int>(j));
      const std::string context = "file action " + std::to_string(j);
      std::string base = Dir(action.input());
      std::optional<std::string> base_opt;
      if (!base.empty()) base_opt = base;
      auto dest = prepare(static_cast<size_t>(j), base_opt);
      if (!dest.ok()) return dest.status().WithContext(context);
      FileActionDirs dirs;
      dirs.dest = *dest;
      if (action.has_copy()) dirs.source = Dir(action.secondaryinput());
      dirs.input_dir = [this](int64_t i) -> Result<std::string> {
        if (i < 0 || i >= n_ + op_.actions_size()) {
          return InvalidArgumentError("input index " + std::to_string(i) +
                                      " out of range");
        }
        return Dir(i);
      };
      KILN_RETURN_IF_ERROR(ApplyFileAction(action, dirs).WithContext(context));
      results_[static_cast<size_t>(j)] = *dest;
    }
    return Status::Ok();
  }

  const std::vector<int64_t>& order() const { return order_; }
  std::vector<std::string>& results() { return results_; }

 private:
  const pb::FileOp& op_;
  const std::vector<std::string>& inputs_;
  const int64_t n_;
  std::vector<int> state_;
  std::vector<int64_t> order_;
  std::vector<std::string> results_;
};

}  // namespace

Result<std::vector<std::string>> ApplyFileOp(
    const pb::FileOp& op, const std::vector<std::string>& inputs,
    const PrepareActionDir& prepare) {
  // Output slots: exactly 0..m-1, each once.
  std::vector<int64_t> slot_action;
  for (int j = 0; j < op.actions_size(); ++j) {
    const int64_t slot = op.actions(j).output();
    if (slot == -1) continue;
    if (slot < 0 || slot >= op.actions_size()) {
      return InvalidArgumentError("file action " + std::to_string(j) +
                                  ": invalid output slot " +
                                  std::to_string(slot));
    }
    if (slot_action.size() <= static_cast<size_t>(slot)) {
      slot_action.resize(static_cast<size_t>(slot) + 1, -1);
    }
    if (slot_action[static_cast<size_t>(slot)] != -1) {
      return InvalidArgumentError("file action " + std::to_string(j) +
                                  ": duplicate output slot " +
                                  std::to_string(slot));
    }
    slot_action[static_cast<size_t>(slot)] = j;
  }
  for (size_t k = 0; k < slot_action.size(); ++k) {
    if (slot_action[k] == -1) {
      return InvalidArgumentError("file op: no action for output slot " +
                                  std::to_string(k));
    }
  }
  Runner runner(op, inputs);
  for (int64_t j : slot_action) KILN_RETURN_IF_ERROR(runner.Visit(j));
  KILN_RETURN_IF_ERROR(runner.Run(prepare));
  std::vector<std::string> outputs;
  for (int64_t j : slot_action) {
    outputs.push_back(runner.results()[static_cast<size_t>(j)]);
  }
  return outputs;
}

}  // namespace kiln::solver
