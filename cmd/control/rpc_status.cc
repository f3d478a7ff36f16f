#include "control/rpc_status.h"

#include <nlohmann/json.hpp>
#include <string>

#include "google/rpc/status.pb.h"
#include "kiln/gateway/rpc_error.h"

namespace kiln::control {
namespace {

constexpr char kSourceType[] = "github.com/moby/buildkit/errdefs.Source+json";

// One errdefs.Source payload for the ranges of one file.
std::string SourceJson(const SourceRange& r) {
  nlohmann::json range = {
      {"start", {{"line", r.line}, {"character", r.column}}},
      {"end",
       {{"line", r.end_line > 0 ? r.end_line : r.line},
        {"character", r.end_line > 0 ? r.end_column : r.column}}}};
  nlohmann::json doc = {{"info", {{"filename", r.file}}},
                        {"ranges", nlohmann::json::array({range})}};
  return doc.dump();
}

}  // namespace

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.ranges().empty()) return grpc::Status(code, status.message());
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(status.message());
  // Innermost first, as Status keeps them.
  for (const SourceRange& r : status.ranges()) {
    google::protobuf::Any* any = details.add_details();
    any->set_type_url(kSourceType);
    any->set_value(SourceJson(r));
  }
  return grpc::Status(code, status.message(), details.SerializeAsString());
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  google::rpc::Status details;
  if (!status.error_details().empty() &&
      details.ParseFromString(status.error_details())) {
    details.set_code(static_cast<int>(status.error_code()));
    details.set_message(status.error_message());
    return gateway::FromRpcStatus(details);
  }
  int code = static_cast<int>(status.error_code());
  return Status(code > 0 && code <= 16 ? static_cast<StatusCode>(code)
                                       : StatusCode::kUnknown,
                status.error_message().empty() ? "the daemon gave no message"
                                               : status.error_message());
}

}  // namespace kiln::control
