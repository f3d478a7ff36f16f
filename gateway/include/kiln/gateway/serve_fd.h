// Serving a gRPC service over one already-connected socket (the engine's end
// of the socketpair shared with a frontend process).
#ifndef KILN_GATEWAY_SERVE_FD_H_
#define KILN_GATEWAY_SERVE_FD_H_

#include <grpcpp/server.h>

#include <memory>

#include "kiln/llb/status.h"

namespace kiln::gateway {

// Builds and starts a gRPC server with no listening port that serves
// `service` (borrowed: must outlive the server) over the connected stream
// socket `fd`. Sets O_NONBLOCK on `fd` (the sync server never serves a
// blocking fd) and hands it to gRPC, which owns and closes it from then on,
// on success and on failure alike. The receive limit is raised to 64 MiB.
// grpc.health.v1.Health is served too, as upstream's bridge does.
// Errors: InvalidArgument for a negative fd or null service; Internal when
// fcntl fails or the server cannot start.
// Thread-safety: the returned server is thread-safe (gRPC's contract);
// Shutdown() it from a thread that is not running one of its handlers.
Result<std::unique_ptr<grpc::Server>> ServeOnFd(grpc::Service* service, int fd);

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_SERVE_FD_H_
