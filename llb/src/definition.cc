#include "kiln/llb/definition.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace kiln::llb {

const pb::OpMetadata* LoadedDefinition::Metadata(const Digest& digest) const {
  auto it = definition.metadata().find(digest.str());
  return it == definition.metadata().end() ? nullptr : &it->second;
}

Result<pb::Definition> ParseDefinition(std::string_view bytes) {
  pb::Definition def;
  if (!def.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("cannot decode definition (" + std::to_string(bytes.size()) +
                                " bytes): truncated or not a pb.Definition");
  }
  return def;
}

std::string_view OpKind(const pb::Op& op) {
  switch (op.op_case()) {
    case pb::Op::kExec: return "exec";
    case pb::Op::kSource: return "source";
    case pb::Op::kFile: return "file";
    case pb::Op::kBuild: return "build";
    case pb::Op::kMerge: return "merge";
    case pb::Op::kDiff: return "diff";
    case pb::Op::kPassthrough: return "passthrough";
    case pb::Op::OP_NOT_SET: break;
  }
  return "terminal";
}

Result<LoadedDefinition> LoadDefinition(const pb::Definition& definition) {
  if (definition.def_size() == 0) {
    return InvalidArgumentError("empty definition: it holds no ops (a scratch result has no "
                                "graph to show)");
  }
  LoadedDefinition loaded;
  loaded.definition = definition;
  std::unordered_set<Digest> seen;
  for (int i = 0; i < definition.def_size(); ++i) {
    const std::string& bytes = definition.def(i);
    Digest digest = Digest::FromBytes(bytes);
    if (!seen.insert(digest).second) continue;
    LoadedOp op{digest, bytes, {}};
    if (!op.op.ParseFromString(bytes)) {
      return InvalidArgumentError("op " + digest.str() + " (definition entry " +
                                  std::to_string(i) + ", " + std::to_string(bytes.size()) +
                                  " bytes) does not decode as pb.Op");
    }
    loaded.ops.push_back(std::move(op));
  }
  for (const LoadedOp& op : loaded.ops) {
    for (int j = 0; j < op.op.inputs_size(); ++j) {
      const pb::Input& in = op.op.inputs(j);
      auto parsed = Digest::Parse(in.digest());
      if (!parsed.ok()) {
        return InvalidArgumentError("op " + op.digest.str() + ": input " + std::to_string(j) +
                                    " has an invalid digest: " + parsed.status().message());
      }
      if (!seen.contains(*parsed)) {
        return InvalidArgumentError("op " + op.digest.str() + ": input " + std::to_string(j) +
                                    " refers to " + in.digest() +
                                    ", which is not in the definition");
      }
      if (in.index() < 0) {
        return InvalidArgumentError("op " + op.digest.str() + ": input " + std::to_string(j) +
                                    " has negative output index " + std::to_string(in.index()));
      }
    }
  }
  // The terminal op is the last entry even when its bytes appeared earlier.
  Digest last_digest = Digest::FromBytes(definition.def(definition.def_size() - 1));
  if (loaded.ops.back().digest != last_digest) {
    auto it = std::find_if(loaded.ops.begin(), loaded.ops.end(),
                           [&](const LoadedOp& o) { return o.digest == last_digest; });
    std::rotate(it, it + 1, loaded.ops.end());
  }
  const LoadedOp& last = loaded.ops.back();
  if (last.op.op_case() != pb::Op::OP_NOT_SET || last.op.inputs_size() != 1) {
    return InvalidArgumentError("op " + last.digest.str() + ": the last op of a definition must "
                                "be a terminal op (no op body, exactly one input), found " +
                                std::string(OpKind(last.op)) + " with " +
                                std::to_string(last.op.inputs_size()) + " inputs");
  }
  return loaded;
}

}  // namespace kiln::llb
