// mode=max's buildConfig: the steps of the result's LLB Definition, as
// BuildKit's llbsolver/provenance toBuildSteps lists them.
#include <google/protobuf/util/json_util.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "kiln/llb/digest.h"
#include "provenance.h"

namespace kiln::cli {
namespace {

using Json = nlohmann::json;

// Depth first from `digest`: inputs before the op, each op once.
void Walk(const std::map<std::string, pb::Op>& ops, const std::string& digest,
          std::set<std::string>& seen, std::vector<std::string>& order) {
  auto it = ops.find(digest);
  if (it == ops.end() || seen.contains(digest)) return;
  seen.insert(digest);
  for (const pb::Input& in : it->second.inputs()) {
    Walk(ops, in.digest(), seen, order);
  }
  order.push_back(digest);
}

}  // namespace

Result<std::string> BuildConfigJson(const pb::Definition& definition) {
  if (definition.def_size() == 0) return std::string();
  std::map<std::string, pb::Op> ops;
  std::string last;
  for (const std::string& bytes : definition.def()) {
    pb::Op op;
    if (!op.ParseFromString(bytes)) {
      return InvalidArgumentError(
          "provenance: an op of the definition is not "
          "a valid pb.Op");
    }
    // Session-specific attrs say nothing about the build.
    if (op.has_source()) {
      op.mutable_source()->mutable_attrs()->erase("local.session");
      op.mutable_source()->mutable_attrs()->erase("local.unique");
    }
    last = Digest::FromBytes(bytes).str();
    ops[last] = std::move(op);
  }
  // The last op is the terminal one pointing at the result.
  const pb::Op& terminal = ops[last];
  if (terminal.inputs_size() == 0) {
    return InvalidArgumentError(
        "provenance: the definition's last op has no input");
  }
  std::set<std::string> seen;
  std::vector<std::string> order;
  Walk(ops, terminal.inputs(0).digest(), seen, order);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < order.size(); ++i) index[order[i]] = i;

  Json steps = Json::array();
  Json mapping = Json::object();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (size_t i = 0; i < order.size(); ++i) {
    pb::Op op = ops[order[i]];
    Json inputs = Json::array();
    for (const pb::Input& in : op.inputs()) {
      inputs.push_back("step" + std::to_string(index[in.digest()]) + ":" +
                       std::to_string(in.index()));
    }
    op.clear_inputs();
    std::string op_json;
    if (!google::protobuf::util::MessageToJsonString(op, &op_json, options)
             .ok()) {
      return InternalError("provenance: writing op " + order[i] + " as JSON");
    }
    std::string id = "step" + std::to_string(i);
    steps.push_back(
        {{"id", id}, {"op", Json::parse(op_json)}, {"inputs", inputs}});
    mapping[order[i]] = id;
  }
  return Json{{"llbDefinition", steps}, {"digestMapping", mapping}}.dump();
}

Status AddBuildConfig(const ProvenanceRequest& request,
                      const gateway::FrontendOutput& out,
                      const llb::Platform& platform, ProvenanceBuild* build) {
  if (request.mode != "max") return Status::Ok();
  const gateway::FinalResult& result = out.result;
  const gateway::ResultRef* ref = nullptr;
  if (result.ref) {
    ref = &*result.ref;
  } else if (auto it = result.refs.find(llb::FormatPlatform(platform));
             it != result.refs.end()) {
    ref = &it->second;
  }
  if (ref == nullptr) return Status::Ok();
  auto def = out.definitions.find(ref->id);
  if (def == out.definitions.end()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(build->build_config_json, BuildConfigJson(def->second));
  return Status::Ok();
}

int64_t UnixNanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

}  // namespace kiln::cli
