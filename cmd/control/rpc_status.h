// Errors between kilnd and its clients: a kiln Status as a gRPC call status
// and back, keeping the source locations of a frontend's error (a
// Dockerfile line) as BuildKit does: the call's error details are a
// google.rpc.Status whose details are errdefs.Source+json payloads.
#ifndef KILN_CMD_CONTROL_RPC_STATUS_H_
#define KILN_CMD_CONTROL_RPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "kiln/llb/status.h"

namespace kiln::control {

// Same code and message; the ranges as error details. OK stays OK.
grpc::Status ToGrpcStatus(const Status& status);

// Same code and message, with the ranges of the error details (when they
// parse; otherwise the message alone). OK stays OK.
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace kiln::control

#endif  // KILN_CMD_CONTROL_RPC_STATUS_H_
