// Reading Definitions received from elsewhere (stdin, a frontend, a file):
// decoding, digesting and structural validation.
#ifndef KILN_LLB_DEFINITION_H_
#define KILN_LLB_DEFINITION_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln::llb {

// One entry of Definition.def, decoded.
struct LoadedOp {
  Digest digest;      // sha256 of `bytes`, the bytes as sent
  std::string bytes;  // the entry as sent
  pb::Op op;
};

// A decoded, validated Definition. Ops keep the order of `def`; duplicates
// (same digest) are kept once, at their first position, as the engine does.
struct LoadedDefinition {
  std::vector<LoadedOp> ops;
  pb::Definition definition;  // the original, for metadata and source maps

  // The terminal op (last entry). Precondition: !ops.empty().
  const LoadedOp& terminal() const { return ops.back(); }
  // Metadata for an op, or nullptr.
  const pb::OpMetadata* Metadata(const Digest& digest) const;
};

// Decodes serialized Definition bytes. InvalidArgument when the bytes are not
// a Definition (truncated, not protobuf).
Result<pb::Definition> ParseDefinition(std::string_view bytes);

// Decodes every op and checks the structure: at least one op; every entry
// decodes; every Input names an op present in the Definition with an index
// >= 0; the last entry is a terminal op (no op body, exactly one input).
// Errors are InvalidArgument and name the offending op's digest.
Result<LoadedDefinition> LoadDefinition(const pb::Definition& definition);

// A short name of what an op does ("exec", "source", "file", … or
// "terminal"), for messages and dumps.
std::string_view OpKind(const pb::Op& op);

}  // namespace kiln::llb

#endif  // KILN_LLB_DEFINITION_H_
