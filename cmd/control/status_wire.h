// Progress on the wire: the solver's progress events (solver/progress.h) as
// Control.Status's StatusResponse messages and back, so that kilnd's Status
// stream and the CLI's remote mode convert in one place and the CLI's
// printers show a remote build exactly as an embedded one.
//
// Frontend warnings (gateway::Warning, with file and ranges) travel as
// VertexWarning with SourceInfo.filename and ranges, as BuildKit sends them.
#ifndef KILN_CMD_CONTROL_STATUS_WIRE_H_
#define KILN_CMD_CONTROL_STATUS_WIRE_H_

#include <functional>
#include <vector>

#include "api/services/control/control.pb.h"
#include "kiln/gateway/bridge_server.h"
#include "kiln/solver/progress.h"

namespace kiln::control {

namespace wire = ::moby::buildkit::v1;

// One StatusResponse per event.
wire::StatusResponse ToStatusResponse(const solver::VertexProgress& vertex);
wire::StatusResponse ToStatusResponse(const solver::VertexStatusEntry& status);
wire::StatusResponse ToStatusResponse(const solver::VertexLogEntry& log);
wire::StatusResponse ToStatusResponse(const solver::VertexWarningEntry& w);
wire::VertexWarning ToVertexWarning(const gateway::Warning& warning);

// A ProgressSink that turns each event into a StatusResponse and hands it to
// `emit` (called from the reporting thread; it must be thread-safe and
// quick).
class StatusResponseSink : public solver::ProgressSink {
 public:
  using Emit = std::function<void(wire::StatusResponse)>;
  explicit StatusResponseSink(Emit emit) : emit_(std::move(emit)) {}

  void OnVertex(const solver::VertexProgress& vertex) override;
  void OnStatus(const solver::VertexStatusEntry& status) override;
  void OnLog(const solver::VertexLogEntry& log) override;
  void OnWarning(const solver::VertexWarningEntry& warning) override;

 private:
  Emit emit_;
};

// Replays `response` into `sink`: vertexes, then statuses, then logs, in
// message order (the order a StatusResponse's producer saw them). Entries
// whose digest does not parse are skipped (a peer's bug must not crash the
// printer). Warnings are returned rather than replayed: the CLI prints them
// after the build as the embedded engine does.
std::vector<gateway::Warning> ReplayStatusResponse(
    const wire::StatusResponse& response, solver::ProgressSink& sink);

}  // namespace kiln::control

#endif  // KILN_CMD_CONTROL_STATUS_WIRE_H_
