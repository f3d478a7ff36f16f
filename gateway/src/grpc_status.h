// Conversions between kiln Status and grpc::Status (codes are numerically
// equal, status.h). Private to the gateway.
#ifndef KILN_GATEWAY_GRPC_STATUS_H_
#define KILN_GATEWAY_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "kiln/llb/status.h"

namespace kiln::gateway {

inline grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      status.message());
}

inline grpc::Status Unimplemented(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      what + " is not supported by kiln yet");
}

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_GRPC_STATUS_H_
