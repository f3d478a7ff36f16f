// Client: the frontend's side of the LLBBridge gRPC API (reference
// gateway.md §2). One Client talks to the engine over one connection,
// normally the socket the engine passed as stdin/stdout (see serve.h).
//
// Every method is one unary RPC. A gRPC failure becomes a kiln Status with
// the same canonical code and the server's message kept, prefixed with the RPC
// name ("bridge ReadFile: not found: ..."); UNAVAILABLE means the connection is
// gone.
//
// Ownership: results are plain values owned by the caller. Thread safety: the
// methods may be called from several threads at once (gRPC stubs are
// thread-safe); Return must be called at most once per build.
#ifndef KILN_SDK_CLIENT_H_
#define KILN_SDK_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln::sdk {

// The engine's answer to Ping: ids of the enabled capabilities.
struct Capabilities {
  std::vector<std::string> frontend;  // e.g. "solve.base", "return"
  std::vector<std::string> llb;       // e.g. "source.image", "exec.mount.bind"
  // The first worker's platforms; [0] is the engine's native platform (what
  // BuildKit's frontends use as BUILDPLATFORM). Empty when none is sent.
  std::vector<llb::Platform> worker_platforms;

  bool HasFrontendCap(const std::string& id) const;
  bool HasLLBCap(const std::string& id) const;
};

// A resolved image: manifest digest, config JSON bytes, and the reference
// after the engine's source policy (the requested one from old engines).
struct ImageConfig {
  std::string digest;
  std::string config;
  std::string ref;
};

// An opaque handle to a solved result, valid until the frontend exits. An
// empty id is the empty (scratch) filesystem.
struct Ref {
  std::string id;
};

// A byte range of a file; length 0 reads to the end.
struct FileRange {
  int64_t offset = 0;
  int64_t length = 0;
};

// One entry of ReadDir or the answer of StatFile (fsutil.types.Stat). `mode`
// holds Go os.FileMode bits: permissions in the low 9 bits, kModeDir etc.
struct FileStat {
  static constexpr uint32_t kModeDir = 1u << 31;
  static constexpr uint32_t kModeSymlink = 1u << 27;

  std::string path;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t size = 0;
  int64_t mod_time_ns = 0;
  std::string linkname;

  bool IsDir() const { return (mode & kModeDir) != 0; }
};

// A build warning attached to a vertex (WarnRequest).
struct Warning {
  std::string vertex_digest;  // digest of an op the frontend sent
  int64_t level = 1;
  std::string short_message;
  std::vector<std::string> detail;
  std::string url;
  std::optional<SourceRange> range;  // sent as SourceInfo{filename} + Range
};

// What a build returns: one ref, or (multi-platform) refs keyed by platform
// id such as "linux/arm64", plus exporter metadata, e.g.
// metadata["containerimage.config"] = image config JSON. A non-empty `refs`
// is sent as a RefMap and `ref` is then ignored.
struct BuildResult {
  Ref ref;
  std::map<std::string, Ref> refs;
  std::map<std::string, std::string> metadata;
};

class Client {
 public:
  // A Client over a connected stream socket `fd` (both directions on one fd,
  // as stdin = stdout of a frontend). Takes ownership of `fd` (gRPC closes it).
  // InvalidArgument if `fd` is not an open descriptor.
  static Result<std::unique_ptr<Client>> FromFd(int fd);

  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Handshake: the engine's capabilities (15 s deadline). An engine that
  // sends no list gets upstream's defaults for it (gateway.md §3).
  Result<Capabilities> Ping();
  // The worker platforms of the last successful Ping (empty before one).
  const std::vector<llb::Platform>& WorkerPlatforms() const;

  // Resolves `ref` to a manifest digest and config for `platform` (nullopt =
  // the engine's default platform).
  Result<ImageConfig> ResolveImageConfig(
      const std::string& ref, const std::optional<llb::Platform>& platform);

  // Solves `definition`; with `evaluate` the engine builds it before
  // answering, so build errors surface here.
  Result<Ref> Solve(const pb::Definition& definition, bool evaluate = false);

  // A nested frontend solve (SolveRequest.Frontend): runs frontend `name`
  // ("gateway.v0" with opts["source"] = an image, or "dockerfile.v0") with
  // `opts` and `inputs` (cap frontend.inputs when non-empty), and returns
  // its result — refs, now refs of this frontend, and metadata — as it came,
  // e.g. for `# syntax=` forwarding. Errors are the nested build's.
  Result<BuildResult> SolveFrontend(
      const std::string& name, const std::map<std::string, std::string>& opts,
      const std::map<std::string, pb::Definition>& inputs = {});

  // Reads a regular file of `ref` (whole file, or `range`).
  Result<std::string> ReadFile(const Ref& ref, const std::string& path,
                               std::optional<FileRange> range = std::nullopt);

  // The direct children of `dir` in `ref`; `include_pattern` is a glob on
  // entry names (empty = all).
  Result<std::vector<FileStat>> ReadDir(
      const Ref& ref, const std::string& dir,
      const std::string& include_pattern = "");

  Result<FileStat> StatFile(const Ref& ref, const std::string& path);

  // Builds a lazy `ref` now, so that its build errors surface here
  // (cap gateway.evaluate).
  Status Evaluate(const Ref& ref);

  // The Definitions passed to this frontend as inputs, by name (cap
  // frontend.inputs), e.g. "context" and "dockerfile".
  Result<std::map<std::string, pb::Definition>> Inputs();

  Status Warn(const Warning& warning);

  // Delivers the build's result, or its error. The error keeps its code and
  // message; its source ranges travel as an errdefs.Source detail
  // (gateway.md §5). `error` must not be OK.
  Status Return(const BuildResult& result);
  Status Return(const Status& error);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::sdk

#endif  // KILN_SDK_CLIENT_H_
