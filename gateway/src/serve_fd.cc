#include "kiln/gateway/serve_fd.h"

#include <fcntl.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kiln::gateway {

Result<std::unique_ptr<grpc::Server>> ServeOnFd(grpc::Service* service,
                                                int fd) {
  if (fd < 0) return InvalidArgumentError("serve on fd: negative fd");
  if (service == nullptr) {
    close(fd);
    return InvalidArgumentError("serve on fd: no service");
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    std::string err = std::strerror(errno);
    close(fd);
    return InternalError("serve on fd " + std::to_string(fd) +
                         ": setting O_NONBLOCK: " + err);
  }
  // grpc.health.v1.Health on the same connection, as upstream serves it
  // (gateway.md §1); the flag is process-wide and read by BuildAndStart.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(64 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    close(fd);
    return InternalError("serve on fd " + std::to_string(fd) +
                         ": the grpc server did not start");
  }
  grpc::AddInsecureChannelFromFd(server.get(), fd);
  return server;
}

}  // namespace kiln::gateway
