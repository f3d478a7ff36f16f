// Conversions between kiln Status and the two wire forms of an error: a gRPC
// call status and a google.rpc.Status message (gateway.md §5).
#ifndef KILN_SDK_RPC_STATUS_H_
#define KILN_SDK_RPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string_view>

#include "google/rpc/status.pb.h"
#include "kiln/llb/status.h"

namespace kiln::sdk::internal {

// The type URL of BuildKit's source-location error detail.
inline constexpr std::string_view kSourceDetailType =
    "github.com/moby/buildkit/errdefs.Source+json";

// OK for an OK call; else the same code with "<rpc>: <server message>".
Status FromGrpcStatus(const grpc::Status& status, std::string_view rpc);

// Code and message of `status`, and one errdefs.Source+json detail per source
// range. `status` must not be OK.
google::rpc::Status ToRpcStatus(const Status& status);

}  // namespace kiln::sdk::internal

#endif  // KILN_SDK_RPC_STATUS_H_
