// Builds a Client over an existing gRPC channel: for tests and for tools that
// reach the bridge some other way than a file descriptor. The only SDK header
// that exposes gRPC types.
#ifndef KILN_SDK_CLIENT_GRPC_H_
#define KILN_SDK_CLIENT_GRPC_H_

#include <grpcpp/channel.h>

#include <memory>

#include "kiln/sdk/client.h"

namespace kiln::sdk {

// A Client sharing `channel` (must not be null).
std::unique_ptr<Client> ClientFromChannel(
    std::shared_ptr<grpc::Channel> channel);

}  // namespace kiln::sdk

#endif  // KILN_SDK_CLIENT_GRPC_H_
