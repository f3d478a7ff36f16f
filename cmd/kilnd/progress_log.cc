#include "kilnd/progress_log.h"

#include <utility>

namespace kiln::kilnd {
namespace {

// The kinds a response holds, in the order a StatusResponse is replayed.
int FirstKind(const ProgressLog::Response& r) {
  if (r.vertexes_size() > 0) return 0;
  if (r.statuses_size() > 0) return 1;
  if (r.logs_size() > 0) return 2;
  return 3;
}
int LastKind(const ProgressLog::Response& r) {
  if (r.warnings_size() > 0) return 3;
  if (r.logs_size() > 0) return 2;
  if (r.statuses_size() > 0) return 1;
  return 0;
}

}  // namespace

void ProgressLog::Append(Response response) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    ClipLogs(response);
    entries_.push_back(std::move(response));
  }
  cv_.notify_all();
}

// As BuildKit's step log limit (BUILDKIT_STEP_LOG_MAX_SIZE, 2 MiB): a
// vertex's output beyond the limit is dropped with one notice, so that a
// chatty step cannot grow the daemon's memory without bound.
void ProgressLog::ClipLogs(Response& response) {
  auto* logs = response.mutable_logs();
  int kept = 0;
  for (int i = 0; i < logs->size(); ++i) {
    auto& log = (*logs)[i];
    int64_t& used = log_bytes_[log.vertex()];
    if (used > kMaxLogBytesPerVertex) continue;  // clipped: notice sent
    const int64_t room = kMaxLogBytesPerVertex - used;
    if (static_cast<int64_t>(log.msg().size()) > room) {
      log.mutable_msg()->resize(static_cast<size_t>(room));
      log.mutable_msg()->append("\n[output clipped, log limit 2MiB reached]\n");
      used = kMaxLogBytesPerVertex + 1;
    } else {
      used += static_cast<int64_t>(log.msg().size());
    }
    if (kept != i) logs->SwapElements(kept, i);
    ++kept;
  }
  while (logs->size() > kept) logs->RemoveLast();
}

void ProgressLog::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool ProgressLog::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void ProgressLog::MarkStarted() {
  std::lock_guard lock(mu_);
  started_ = true;
}

bool ProgressLog::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

std::vector<ProgressLog::Response> ProgressLog::Read(
    size_t& next, std::chrono::milliseconds timeout, bool& done) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout,
               [&] { return next < entries_.size() || closed_; });
  std::vector<Response> out;
  // Batches stay small enough for a gRPC message.
  constexpr size_t kMaxBatch = 256;
  size_t in_batch = 0;
  for (; next < entries_.size(); ++next) {
    const Response& r = entries_[next];
    if (out.empty() || in_batch >= kMaxBatch ||
        FirstKind(r) < LastKind(out.back())) {
      out.push_back(r);
      in_batch = 1;
    } else {
      out.back().MergeFrom(r);
      ++in_batch;
    }
  }
  done = closed_ && next >= entries_.size();
  return out;
}

}  // namespace kiln::kilnd
