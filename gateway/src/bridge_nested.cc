// BridgeServer: nested frontend solves (SolveRequest.Frontend). The nested
// frontend runs through BuildEnv::nested; its result's refs are adopted as
// refs of this server (new ids over the same snapshots, with the nested
// frontend's definitions) and returned with its metadata.
#include <utility>

#include "grpc_status.h"
#include "kiln/gateway/bridge_server.h"

namespace kiln::gateway {

grpc::Status BridgeServer::SolveNested(const bridge_pb::SolveRequest& req,
                                       bridge_pb::SolveResponse* resp) {
  if (env_.nested == nullptr) {
    return Unimplemented("nested frontend solves (" + req.frontend() + ")");
  }
  std::map<std::string, std::string> opts(req.frontendopt().begin(),
                                          req.frontendopt().end());
  std::map<std::string, pb::Definition> inputs(req.frontendinputs().begin(),
                                               req.frontendinputs().end());
  Result<FrontendOutput> out = env_.nested->SolveFrontend(
      req.frontend(), opts, inputs, stop_.get_token());
  if (!out.ok()) return ToGrpc(out.status());

  bridge_pb::Result result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto adopt = [&](const ResultRef& ref, bridge_pb::Ref* pb_ref) {
      pb::Definition def;
      if (auto it = out->definitions.find(ref.id);
          it != out->definitions.end()) {
        def = it->second;
      }
      if (!ref.snapshot.empty()) {
        pb_ref->set_id(AddRefLocked(ref.snapshot, ref.platform, def));
      }
      if (def.def_size() > 0) *pb_ref->mutable_def() = std::move(def);
    };
    const FinalResult& r = out->result;
    if (!r.refs.empty()) {
      for (const auto& [key, ref] : r.refs) {
        adopt(ref, &(*result.mutable_refs()->mutable_refs())[key]);
      }
    } else if (r.ref.has_value()) {
      adopt(*r.ref, result.mutable_ref());
    } else {
      result.mutable_ref();  // no filesystem: the empty ref
    }
    for (const auto& [key, value] : r.metadata) {
      (*result.mutable_metadata())[key] = value;
    }
    for (const Warning& w : out->warnings) warnings_.push_back(w);
  }

  if (!req.allowresultreturn()) {
    if (!result.has_ref()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "nested frontend " + req.frontend() +
                              " returned a ref map; the request does not "
                              "allow result return");
    }
    resp->set_ref(result.ref().id());
    return grpc::Status::OK;
  }
  if (!req.allowresultarrayref()) {
    bridge_pb::Result legacy;
    if (result.has_refs()) {
      for (const auto& [key, ref] : result.refs().refs()) {
        (*legacy.mutable_refsdeprecated()->mutable_refs())[key] = ref.id();
      }
    } else {
      legacy.set_refdeprecated(result.ref().id());
    }
    *legacy.mutable_metadata() = result.metadata();
    result = std::move(legacy);
  }
  *resp->mutable_result() = std::move(result);
  return grpc::Status::OK;
}

}  // namespace kiln::gateway
