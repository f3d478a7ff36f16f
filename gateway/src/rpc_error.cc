#include "kiln/gateway/rpc_error.h"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::gateway {
namespace {

constexpr std::string_view kSourceType =
    "github.com/moby/buildkit/errdefs.Source+json";

int IntField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int>() : 0;
}

// The ranges of one errdefs.Source payload; empty when it is malformed.
std::vector<SourceRange> SourceRanges(const std::string& payload) {
  nlohmann::json doc = nlohmann::json::parse(payload, nullptr, false);
  std::vector<SourceRange> out;
  if (!doc.is_object()) return out;
  std::string file;
  if (auto info = doc.find("info"); info != doc.end() && info->is_object()) {
    if (auto name = info->find("filename");
        name != info->end() && name->is_string()) {
      file = name->get<std::string>();
    }
  }
  auto ranges = doc.find("ranges");
  if (ranges == doc.end() || !ranges->is_array()) return out;
  for (const nlohmann::json& r : *ranges) {
    if (!r.is_object()) continue;
    SourceRange range;
    range.file = file;
    if (auto start = r.find("start"); start != r.end() && start->is_object()) {
      range.line = IntField(*start, "line");
      range.column = IntField(*start, "character");
    }
    if (auto end = r.find("end"); end != r.end() && end->is_object()) {
      range.end_line = IntField(*end, "line");
      range.end_column = IntField(*end, "character");
    }
    if (range.line > 0) out.push_back(std::move(range));
  }
  return out;
}

}  // namespace

Status FromRpcStatus(const google::rpc::Status& status) {
  int code = status.code();
  Status out(code > 0 && code <= 16 ? static_cast<StatusCode>(code)
                                    : StatusCode::kUnknown,
             status.message().empty() ? "frontend failed (no message)"
                                      : status.message());
  for (const google::protobuf::Any& detail : status.details()) {
    if (detail.type_url() != kSourceType) continue;
    for (SourceRange& range : SourceRanges(detail.value())) {
      out = out.WithRange(std::move(range));
    }
  }
  return out;
}

}  // namespace kiln::gateway
