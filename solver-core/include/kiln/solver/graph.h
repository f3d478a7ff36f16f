// The solver's view of an LLB Definition: an immutable, validated DAG of
// vertices in topological order (BuildKit's solver.Vertex graph).
//
// BuildGraph() takes a Definition already decoded by llb::LoadDefinition()
// and keeps the ops reachable from the terminal op's input. Each vertex holds
// its op as sent, its metadata, its inputs resolved to (vertex index, output
// index) pairs, its number of outputs and a display name. Nothing here runs an
// op or reads a file; cache keys are in cache_key.h.
//
// Validation (every error is InvalidArgument, names the op's digest, its kind
// and its llb.customname when it has one, and says why):
//   - an input names an op that is not in the definition;
//   - the ops form a cycle (see internal::OrderNodes for why a Definition
//     cannot contain one: the check guards hand-made LoadedDefinitions);
//   - an op has no op body but is not the terminal op ("unknown op type",
//     also what a body from a newer protocol decodes as);
//   - an input asks for an output the referenced op does not have;
//   - metadata caps: a cap kiln does not know (not in llb::caps::AllLlbCaps),
//     or one the engine does not support (GraphOptions::engine_caps);
//   - exec: no meta args, no mount at "/", a root mount that is not a bind
//     mount, a bind or cache mount input index outside [-1, inputs), outputs
//     not numbered 0, 1, 2… in mount order (reference/llb.md §6.3; outputs
//     are bind mounts and cache mounts with an input whose output is not -1;
//     like the engine, the input and output of secret, ssh and tmpfs mounts
//     are ignored: gogo-era clients leave them at 0);
//   - file: an action without a body; action input, secondaryInput or owner
//     (NamedUserOpt) input outside [-1, inputs + actions); a cycle between
//     actions (an action reading its own result included); outputs that are
//     not exactly 0..m-1 (§6.2);
//   - merge, diff, build and passthrough: input indexes outside the op's
//     inputs, a build op whose builder is not -1, a passthrough op without
//     an id or outputs; a source with an empty identifier;
//   - the last op is not a terminal op (no body, one input) or names itself.
// Caps are checked for every reachable op and for the terminal op; ops that
// the terminal cannot reach are ignored, as BuildKit's loader does.
//
// Ownership and thread safety: a Graph is an immutable value; share it freely
// between threads (const access only).
#ifndef KILN_SOLVER_GRAPH_H_
#define KILN_SOLVER_GRAPH_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/llb/caps.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln::solver {

// One edge: output `output` of the vertex at index `vertex` of
// Graph::vertices().
struct VertexInput {
  int vertex = 0;
  int output = 0;

  friend bool operator==(const VertexInput&, const VertexInput&) = default;
};

// One op of the graph.
struct Vertex {
  Digest digest;            // sha256 of the op's bytes as sent
  pb::Op op;                // the decoded op, inputs as sent
  pb::OpMetadata metadata;  // empty when the definition has none
  // Parallel to op.inputs(): inputs[i] is what op.inputs(i) names. Every
  // vertex index is smaller than this vertex's own index.
  std::vector<VertexInput> inputs;
  int num_outputs =
      0;  // exec/file: counted as §6.2/6.3; passthrough: its outputs; else 1
  // llb.customname when set, else generated as BuildKit does: a source's
  // identifier, an exec's args joined by spaces, a file op's actions
  // ("mkdir /a, copy /src /dst"), `merge "a" + "b"`, `diff "a" -> "b"`
  // (scratch when an input is -1), "build", "passthrough <id>".
  std::string name;

  // OpMetadata.ignore_cache: never reuse a cached result of this vertex. It
  // is not part of the cache key.
  bool ignore_cache() const { return metadata.ignore_cache(); }
};

struct GraphOptions {
  // Caps the engine supports; nullptr means every cap kiln knows
  // (llb::caps::AllLlbCaps()). Not owned; must outlive BuildGraph().
  const llb::caps::CapSet* engine_caps = nullptr;
};

class Graph {
 public:
  // Topologically ordered: a vertex comes after every vertex it reads. The
  // last one is the result (the terminal op's input).
  const std::vector<Vertex>& vertices() const { return vertices_; }
  const Vertex& vertex(int index) const {
    return vertices_[static_cast<size_t>(index)];
  }
  int size() const { return static_cast<int>(vertices_.size()); }

  // What the definition evaluates to: the terminal op's input.
  VertexInput result() const { return result_; }
  // Metadata of the terminal op (its caps), empty when there is none.
  const pb::OpMetadata& terminal_metadata() const { return terminal_metadata_; }

  // Index of the vertex with this digest, or -1.
  int Find(const Digest& digest) const;

 private:
  friend Result<Graph> BuildGraph(const llb::LoadedDefinition&,
                                  const GraphOptions&);

  std::vector<Vertex> vertices_;
  std::unordered_map<Digest, int> index_;  // digest -> position in vertices_
  VertexInput result_;
  pb::OpMetadata terminal_metadata_;
};

// Builds and validates the DAG of `definition` (see the file comment for the
// checks). The returned graph copies what it needs; `definition` may go away.
Result<Graph> BuildGraph(const llb::LoadedDefinition& definition,
                         const GraphOptions& options = {});

namespace internal {

// The order of a dependency graph over nodes 0..deps.size()-1, where deps[i]
// lists the nodes node i reads (every entry must be in range).
struct NodeOrder {
  // The nodes reachable from the roots, each after all of its dependencies;
  // empty when `cycle` is not.
  std::vector<int> order;
  // A reachable cycle, if any, as the path n0 -> n1 -> … -> n0 (first node
  // repeated at the end; a self-loop is {n, n}).
  std::vector<int> cycle;
};

// Iterative depth-first search from `roots` (no recursion, so a chain of any
// length is fine). O(nodes + edges).
//
// BuildGraph uses it for ops and for the actions of each file op. For ops of
// a Definition decoded by llb::LoadDefinition a cycle cannot occur: an op's
// digest is the hash of bytes that contain its inputs' digests, so two ops
// naming each other would need a sha256 fixed point. File actions refer to
// each other by index and can form real cycles.
NodeOrder OrderNodes(const std::vector<std::vector<int>>& deps,
                     const std::vector<int>& roots);

}  // namespace internal
}  // namespace kiln::solver

#endif  // KILN_SOLVER_GRAPH_H_
