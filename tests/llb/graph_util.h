// Test helpers: marshal a State and look at the ops it produced.
#ifndef KILN_TESTS_LLB_GRAPH_UTIL_H_
#define KILN_TESTS_LLB_GRAPH_UTIL_H_

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "kiln/llb/definition.h"
#include "kiln/llb/state.h"

namespace kiln::llb::testing {

struct Graph {
  pb::Definition def;
  std::vector<pb::Op> ops;  // def order; the terminal op last
  std::vector<Digest> digests;

  // The op the marshaled state is an output of (the terminal's input).
  const pb::Op& Result() const { return ops[ops.size() - 2]; }
  const pb::OpMetadata& Metadata(size_t i) const {
    return def.metadata().at(digests[i].str());
  }
  const pb::OpMetadata& ResultMetadata() const {
    return Metadata(ops.size() - 2);
  }
  bool HasCap(size_t i, const std::string& cap) const {
    return Metadata(i).caps().contains(cap);
  }
  // Index in `ops` of the op with this digest, or -1.
  int IndexOf(const std::string& digest) const {
    for (size_t i = 0; i < digests.size(); ++i) {
      if (digests[i].str() == digest) return static_cast<int>(i);
    }
    return -1;
  }
};

inline MarshalOptions Amd64() {
  MarshalOptions o;
  o.platform = Platform{"linux", "amd64", "", "", {}};
  return o;
}

inline Graph MarshalOk(const State& s,
                       const MarshalOptions& options = Amd64()) {
  Graph g;
  auto def = s.Marshal(options);
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  if (!def.ok()) return g;
  g.def = *def;
  auto loaded = LoadDefinition(g.def);  // also checks the structure
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (const auto& bytes : g.def.def()) {
    pb::Op op;
    EXPECT_TRUE(op.ParseFromString(bytes));
    g.ops.push_back(op);
    g.digests.push_back(Digest::FromBytes(bytes));
  }
  return g;
}

inline Status MarshalError(const State& s,
                           const MarshalOptions& options = Amd64()) {
  auto def = s.Marshal(options);
  EXPECT_FALSE(def.ok()) << "marshal unexpectedly succeeded";
  return def.ok() ? Status() : def.status();
}

// Every cap in `want` is in op i's metadata.
inline void ExpectCaps(const Graph& g, size_t i,
                       std::initializer_list<const char*> want) {
  for (const char* cap : want)
    EXPECT_TRUE(g.HasCap(i, cap)) << "op " << i << " lacks cap " << cap;
}

// Each key of `want` is in `attrs` with that value.
inline void ExpectAttrs(
    const google::protobuf::Map<std::string, std::string>& attrs,
    const std::map<std::string, std::string>& want) {
  for (const auto& [key, value] : want) {
    auto it = attrs.find(key);
    if (it == attrs.end()) {
      ADD_FAILURE() << "missing attr " << key;
    } else {
      EXPECT_EQ(it->second, value) << "attr " << key;
    }
  }
}

}  // namespace kiln::llb::testing

#endif  // KILN_TESTS_LLB_GRAPH_UTIL_H_
