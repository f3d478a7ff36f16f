// One build's progress as the StatusResponse messages of Control.Status,
// kept for the build's life so that a Status call made before the Solve
// arrives, or after it started, replays everything from the beginning.
// Each vertex's log output is kept up to 2 MiB (then a clipped notice), as
// BuildKit limits step logs.
//
// Thread safety: all methods may be called concurrently.
#ifndef KILN_CMD_KILND_PROGRESS_LOG_H_
#define KILN_CMD_KILND_PROGRESS_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "api/services/control/control.pb.h"

namespace kiln::kilnd {

class ProgressLog {
 public:
  using Response = ::moby::buildkit::v1::StatusResponse;

  // Appends one update. Ignored after Close().
  void Append(Response response);
  // The build ended: readers get what is left and then the end.
  void Close();
  bool closed() const;
  // Marks that a build is attached (a Solve with this ref is running or ran).
  void MarkStarted();
  bool started() const;

  // Waits up to `timeout` for updates from index `next` on; returns them
  // merged into as few responses as keep their order (a vertex update never
  // moves ahead of an earlier log line) and advances `next`. `done` is set
  // when the log is closed and everything was returned.
  std::vector<Response> Read(size_t& next, std::chrono::milliseconds timeout,
                             bool& done);

 private:
  static constexpr int64_t kMaxLogBytesPerVertex = 2 << 20;
  void ClipLogs(Response& response);  // mu_ held

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Response> entries_;             // guarded by mu_
  bool closed_ = false;                       // guarded by mu_
  bool started_ = false;                      // guarded by mu_
  std::map<std::string, int64_t> log_bytes_;  // per vertex; guarded by mu_
};

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_PROGRESS_LOG_H_
