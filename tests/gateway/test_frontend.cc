// kiln_test_frontend: a static frontend for the FrontendRunner tests. Its
// behaviour is picked by opt `mode`:
//   ok        checks the sandbox (read-only root filesystem, no network but
//             loopback; skipped with opt nocheck=1, for host runs), then
//             solves a scratch file op writing opt `message` to /out.txt and
//             returns it with metadata containerimage.config
//   crash     aborts after Ping
//   hang      sleeps forever after Ping
//   garbage   writes junk to fd 1 before connecting
//   steal     returns a ref id it never got
//   noreturn  exits 0 without Return
//   nested    runs gateway.v0 with source = opt `inner` (mode ok) and
//             returns its result
//   env       returns /out.txt holding its BUILDKIT_* environment and the
//             size of the metadata frontend.bin
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "kiln/llb/file.h"
#include "kiln/sdk/frontend.h"

extern char** environ;

namespace {

using kiln::Result;
using kiln::Status;
using kiln::sdk::BuildResult;
using kiln::sdk::Client;
using kiln::sdk::FrontendOptions;

std::string Opt(const FrontendOptions& o, const std::string& key) {
  auto it = o.opts.find(key);
  return it == o.opts.end() ? "" : it->second;
}

Status CheckSandbox() {
  int fd = open("/probe", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    close(fd);
    unlink("/probe");
    return kiln::FailedPreconditionError(
        "sandbox check: the root filesystem is writable (created /probe)");
  }
  if (errno != EROFS) {
    return kiln::FailedPreconditionError(
        std::string("sandbox check: creating /probe failed with ") +
        std::strerror(errno) + ", want EROFS");
  }
  std::ifstream dev("/proc/net/dev");
  if (!dev) {
    return kiln::FailedPreconditionError("sandbox check: no /proc/net/dev");
  }
  std::string line;
  int n = 0;
  while (std::getline(dev, line)) {
    if (++n <= 2) continue;  // headers
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo") {
      return kiln::FailedPreconditionError("sandbox check: network interface " +
                                           name + " besides lo");
    }
  }
  return Status::Ok();
}

Result<BuildResult> FileResult(Client& client, const std::string& content) {
  kiln::llb::State s =
      kiln::llb::Scratch().File(kiln::llb::Mkfile("/out.txt", 0644, content));
  KILN_ASSIGN_OR_RETURN(::pb::Definition def, s.Marshal());
  KILN_ASSIGN_OR_RETURN(kiln::sdk::Ref ref, client.Solve(def, true));
  BuildResult result;
  result.ref = ref;
  result.metadata["containerimage.config"] =
      R"({"architecture":"amd64","os":"linux","config":{}})";
  return result;
}

Result<BuildResult> Build(Client& client, const FrontendOptions& o) {
  const std::string mode = Opt(o, "mode");
  if (mode == "ok") {
    if (Opt(o, "nocheck").empty()) KILN_RETURN_IF_ERROR(CheckSandbox());
    return FileResult(client, Opt(o, "message"));
  }
  if (mode == "crash") {
    std::fprintf(stderr, "test frontend: crashing on purpose\n");
    std::abort();
  }
  if (mode == "hang") {
    std::fprintf(stderr, "test frontend: hanging on purpose\n");
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (mode == "steal") {
    BuildResult result;
    result.ref.id = "0123456789abcdef-stolen";
    return result;
  }
  if (mode == "noreturn") {
    std::fprintf(stderr, "test frontend: leaving without Return\n");
    std::fflush(stderr);
    _exit(0);
  }
  if (mode == "nested") {
    std::map<std::string, std::string> inner = {{"source", Opt(o, "inner")},
                                                {"mode", "ok"},
                                                {"message", Opt(o, "message")}};
    return client.SolveFrontend("gateway.v0", inner);
  }
  if (mode == "linger") {
    // Returns a good result, then never exits.
    KILN_ASSIGN_OR_RETURN(BuildResult result,
                          FileResult(client, Opt(o, "message")));
    KILN_RETURN_IF_ERROR(client.Return(result));
    std::fprintf(stderr, "test frontend: lingering after Return\n");
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (mode == "env") {
    std::string text;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "BUILDKIT_", 9) == 0) text += std::string(*e) + "\n";
    }
    struct stat st {};
    if (stat("/run/config/buildkit/metadata/frontend.bin", &st) == 0) {
      text += "frontend.bin mode " + std::to_string(st.st_mode & 0777) +
              " size " + std::to_string(st.st_size) + "\n";
    }
    return FileResult(client, text);
  }
  return kiln::InvalidArgumentError("test frontend: unknown mode \"" + mode +
                                    "\"");
}

}  // namespace

int main() {
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strstr(*e, "mode=garbage") != nullptr &&
        std::strncmp(*e, "BUILDKIT_FRONTEND_OPT_", 22) == 0) {
      static const char kJunk[] = "this is not HTTP/2\r\n\r\ngarbage garbage";
      ssize_t ignored = write(1, kJunk, sizeof(kJunk) - 1);
      (void)ignored;
      std::fprintf(stderr, "test frontend: wrote garbage to stdout\n");
    }
  }
  return kiln::sdk::Serve(Build);
}
