// Progress of a solve: what the scheduler reports about each vertex, in the
// shapes of BuildKit's client.SolveStatus (Vertex, VertexStatus, VertexLog,
// VertexWarning) so that the CLI printers, the gateway and the daemon's
// Status stream consume one interface.
//
// Order per vertex: OnVertex(started) before any OnLog/OnStatus of it, then
// one final OnVertex with `completed` set (and `cached` or `error` when they
// apply). A vertex answered from the cache gets started, completed and cached
// in one final event without a separate started event being required.
// Vertices of one solve report concurrently.
//
// Thread safety: a sink is called from many scheduler threads at once; an
// implementation must serialize what it needs to. Calls must be quick (no
// blocking I/O while holding engine locks is assumed): buffer if needed.
#ifndef KILN_SOLVER_PROGRESS_H_
#define KILN_SOLVER_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"

namespace kiln::solver {

using ProgressClock = std::chrono::system_clock;

// BuildKit's client.Vertex: one op of the graph.
struct VertexProgress {
  Digest digest;               // the op digest
  std::vector<Digest> inputs;  // digests of the ops it reads
  std::string name;            // Vertex::name (llb.customname or generated)
  std::optional<ProgressClock::time_point> started;
  std::optional<ProgressClock::time_point> completed;
  bool cached = false;
  std::string error;  // non-empty when the vertex failed (or was cancelled)
  std::string progress_group;  // OpMetadata.progress_group.id, if any
};

// BuildKit's client.VertexStatus: byte or item progress inside a vertex
// (layer downloads, context transfer). `total` 0 = unknown.
struct VertexStatusEntry {
  Digest vertex;
  std::string id;  // e.g. "sha256:… (layer)" or "transferring context"
  std::string name;
  int64_t current = 0;
  int64_t total = 0;
  ProgressClock::time_point timestamp;
  std::optional<ProgressClock::time_point> started;
  std::optional<ProgressClock::time_point> completed;
};

// BuildKit's client.VertexLog: process output (stream 1 stdout, 2 stderr).
struct VertexLogEntry {
  Digest vertex;
  int stream = 1;
  std::string data;
  ProgressClock::time_point timestamp;
};

// BuildKit's client.VertexWarning.
struct VertexWarningEntry {
  Digest vertex;
  int level = 1;
  std::string short_message;
  std::vector<std::string> detail;
  std::string url;
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnVertex(const VertexProgress& vertex) = 0;
  virtual void OnStatus(const VertexStatusEntry& status) = 0;
  virtual void OnLog(const VertexLogEntry& log) = 0;
  virtual void OnWarning(const VertexWarningEntry& warning) = 0;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_PROGRESS_H_
