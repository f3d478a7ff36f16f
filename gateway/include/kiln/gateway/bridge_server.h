// BridgeServer: the engine side of BuildKit's LLBBridge gRPC API for ONE
// frontend run (reference/gateway.md). It solves the frontend's LLB with
// solver-core, hands out random ref ids for the results, answers file
// questions about them, and keeps what the frontend returns.
//
// Implemented: Ping, ResolveImageConfig, Solve (LLB definitions, always
// evaluated; nested frontends through BuildEnv::nested), Evaluate, ReadFile,
// ReadDir, StatFile, Return, Inputs (BuildEnv::inputs), Warn (kept). Every
// other RPC (ResolveSourceMeta, containers, *Container file RPCs) answers
// UNIMPLEMENTED. Requests naming a ref this build did not hand out answer
// INVALID_ARGUMENT "unknown ref ...".
//
// Every ref keeps the pb::Definition it was solved from (sent back as
// Ref.def, and available through definition()). A nested frontend solve's
// refs become refs of this server: new ids over the same snapshots, with the
// nested frontend's definitions.
//
// Activity (for an idle timeout): activity() tells how many RPCs are in
// progress and when the last one started or ended.
//
// Thread-safety: the RPC handlers may run concurrently (gRPC's sync server);
// the accessors may be called from any thread. Ownership: BuildEnv pointers
// are borrowed and must outlive the server. Snapshots mounted for file access
// (overlay) are unmounted by the destructor; the snapshots themselves stay
// (the engine owns their lifetime). Destroy the server only after the
// grpc::Server serving it has been shut down.
#ifndef KILN_GATEWAY_BRIDGE_SERVER_H_
#define KILN_GATEWAY_BRIDGE_SERVER_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "frontend/gateway/pb/gateway.grpc.pb.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"

namespace kiln::gateway {

namespace bridge_pb = ::moby::buildkit::v1::frontend;

// A solved result the frontend may name.
struct ResultRef {
  std::string id;        // the ref id handed to the frontend ("" = empty)
  std::string snapshot;  // committed snapshot ("" = empty/scratch result)
  llb::Platform platform;
};

// What the frontend delivered through Return.
struct FinalResult {
  Status error;                           // non-OK: the frontend failed
  std::optional<ResultRef> ref;           // a single-ref result
  std::map<std::string, ResultRef> refs;  // a RefMap result (key: platform)
  std::map<std::string, std::string> metadata;  // exporter metadata
};

// A frontend warning (Warn RPC).
struct Warning {
  std::string vertex;  // op digest the warning is attached to
  int64_t level = 0;
  std::string short_text;
  std::vector<std::string> detail;
  std::string url;
  // Where in the source (WarnRequest.info.filename and ranges): file plus
  // 1-based line/column ranges; empty when the frontend sent none.
  std::string filename;
  std::vector<SourceRange> ranges;
};

// What a frontend run produced (FrontendRunner::Run, nested solves).
struct FrontendOutput {
  FinalResult result;  // error is always OK here (errors come as Status)
  std::vector<Warning> warnings;
  // The LLB Definition of each returned ref id (what the frontend solved).
  std::map<std::string, pb::Definition> definitions;
};

// Runs nested frontend solves (SolveRequest.Frontend) for a BridgeServer;
// the FrontendRunner implements it per run. Must be thread-safe.
class NestedFrontends {
 public:
  virtual ~NestedFrontends() = default;
  // Runs `frontend` with `opts` and `inputs` to its result; errors are the
  // nested build's (Cancelled once `stop` is requested).
  virtual Result<FrontendOutput> SolveFrontend(
      const std::string& frontend,
      const std::map<std::string, std::string>& opts,
      const std::map<std::string, pb::Definition>& inputs,
      std::stop_token stop) = 0;
};

struct BuildEnv {
  solver::Solver* solver = nullptr;          // required
  solver::Snapshotter* snapshots = nullptr;  // required (file RPCs)
  solver::ImageSource* images = nullptr;     // null: ResolveImageConfig
                                             // answers UNAVAILABLE
  solver::SolveRequest base_request;         // locals, secrets, platform...
  std::map<std::string, std::string> frontend_opts;
  // Answered by the Inputs RPC.
  std::map<std::string, pb::Definition> inputs;
  // Borrowed; null: nested frontend solves answer UNIMPLEMENTED.
  NestedFrontends* nested = nullptr;
};

// RPC activity of a server (see the file comment).
struct BridgeActivity {
  int in_progress = 0;
  std::chrono::steady_clock::time_point last_call;
};

class BridgeServer final : public bridge_pb::LLBBridge::Service {
 public:
  explicit BridgeServer(BuildEnv env);
  ~BridgeServer() override;
  BridgeServer(const BridgeServer&) = delete;
  BridgeServer& operator=(const BridgeServer&) = delete;

  // The result or error the frontend returned; nullopt before Return.
  std::optional<FinalResult> result() const;
  std::vector<Warning> warnings() const;
  // Requests cancellation of running and future solves.
  void Cancel() { stop_.request_stop(); }

  // Ref ids handed out so far (tests, debugging).
  std::vector<std::string> ref_ids() const;
  // The Definition ref `id` was solved from; nullopt for an unknown id.
  std::optional<pb::Definition> definition(const std::string& id) const;
  // RPCs in progress and the time of the last call's start or end
  // (construction time before any).
  BridgeActivity activity() const;

  // LLBBridge handlers (see the file comment).
  grpc::Status Ping(grpc::ServerContext* ctx, const bridge_pb::PingRequest* req,
                    bridge_pb::PongResponse* resp) override;
  grpc::Status ResolveImageConfig(
      grpc::ServerContext* ctx, const bridge_pb::ResolveImageConfigRequest* req,
      bridge_pb::ResolveImageConfigResponse* resp) override;
  grpc::Status ResolveSourceMeta(
      grpc::ServerContext* ctx, const bridge_pb::ResolveSourceMetaRequest* req,
      bridge_pb::ResolveSourceMetaResponse* resp) override;
  grpc::Status Solve(grpc::ServerContext* ctx,
                     const bridge_pb::SolveRequest* req,
                     bridge_pb::SolveResponse* resp) override;
  grpc::Status Evaluate(grpc::ServerContext* ctx,
                        const bridge_pb::EvaluateRequest* req,
                        bridge_pb::EvaluateResponse* resp) override;
  grpc::Status ReadFile(grpc::ServerContext* ctx,
                        const bridge_pb::ReadFileRequest* req,
                        bridge_pb::ReadFileResponse* resp) override;
  grpc::Status ReadDir(grpc::ServerContext* ctx,
                       const bridge_pb::ReadDirRequest* req,
                       bridge_pb::ReadDirResponse* resp) override;
  grpc::Status StatFile(grpc::ServerContext* ctx,
                        const bridge_pb::StatFileRequest* req,
                        bridge_pb::StatFileResponse* resp) override;
  grpc::Status Return(grpc::ServerContext* ctx,
                      const bridge_pb::ReturnRequest* req,
                      bridge_pb::ReturnResponse* resp) override;
  grpc::Status Inputs(grpc::ServerContext* ctx,
                      const bridge_pb::InputsRequest* req,
                      bridge_pb::InputsResponse* resp) override;
  grpc::Status Warn(grpc::ServerContext* ctx, const bridge_pb::WarnRequest* req,
                    bridge_pb::WarnResponse* resp) override;
  grpc::Status NewContainer(grpc::ServerContext* ctx,
                            const bridge_pb::NewContainerRequest* req,
                            bridge_pb::NewContainerResponse* resp) override;
  grpc::Status ReleaseContainer(
      grpc::ServerContext* ctx, const bridge_pb::ReleaseContainerRequest* req,
      bridge_pb::ReleaseContainerResponse* resp) override;
  grpc::Status ExecProcess(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<bridge_pb::ExecMessage, bridge_pb::ExecMessage>*
          stream) override;
  grpc::Status ReadFileContainer(grpc::ServerContext* ctx,
                                 const bridge_pb::ReadFileRequest* req,
                                 bridge_pb::ReadFileResponse* resp) override;
  grpc::Status ReadDirContainer(grpc::ServerContext* ctx,
                                const bridge_pb::ReadDirRequest* req,
                                bridge_pb::ReadDirResponse* resp) override;
  grpc::Status StatFileContainer(grpc::ServerContext* ctx,
                                 const bridge_pb::StatFileRequest* req,
                                 bridge_pb::StatFileResponse* resp) override;

 private:
  struct OwnedRef {
    std::string snapshot;
    llb::Platform platform;
    pb::Definition def;
    std::string mountpoint;  // temp dir of an overlay mount ("" = none yet)
    std::string root;        // where its tree is readable ("" = not yet)
  };

  // The readable root of ref `id` (mounting it on first use).
  // InvalidArgument for an id this build does not own or the empty ref.
  Result<std::string> RefRoot(const std::string& id);
  Result<ResultRef> SolveDefinition(const pb::Definition& def);
  // A new ref id for `ref` (with its definition); mu_ must be held.
  std::string AddRefLocked(const std::string& snapshot,
                           const llb::Platform& platform,
                           const pb::Definition& def);
  // Solve with a Frontend (bridge_nested.cc).
  grpc::Status SolveNested(const bridge_pb::SolveRequest& req,
                           bridge_pb::SolveResponse* resp);

  // Counts an RPC as in progress for its lifetime.
  class CallScope {
   public:
    explicit CallScope(const BridgeServer* server);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

   private:
    const BridgeServer* server_;
  };

  BuildEnv env_;
  std::stop_source stop_;
  mutable std::mutex mu_;
  std::map<std::string, OwnedRef> refs_;  // guarded by mu_
  std::optional<FinalResult> final_;      // guarded by mu_
  std::vector<Warning> warnings_;         // guarded by mu_
  mutable BridgeActivity activity_;       // guarded by mu_
};

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_BRIDGE_SERVER_H_
