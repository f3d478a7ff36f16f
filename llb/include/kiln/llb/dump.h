// Human- and tool-readable renderings of a Definition, as `kiln debug
// dump-llb` prints them.
#ifndef KILN_LLB_DUMP_H_
#define KILN_LLB_DUMP_H_

#include <string>
#include <string_view>

#include "kiln/llb/definition.h"
#include "solver/pb/ops.pb.h"

namespace kiln::llb {

// Any LLB message as JSON the way Go's encoding/json renders BuildKit's
// gogo-generated structs (what `buildctl debug dump-llb` prints): keys are the
// proto field names, zero values omitted except for the fields upstream
// marks non-nullable (input/output indexes, digests, caps), oneofs as a
// wrapper object named after the oneof ("Op", "Action", "User"), enums as
// numbers, bytes as base64, and <, >, & escaped as \u003c, \u003e, \u0026.
std::string MessageToGoJson(const google::protobuf::Message& message);

// `s` as a JSON string literal, escaped as Go's encoding/json does (so
// hand-built JSON matches what BuildKit's Go code writes).
std::string GoJsonString(std::string_view s);

// One line of `dump-llb` for an op:
// {"Op":…,"Digest":"sha256:…","OpMetadata":…} (no newline). Missing metadata
// renders as upstream's zero value, {"caps":null}.
std::string DumpOpJson(const LoadedOp& op, const pb::OpMetadata* metadata);

// Every op of `def`, one JSON line each, in definition order.
std::string DumpJsonLines(const LoadedDefinition& def);

// A Graphviz digraph: one node per op (kind and name), edges from inputs to
// users labelled with the output index.
std::string DumpDot(const LoadedDefinition& def);

}  // namespace kiln::llb

#endif  // KILN_LLB_DUMP_H_
