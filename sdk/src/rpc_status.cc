#include "rpc_status.h"

#include <string>

#include "kiln/llb/dump.h"

namespace kiln::sdk::internal {
namespace {

std::string Position(int line, int column) {
  return "{\"line\":" + std::to_string(line) +
         ",\"character\":" + std::to_string(column) + "}";
}

// errdefs.Source as Go's encoding/json writes it: {info: pb.SourceInfo,
// ranges: [pb.Range]} with proto field names as keys.
std::string SourceJson(const SourceRange& r) {
  int end_line = r.end_line == 0 ? r.line : r.end_line;
  int end_column = r.end_line == 0 ? r.column : r.end_column;
  return "{\"info\":{\"filename\":" + llb::GoJsonString(r.file) +
         "},\"ranges\":[{\"start\":" + Position(r.line, r.column) +
         ",\"end\":" + Position(end_line, end_column) + "}]}";
}

}  // namespace

Status FromGrpcStatus(const grpc::Status& status, std::string_view rpc) {
  if (status.ok()) return Status::Ok();
  int code = static_cast<int>(status.error_code());
  if (code <= 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) {
    code = static_cast<int>(StatusCode::kUnknown);
  }
  return Status(static_cast<StatusCode>(code),
                std::string(rpc) + ": " + status.error_message());
}

google::rpc::Status ToRpcStatus(const Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int>(status.code()));
  out.set_message(status.message());
  for (const SourceRange& range : status.ranges()) {
    google::protobuf::Any* detail = out.add_details();
    detail->set_type_url(std::string(kSourceDetailType));
    detail->set_value(SourceJson(range));
  }
  return out;
}

}  // namespace kiln::sdk::internal
