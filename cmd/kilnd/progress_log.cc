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
    entries_.push_back(std::move(response));
  }
  cv_.notify_all();
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
