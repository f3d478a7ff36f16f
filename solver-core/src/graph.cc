#include "kiln/solver/graph.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "graph_internal.h"

namespace kiln::solver {
namespace {

using internal::OpLabel;

std::string Str(int64_t v) { return std::to_string(v); }

const pb::OpMetadata* MetadataOf(const llb::LoadedDefinition& def,
                                 const llb::LoadedOp& op) {
  return def.Metadata(op.digest);
}

std::string Label(const llb::LoadedDefinition& def, const llb::LoadedOp& op) {
  return OpLabel(op.digest, op.op, MetadataOf(def, op), &op == &def.terminal());
}

// Resolves one Input of `op` to the index of an op of `def`.
Result<int> ResolveInput(const llb::LoadedDefinition& def,
                         const std::unordered_map<Digest, int>& by_digest,
                         const llb::LoadedOp& op, int input) {
  const pb::Input& in = op.op.inputs(input);
  std::string what = "input " + Str(input);
  auto digest = Digest::Parse(in.digest());
  if (!digest.ok()) {
    return InvalidArgumentError(
        Label(def, op) + ": " + what +
        " has an invalid digest: " + digest.status().message());
  }
  auto it = by_digest.find(*digest);
  if (it == by_digest.end()) {
    return InvalidArgumentError(Label(def, op) + ": " + what + " refers to " +
                                in.digest() +
                                ", which is not in the definition");
  }
  if (in.index() < 0) {
    return InvalidArgumentError(Label(def, op) + ": " + what +
                                " has output index " + Str(in.index()) +
                                " out of range (must be >= 0)");
  }
  return it->second;
}

// The ops reachable from `root` and their dependency lists (indexes into
// def.ops; unreachable ops keep an empty list).
Status CollectReachable(const llb::LoadedDefinition& def,
                        const std::unordered_map<Digest, int>& by_digest,
                        int root, std::vector<std::vector<int>>* deps) {
  std::vector<bool> seen(def.ops.size(), false);
  std::vector<int> queue = {root};
  seen[static_cast<size_t>(root)] = true;
  while (!queue.empty()) {
    int index = queue.back();
    queue.pop_back();
    const llb::LoadedOp& op = def.ops[static_cast<size_t>(index)];
    for (int i = 0; i < op.op.inputs_size(); ++i) {
      KILN_ASSIGN_OR_RETURN(int dep, ResolveInput(def, by_digest, op, i));
      (*deps)[static_cast<size_t>(index)].push_back(dep);
      if (!seen[static_cast<size_t>(dep)]) {
        seen[static_cast<size_t>(dep)] = true;
        queue.push_back(dep);
      }
    }
  }
  return Status::Ok();
}

Status CycleError(const llb::LoadedDefinition& def,
                  const std::vector<int>& cycle) {
  std::string path;
  for (int index : cycle) {
    path += (path.empty() ? "" : " -> ") +
            def.ops[static_cast<size_t>(index)].digest.str();
  }
  return InvalidArgumentError(
      Label(def, def.ops[static_cast<size_t>(cycle.front())]) +
      ": ops form a cycle: " + path);
}

}  // namespace

int Graph::Find(const Digest& digest) const {
  auto it = index_.find(digest);
  return it == index_.end() ? -1 : it->second;
}

Result<Graph> BuildGraph(const llb::LoadedDefinition& def,
                         const GraphOptions& options) {
  const llb::caps::CapSet& engine_caps = options.engine_caps != nullptr
                                             ? *options.engine_caps
                                             : llb::caps::AllLlbCaps();
  if (def.ops.empty())
    return InvalidArgumentError("empty definition: it holds no ops");
  const llb::LoadedOp& terminal = def.terminal();
  if (terminal.op.op_case() != pb::Op::OP_NOT_SET ||
      terminal.op.inputs_size() != 1) {
    return InvalidArgumentError(
        Label(def, terminal) +
        ": the last op of a definition must be a terminal op (no op "
        "body, exactly one input), found " +
        Str(terminal.op.inputs_size()) + " inputs");
  }
  KILN_RETURN_IF_ERROR(
      internal::ValidateCaps(MetadataOf(def, terminal), engine_caps,
                             [&] { return Label(def, terminal); }));

  std::unordered_map<Digest, int> by_digest;
  by_digest.reserve(def.ops.size());
  for (size_t i = 0; i < def.ops.size(); ++i) {
    by_digest.emplace(def.ops[i].digest, static_cast<int>(i));
  }
  const int terminal_index = by_digest.at(terminal.digest);
  KILN_ASSIGN_OR_RETURN(int root, ResolveInput(def, by_digest, terminal, 0));
  if (root == terminal_index) {
    return InvalidArgumentError(Label(def, terminal) +
                                ": the terminal op refers to itself");
  }
  std::vector<std::vector<int>> deps(def.ops.size());
  KILN_RETURN_IF_ERROR(CollectReachable(def, by_digest, root, &deps));
  internal::NodeOrder order = internal::OrderNodes(deps, {root});
  if (!order.cycle.empty()) return CycleError(def, order.cycle);

  Graph graph;
  graph.vertices_.reserve(order.order.size());
  graph.index_.reserve(order.order.size());
  std::vector<int> position(def.ops.size(),
                            -1);  // def.ops index -> vertex index
  for (int index : order.order) {
    const llb::LoadedOp& op = def.ops[static_cast<size_t>(index)];
    const pb::OpMetadata* metadata = MetadataOf(def, op);
    const internal::LabelFn label = [&] { return Label(def, op); };
    KILN_RETURN_IF_ERROR(internal::ValidateCaps(metadata, engine_caps, label));
    KILN_ASSIGN_OR_RETURN(int num_outputs,
                          internal::ValidateOpBody(op.op, label));

    Vertex v{.digest = op.digest,
             .op = op.op,
             .metadata = {},
             .inputs = {},
             .num_outputs = num_outputs,
             .name = {}};
    if (metadata != nullptr) v.metadata = *metadata;
    std::vector<const std::string*> input_names;
    for (int i = 0; i < op.op.inputs_size(); ++i) {
      const int dep = position[static_cast<size_t>(
          deps[static_cast<size_t>(index)][static_cast<size_t>(i)])];
      const Vertex& input = graph.vertices_[static_cast<size_t>(dep)];
      const int64_t output = op.op.inputs(i).index();
      if (output >= input.num_outputs) {
        return InvalidArgumentError(
            label() + ": input " + Str(i) + " refers to output " + Str(output) +
            " of " + OpLabel(input.digest, input.op, &input.metadata) +
            ", which has " + Str(input.num_outputs) + " outputs");
      }
      v.inputs.push_back({dep, static_cast<int>(output)});
      input_names.push_back(&input.name);
    }
    v.name = internal::VertexName(op.op, metadata, input_names);
    position[static_cast<size_t>(index)] = graph.size();
    graph.index_.emplace(op.digest, graph.size());
    graph.vertices_.push_back(std::move(v));
  }
  const int64_t result_output = terminal.op.inputs(0).index();
  const Vertex& result = graph.vertices_.back();
  if (result_output >= result.num_outputs) {
    return InvalidArgumentError(
        Label(def, terminal) + ": input 0 refers to output " +
        Str(result_output) + " of " +
        OpLabel(result.digest, result.op, &result.metadata) + ", which has " +
        Str(result.num_outputs) + " outputs");
  }
  graph.result_ = {graph.size() - 1, static_cast<int>(result_output)};
  if (const pb::OpMetadata* md = MetadataOf(def, terminal))
    graph.terminal_metadata_ = *md;
  return graph;
}

}  // namespace kiln::solver
