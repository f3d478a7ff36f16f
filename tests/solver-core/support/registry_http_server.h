// A tiny HTTP/1.1 server on 127.0.0.1 for registry tests: token servers,
// fake registries that fail on purpose, request counters. One request per
// connection, handled one at a time on a background thread.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_HTTP_SERVER_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver::testing {

struct TestHttpRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;

  std::string Path() const { return target.substr(0, target.find('?')); }
  // Every value of a query parameter, percent-decoded.
  std::vector<std::string> Query(const std::string& name) const;
};

struct TestHttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class TestHttpServer {
 public:
  using Handler = std::function<TestHttpResponse(const TestHttpRequest&)>;

  // Listens on a free port of 127.0.0.1 and serves `handler` until destroyed.
  static Result<std::unique_ptr<TestHttpServer>> Start(Handler handler);
  ~TestHttpServer();

  int port() const { return port_; }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  TestHttpServer(int fd, int port, Handler handler);
  void Serve();
  void HandleConnection(int fd);

  int listen_fd_;
  int port_;
  int wake_[2] = {-1, -1};
  Handler handler_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_HTTP_SERVER_H_
