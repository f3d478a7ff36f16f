// Cache keys of graph vertices (DESIGN.md, "Cache keys").
//
// A vertex's key names what the vertex computes, independently of how its
// inputs happen to be encoded: two vertices with equal keys produce equal
// results, so the solver may reuse one's result for the other. It is the
// sha256 of a canonical encoding of
//   1. the op without its inputs' digests: a copy of Vertex::op with
//      `inputs` cleared and, for exec ops, meta.proxy_env cleared (proxies do
//      not change what a build produces; BuildKit keeps them out of the key
//      too), marshaled with llb::MarshalOp(…, OpEncoding::kProtobufGo), which
//      is deterministic. Platform and constraints are part of the op and so of
//      the key. OpMetadata (description, llb.customname, ignore_cache, caps,
//      progress group, export cache, linux resources) is NOT part of the key;
//   2. for each input, in op.inputs() order: the key of the vertex it reads
//      and the output index it reads from that vertex — or, when the runtime
//      computed one, instead of both:
//   3. a checksum of the content the op reads from that input (COPY sources,
//      bind-mount selectors). Then the key depends on those bytes only, not
//      on the input's own key: a COPY of one file from a build context stays
//      cached when another file of the context changes.
//
// Encoding, version 1 (all numbers in decimal ASCII, "\n" is one 0x0a byte,
// digests as "sha256:<64 hex>"):
//
//   "kiln-cachekey-v2\n"
//   "op " <byte length of the op bytes> "\n" <op bytes> "\n"
//   "inputs " <number of inputs> "\n"
//   for each input i, in order, either
//     <input key> " " <output index> "\n"      (no checksum)
//     "content " <checksum> "\n"               (content checksummed)
//
// and the key is "sha256:" + hex(sha256(encoding)). Any change to this
// encoding must bump the version prefix, so that keys of different encodings
// never collide.
//
// Thread safety: the functions are pure; they may run concurrently on one
// Graph. A ContentChecksumFn called from ComputeCacheKeys runs on the calling
// thread, once per input of each vertex, vertices in graph order.
#ifndef KILN_SOLVER_CACHE_KEY_H_
#define KILN_SOLVER_CACHE_KEY_H_

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/graph.h"

namespace kiln::solver {

// The version prefix of the encoding above (without its newline).
inline constexpr std::string_view kCacheKeyVersion = "kiln-cachekey-v2";

// Checksum of the content `vertex` reads from its input `input` (an index
// into vertex.inputs). Return an invalid Digest() when the op reads no
// particular content from that input (the key then depends on the input's
// key alone). An error aborts the key computation.
using ContentChecksumFn =
    std::function<Result<Digest>(const Vertex& vertex, int input)>;

// The canonical encoding of one vertex (exposed for tests and debugging).
// `input_keys` and, when not empty, `input_checksums` are parallel to
// vertex.inputs; an invalid Digest in `input_checksums` means "none".
// Precondition (checked): the sizes match.
std::string CacheKeyEncoding(const Vertex& vertex,
                             std::span<const Digest> input_keys,
                             std::span<const Digest> input_checksums = {});

// sha256 of CacheKeyEncoding(); what a scheduler calls once a vertex's inputs
// are known (and their content checksummed).
Digest VertexCacheKey(const Vertex& vertex, std::span<const Digest> input_keys,
                      std::span<const Digest> input_checksums = {});

// The keys of every vertex of `graph`, parallel to graph.vertices(). With an
// empty `checksum`, keys depend on the definition alone. Errors are those of
// `checksum`, with the vertex digest and name and the input index prepended.
Result<std::vector<Digest>> ComputeCacheKeys(
    const Graph& graph, const ContentChecksumFn& checksum = {});

}  // namespace kiln::solver

#endif  // KILN_SOLVER_CACHE_KEY_H_
