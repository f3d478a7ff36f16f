// The error a frontend returns (ReturnRequest.error, a google.rpc.Status) as
// a kiln Status: the code (unknown codes become kUnknown), the message, and
// the source locations of its errdefs.Source details (gateway.md §5: JSON
// payloads {info:{filename,…}, ranges:[{start:{line,character},end:…}]}).
// Other details are ignored, as upstream receivers do; a malformed Source
// detail is ignored too (the message still says what failed).
#ifndef KILN_GATEWAY_RPC_ERROR_H_
#define KILN_GATEWAY_RPC_ERROR_H_

#include "google/rpc/status.pb.h"
#include "kiln/llb/status.h"

namespace kiln::gateway {

Status FromRpcStatus(const google::rpc::Status& status);

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_RPC_ERROR_H_
