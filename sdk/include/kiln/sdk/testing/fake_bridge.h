// FakeBridge: an in-process LLBBridge server with canned answers, served on
// one end of a socketpair; the other end is handed to the SDK client under
// test, or to a frontend program as its stdin and stdout. Records every
// request it receives. For frontend authors' tests (docs/sdk.md §8) as for
// the SDK's own; like client_grpc.h it exposes gRPC types.
//
// Thread safety: the server answers on gRPC threads; set the canned answers
// before the client calls, read the recorded requests after the calls
// returned (or through Calls(), which locks).
#ifndef KILN_SDK_TESTING_FAKE_BRIDGE_H_
#define KILN_SDK_TESTING_FAKE_BRIDGE_H_

#include <fcntl.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "frontend/gateway/pb/gateway.grpc.pb.h"

namespace kiln::sdk::testing {

namespace gw = moby::buildkit::v1::frontend;

class FakeBridge : public gw::LLBBridge::Service {
 public:
  // Canned answers (set before the client calls).
  gw::PongResponse pong;
  gw::ResolveImageConfigResponse image_config;
  gw::SolveResponse solve;
  std::string file_data = "FROM scratch\n";
  gw::ReadDirResponse dir;
  gw::StatFileResponse stat;
  gw::InputsResponse inputs;
  // When set, every RPC fails with this status.
  std::optional<grpc::Status> fail;

  // Recorded requests (read after the call returned).
  std::vector<std::string> calls;
  gw::ResolveImageConfigRequest last_resolve;
  gw::SolveRequest last_solve;
  gw::ReadFileRequest last_read_file;
  gw::ReadDirRequest last_read_dir;
  gw::StatFileRequest last_stat;
  gw::WarnRequest last_warn;
  gw::EvaluateRequest last_evaluate;
  std::vector<gw::ReturnRequest> returns;

  grpc::Status Ping(grpc::ServerContext*, const gw::PingRequest*,
                    gw::PongResponse* resp) override {
    return Answer("Ping", [&] { *resp = pong; });
  }
  grpc::Status ResolveImageConfig(
      grpc::ServerContext*, const gw::ResolveImageConfigRequest* req,
      gw::ResolveImageConfigResponse* resp) override {
    return Answer("ResolveImageConfig", [&] {
      last_resolve = *req;
      *resp = image_config;
    });
  }
  grpc::Status Solve(grpc::ServerContext*, const gw::SolveRequest* req,
                     gw::SolveResponse* resp) override {
    return Answer("Solve", [&] {
      last_solve = *req;
      *resp = solve;
    });
  }
  grpc::Status ReadFile(grpc::ServerContext*, const gw::ReadFileRequest* req,
                        gw::ReadFileResponse* resp) override {
    return Answer("ReadFile", [&] {
      last_read_file = *req;
      resp->set_data(file_data);
    });
  }
  grpc::Status ReadDir(grpc::ServerContext*, const gw::ReadDirRequest* req,
                       gw::ReadDirResponse* resp) override {
    return Answer("ReadDir", [&] {
      last_read_dir = *req;
      *resp = dir;
    });
  }
  grpc::Status StatFile(grpc::ServerContext*, const gw::StatFileRequest* req,
                        gw::StatFileResponse* resp) override {
    return Answer("StatFile", [&] {
      last_stat = *req;
      *resp = stat;
    });
  }
  grpc::Status Evaluate(grpc::ServerContext*, const gw::EvaluateRequest* req,
                        gw::EvaluateResponse*) override {
    return Answer("Evaluate", [&] { last_evaluate = *req; });
  }
  grpc::Status Inputs(grpc::ServerContext*, const gw::InputsRequest*,
                      gw::InputsResponse* resp) override {
    return Answer("Inputs", [&] { *resp = inputs; });
  }
  grpc::Status Warn(grpc::ServerContext*, const gw::WarnRequest* req,
                    gw::WarnResponse*) override {
    return Answer("Warn", [&] { last_warn = *req; });
  }
  grpc::Status Return(grpc::ServerContext*, const gw::ReturnRequest* req,
                      gw::ReturnResponse*) override {
    return Answer("Return", [&] { returns.push_back(*req); });
  }

  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls;
  }

 private:
  template <typename F>
  grpc::Status Answer(const char* rpc, F record) {
    std::lock_guard<std::mutex> lock(mu_);
    calls.push_back(rpc);
    if (fail) return *fail;
    record();
    return grpc::Status::OK;
  }
  std::mutex mu_;  // guards the recorded requests
};

// Serves `bridge` on one end of a socketpair; client_fd() is the other end
// (hand it to Client::FromFd, which takes ownership).
class BridgeServer {
 public:
  explicit BridgeServer(FakeBridge* bridge) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
    Start(bridge, sv[0]);
    client_fd_ = sv[1];
  }
  // Serves on `server_fd` (a connected stream socket, owned from here on);
  // client_fd() is -1.
  BridgeServer(FakeBridge* bridge, int server_fd) { Start(bridge, server_fd); }
  ~BridgeServer() { Stop(); }

  int client_fd() const { return client_fd_; }
  void Stop() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }

 private:
  void Start(FakeBridge* bridge, int server_fd) {
    grpc::ServerBuilder builder;
    builder.RegisterService(bridge);
    server_ = builder.BuildAndStart();
    // The server side must be non-blocking (notes/toolchain.md).
    fcntl(server_fd, F_SETFL, fcntl(server_fd, F_GETFL) | O_NONBLOCK);
    grpc::AddInsecureChannelFromFd(server_.get(), server_fd);
  }

  std::unique_ptr<grpc::Server> server_;
  int client_fd_ = -1;
};

}  // namespace kiln::sdk::testing

#endif  // KILN_SDK_TESTING_FAKE_BRIDGE_H_
