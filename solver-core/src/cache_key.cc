#include "kiln/solver/cache_key.h"

#include <string>
#include <vector>

#include "kiln/llb/encoding.h"

namespace kiln::solver {
namespace {

// The op as it enters the key: no input digests, no proxy settings.
std::string KeyedOpBytes(const Vertex& vertex) {
  pb::Op op = vertex.op;
  op.clear_inputs();
  if (op.has_exec() && op.exec().has_meta()) {
    op.mutable_exec()->mutable_meta()->clear_proxy_env();
  }
  return llb::MarshalOp(&op, llb::OpEncoding::kProtobufGo);
}

}  // namespace

std::string CacheKeyEncoding(const Vertex& vertex,
                             std::span<const Digest> input_keys,
                             std::span<const Digest> input_checksums) {
  KILN_CHECK(input_keys.size() == vertex.inputs.size(),
             "one cache key per vertex input");
  KILN_CHECK(
      input_checksums.empty() || input_checksums.size() == vertex.inputs.size(),
      "no checksums or one per vertex input");
  const std::string op = KeyedOpBytes(vertex);
  std::string out;
  out.reserve(op.size() + 64 + input_keys.size() * 160);
  out.append(kCacheKeyVersion).append("\n");
  out.append("op ")
      .append(std::to_string(op.size()))
      .append("\n")
      .append(op)
      .append("\n");
  out.append("inputs ").append(std::to_string(input_keys.size())).append("\n");
  for (size_t i = 0; i < input_keys.size(); ++i) {
    const bool has_checksum =
        !input_checksums.empty() && input_checksums[i].valid();
    if (has_checksum) {
      // The op depends on what it reads, not on where that came from.
      out.append("content ").append(input_checksums[i].str()).append("\n");
      continue;
    }
    out.append(input_keys[i].str()).append(" ");
    out.append(std::to_string(vertex.inputs[i].output)).append("\n");
  }
  return out;
}

Digest VertexCacheKey(const Vertex& vertex, std::span<const Digest> input_keys,
                      std::span<const Digest> input_checksums) {
  return Digest::FromBytes(
      CacheKeyEncoding(vertex, input_keys, input_checksums));
}

Result<std::vector<Digest>> ComputeCacheKeys(
    const Graph& graph, const ContentChecksumFn& checksum) {
  std::vector<Digest> keys;
  keys.reserve(graph.vertices().size());
  std::vector<Digest> input_keys;
  std::vector<Digest> checksums;
  for (const Vertex& vertex : graph.vertices()) {
    input_keys.clear();
    checksums.clear();
    for (size_t i = 0; i < vertex.inputs.size(); ++i) {
      input_keys.push_back(keys[static_cast<size_t>(vertex.inputs[i].vertex)]);
      if (!checksum) continue;
      Result<Digest> sum = checksum(vertex, static_cast<int>(i));
      if (!sum.ok()) {
        return sum.status().WithContext(
            "content checksum of input " + std::to_string(i) + " of op " +
            vertex.digest.str() + " (\"" + vertex.name + "\")");
      }
      checksums.push_back(*sum);
    }
    keys.push_back(VertexCacheKey(vertex, input_keys, checksums));
  }
  return keys;
}

}  // namespace kiln::solver
