#include "control/status_wire.h"

#include <chrono>
#include <optional>
#include <utility>

namespace kiln::control {
namespace {

using solver::ProgressClock;

void SetTime(ProgressClock::time_point t, google::protobuf::Timestamp* out) {
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
          .count();
  int64_t seconds = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

ProgressClock::time_point Time(const google::protobuf::Timestamp& t) {
  return ProgressClock::time_point(
      std::chrono::duration_cast<ProgressClock::duration>(
          std::chrono::seconds(t.seconds()) +
          std::chrono::nanoseconds(t.nanos())));
}

std::optional<ProgressClock::time_point> OptionalTime(
    bool has, const google::protobuf::Timestamp& t) {
  if (!has) return std::nullopt;
  return Time(t);
}

std::optional<Digest> ParseDigest(const std::string& text) {
  auto d = Digest::Parse(text);
  if (!d.ok()) return std::nullopt;
  return *std::move(d);
}

}  // namespace

wire::StatusResponse ToStatusResponse(const solver::VertexProgress& v) {
  wire::StatusResponse out;
  wire::Vertex* vertex = out.add_vertexes();
  vertex->set_digest(v.digest.str());
  for (const Digest& input : v.inputs) vertex->add_inputs(input.str());
  vertex->set_name(v.name);
  vertex->set_cached(v.cached);
  if (v.started) SetTime(*v.started, vertex->mutable_started());
  if (v.completed) SetTime(*v.completed, vertex->mutable_completed());
  vertex->set_error(v.error);
  if (!v.progress_group.empty()) {
    vertex->mutable_progressgroup()->set_id(v.progress_group);
  }
  return out;
}

wire::StatusResponse ToStatusResponse(const solver::VertexStatusEntry& s) {
  wire::StatusResponse out;
  wire::VertexStatus* status = out.add_statuses();
  status->set_id(s.id);
  status->set_vertex(s.vertex.str());
  status->set_name(s.name);
  status->set_current(s.current);
  status->set_total(s.total);
  SetTime(s.timestamp, status->mutable_timestamp());
  if (s.started) SetTime(*s.started, status->mutable_started());
  if (s.completed) SetTime(*s.completed, status->mutable_completed());
  return out;
}

wire::StatusResponse ToStatusResponse(const solver::VertexLogEntry& l) {
  wire::StatusResponse out;
  wire::VertexLog* log = out.add_logs();
  log->set_vertex(l.vertex.str());
  SetTime(l.timestamp, log->mutable_timestamp());
  log->set_stream(l.stream);
  log->set_msg(l.data);
  return out;
}

wire::StatusResponse ToStatusResponse(const solver::VertexWarningEntry& w) {
  wire::StatusResponse out;
  wire::VertexWarning* warning = out.add_warnings();
  warning->set_vertex(w.vertex.str());
  warning->set_level(w.level);
  warning->set_short_(w.short_message);
  for (const std::string& d : w.detail) warning->add_detail(d);
  warning->set_url(w.url);
  return out;
}

wire::VertexWarning ToVertexWarning(const gateway::Warning& w) {
  wire::VertexWarning out;
  out.set_vertex(w.vertex);
  out.set_level(w.level);
  out.set_short_(w.short_text);
  for (const std::string& d : w.detail) out.add_detail(d);
  out.set_url(w.url);
  if (!w.filename.empty()) out.mutable_info()->set_filename(w.filename);
  for (const SourceRange& r : w.ranges) {
    pb::Range* range = out.add_ranges();
    range->mutable_start()->set_line(r.line);
    range->mutable_start()->set_character(r.column);
    range->mutable_end()->set_line(r.end_line);
    range->mutable_end()->set_character(r.end_column);
  }
  return out;
}

void StatusResponseSink::OnVertex(const solver::VertexProgress& vertex) {
  emit_(ToStatusResponse(vertex));
}
void StatusResponseSink::OnStatus(const solver::VertexStatusEntry& status) {
  emit_(ToStatusResponse(status));
}
void StatusResponseSink::OnLog(const solver::VertexLogEntry& log) {
  emit_(ToStatusResponse(log));
}
void StatusResponseSink::OnWarning(const solver::VertexWarningEntry& warning) {
  emit_(ToStatusResponse(warning));
}

std::vector<gateway::Warning> ReplayStatusResponse(
    const wire::StatusResponse& response, solver::ProgressSink& sink) {
  for (const wire::Vertex& v : response.vertexes()) {
    std::optional<Digest> digest = ParseDigest(v.digest());
    if (!digest) continue;
    solver::VertexProgress event;
    event.digest = *std::move(digest);
    for (const std::string& input : v.inputs()) {
      if (auto d = ParseDigest(input)) event.inputs.push_back(*std::move(d));
    }
    event.name = v.name();
    event.started = OptionalTime(v.has_started(), v.started());
    event.completed = OptionalTime(v.has_completed(), v.completed());
    event.cached = v.cached();
    event.error = v.error();
    event.progress_group = v.progressgroup().id();
    sink.OnVertex(event);
  }
  for (const wire::VertexStatus& s : response.statuses()) {
    std::optional<Digest> digest = ParseDigest(s.vertex());
    if (!digest) continue;
    sink.OnStatus(
        {.vertex = *std::move(digest),
         .id = s.id(),
         .name = s.name(),
         .current = s.current(),
         .total = s.total(),
         .timestamp = Time(s.timestamp()),
         .started = OptionalTime(s.has_started(), s.started()),
         .completed = OptionalTime(s.has_completed(), s.completed())});
  }
  for (const wire::VertexLog& l : response.logs()) {
    std::optional<Digest> digest = ParseDigest(l.vertex());
    if (!digest) continue;
    sink.OnLog({.vertex = *std::move(digest),
                .stream = static_cast<int>(l.stream()),
                .data = l.msg(),
                .timestamp = Time(l.timestamp())});
  }
  std::vector<gateway::Warning> warnings;
  for (const wire::VertexWarning& w : response.warnings()) {
    gateway::Warning out;
    out.vertex = w.vertex();
    out.level = w.level();
    out.short_text = w.short_();
    out.detail.assign(w.detail().begin(), w.detail().end());
    out.url = w.url();
    out.filename = w.info().filename();
    for (const pb::Range& r : w.ranges()) {
      out.ranges.push_back(SourceRange{.file = out.filename,
                                       .line = r.start().line(),
                                       .column = r.start().character(),
                                       .end_line = r.end().line(),
                                       .end_column = r.end().character()});
    }
    warnings.push_back(std::move(out));
  }
  return warnings;
}

}  // namespace kiln::control
