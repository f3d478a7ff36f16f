// Topological order and cycle detection over an index graph (graph.h).
#include <algorithm>
#include <cstdint>
#include <utility>

#include "kiln/solver/graph.h"

namespace kiln::solver::internal {

NodeOrder OrderNodes(const std::vector<std::vector<int>>& deps,
                     const std::vector<int>& roots) {
  enum : uint8_t { kNew, kOnPath, kDone };
  std::vector<uint8_t> state(deps.size(), kNew);
  NodeOrder result;
  // The DFS path: each frame is a node and the next dependency to visit.
  std::vector<std::pair<int, size_t>> path;
  for (int root : roots) {
    if (state[static_cast<size_t>(root)] != kNew) continue;
    state[static_cast<size_t>(root)] = kOnPath;
    path.emplace_back(root, 0);
    while (!path.empty()) {
      auto& [node, next] = path.back();
      const std::vector<int>& edges = deps[static_cast<size_t>(node)];
      if (next == edges.size()) {
        state[static_cast<size_t>(node)] = kDone;
        result.order.push_back(node);
        path.pop_back();
        continue;
      }
      int dep = edges[next++];
      uint8_t& dep_state = state[static_cast<size_t>(dep)];
      if (dep_state == kDone) continue;
      if (dep_state == kOnPath) {
        auto start = std::find_if(
            path.begin(), path.end(),
            [dep](const auto& frame) { return frame.first == dep; });
        for (auto it = start; it != path.end(); ++it)
          result.cycle.push_back(it->first);
        result.cycle.push_back(dep);
        result.order.clear();
        return result;
      }
      dep_state = kOnPath;
      path.emplace_back(dep, 0);
    }
  }
  return result;
}

}  // namespace kiln::solver::internal
