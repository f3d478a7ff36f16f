// Op encoding: the exact bytes an op is hashed from.
//
// An op's digest is sha256 of its marshaled bytes, so two encoders that order
// fields differently name the same op differently. See reference/llb.md §5.
#ifndef KILN_LLB_ENCODING_H_
#define KILN_LLB_ENCODING_H_

#include <string>

#include "kiln/llb/digest.h"
#include "solver/pb/ops.pb.h"

namespace kiln::llb {

// Both encodings are valid protobuf and decode to the same message; only the
// order of fields differs, hence the digest.
enum class OpEncoding {
  // protobuf-go deterministic encoding, as BuildKit's Go client has written
  // since v0.17: in pb.Op the `op` oneof member comes after fields 1, 10 and
  // 11. Engines >= v0.18 re-derive vertex digests this way, so this is the
  // default.
  kProtobufGo,
  // Strictly by field number, as gogo-era (<= v0.16) clients wrote.
  kFieldNumber,
};

// Deterministic bytes of any message: fields by number, map entries sorted by
// key, unknown fields last.
std::string SerializeDeterministic(const google::protobuf::Message& message);

// The bytes of `op` in the given encoding.
std::string MarshalOp(const pb::Op& op, OpEncoding encoding);
// Same, without copying the op: its oneof member is detached while the
// fields before it are written and put back before returning.
std::string MarshalOp(pb::Op* op, OpEncoding encoding);

}  // namespace kiln::llb

#endif  // KILN_LLB_ENCODING_H_
