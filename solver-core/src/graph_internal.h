// Private helpers of BuildGraph (graph.cc): per-op validation and display
// names. Every function is pure and thread-compatible.
#ifndef KILN_SOLVER_SRC_GRAPH_INTERNAL_H_
#define KILN_SOLVER_SRC_GRAPH_INTERNAL_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/graph.h"
#include "solver/pb/ops.pb.h"

namespace kiln::solver::internal {

// Returns how an error names its op (OpLabel()); called only on error, so
// that valid graphs build no message strings.
using LabelFn = std::function<std::string()>;

// "op <digest> (<kind>)", or "op <digest> (<kind> "<llb.customname>")": how
// every graph error names its op. The kind of an op without a body is
// "terminal" for the terminal op and "unknown" for any other.
std::string OpLabel(const Digest& digest, const pb::Op& op,
                    const pb::OpMetadata* metadata, bool is_terminal = false);

// Checks the op body against its own inputs (everything that needs no other
// op) and returns its number of outputs. Errors are InvalidArgument and start
// with `label()`.
Result<int> ValidateOpBody(const pb::Op& op, const LabelFn& label);

// The metadata caps are all known to kiln and supported by `engine_caps`.
Status ValidateCaps(const pb::OpMetadata* metadata,
                    const llb::caps::CapSet& engine_caps, const LabelFn& label);

// The display name of `op` (see Vertex::name). `input_names[i]` is the name
// of the vertex op.inputs(i) names.
std::string VertexName(const pb::Op& op, const pb::OpMetadata* metadata,
                       const std::vector<const std::string*>& input_names);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_GRAPH_INTERNAL_H_
