// Conversions between kiln Status and grpc::Status (codes are numerically
// equal, status.h). Private to the gateway.
#ifndef KILN_GATEWAY_GRPC_STATUS_H_
#define KILN_GATEWAY_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "kiln/llb/status.h"

namespace kiln::gateway {

// A source location of `status` (e.g. a nested frontend's Dockerfile error)
// travels in the message as "file:line:col: ", so that the calling frontend
// and its user still see where the error is.
inline grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message;
  if (!status.ranges().empty()) {
    const SourceRange& r = status.ranges().front();
    message.append(r.file).append(":").append(std::to_string(r.line));
    if (r.column > 0) message.append(":").append(std::to_string(r.column));
    message.append(": ");
  }
  message.append(status.message());
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

inline grpc::Status Unimplemented(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      what + " is not supported by kiln yet");
}

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_GRPC_STATUS_H_
