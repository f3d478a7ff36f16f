// Small gRPC helpers shared by both sides of a session. Private to
// kiln_session.
#ifndef KILN_SESSION_SRC_RPC_UTIL_H_
#define KILN_SESSION_SRC_RPC_UTIL_H_

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <map>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::session::internal {

// grpc::Status → kiln Status with `context` prepended.
Status FromGrpc(const grpc::Status& status, const std::string& context);
// kiln Status → grpc::Status.
grpc::Status ToGrpc(const Status& status);

// All values of metadata `key` sent by the client, decoded as BuildKit's
// filesync encodes non-ASCII values (url query escaping, flagged by
// "<key>-encoded: 1").
std::vector<std::string> MetadataValues(const grpc::ServerContext& context,
                                        const std::string& key);
// Adds `values` under `key`, encoding them as MetadataValues decodes.
void AddMetadata(grpc::ClientContext& context, const std::string& key,
                 const std::vector<std::string>& values);

// Sends all of `data` on the socket `fd` (no SIGPIPE); false when the
// socket fails first.
bool SendAll(int fd, std::string_view data);

// Sends the data of every message read from `stream` (a BytesMessage
// stream, either side) to the socket `fd`, until the stream ends or the
// socket fails.
template <class Stream, class Message>
void RelayStreamToSocket(Stream& stream, Message& m, int fd) {
  while (stream.Read(&m)) {
    if (!SendAll(fd, m.data())) break;
  }
}

// A random id of `n` characters from [a-z0-9] (BuildKit's identity.NewID
// alphabet).
std::string RandomId(size_t n = 25);

// Cancels `context` when `stop` fires, while alive.
class CancelOnStop {
 public:
  CancelOnStop(std::stop_token stop, grpc::ClientContext& context)
      : callback_(std::move(stop), [&context] { context.TryCancel(); }) {}

 private:
  std::stop_callback<std::function<void()>> callback_;
};

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_RPC_UTIL_H_
