// The builds kilnd is running and the progress logs of recent ones, by the
// client's Ref.
//
//  - Progress(ref) gives the ProgressLog of `ref`, creating it when a Status
//    call comes before its Solve. Closed logs are dropped kLinger after
//    their build ended; logs no build ever attached to are dropped when their
//    last reader leaves (Release).
//  - Start(ref, cancelled) registers a running build: a stop_source that is
//    requested when `cancelled` (the client's RPC ended) returns true — a
//    watcher thread polls it — or when CancelAll() runs. Refused while
//    shutting down (Unavailable "kilnd is shutting down") or when `ref` is
//    already building (AlreadyExists).
//
// Thread safety: all methods may be called concurrently.
#ifndef KILN_CMD_KILND_BUILD_REGISTRY_H_
#define KILN_CMD_KILND_BUILD_REGISTRY_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "kiln/llb/status.h"
#include "kilnd/progress_log.h"

namespace kiln::kilnd {

class BuildRegistry {
 public:
  static constexpr std::chrono::seconds kLinger{60};

  BuildRegistry();
  ~BuildRegistry();  // stops the watcher; builds must have ended

  // A running build; unregisters on destruction (its log is closed then).
  class Build {
   public:
    ~Build();
    std::stop_token stop() const { return stop_.get_token(); }
    ProgressLog& progress() { return *log_; }

   private:
    friend class BuildRegistry;
    BuildRegistry* registry_ = nullptr;
    std::string ref_;
    std::shared_ptr<ProgressLog> log_;
    std::stop_source stop_;
    std::function<bool()> cancelled_;
  };

  Result<std::unique_ptr<Build>> Start(const std::string& ref,
                                       std::function<bool()> cancelled);
  std::shared_ptr<ProgressLog> Progress(const std::string& ref);
  // A reader of Progress(ref) is done with it.
  void Release(const std::string& ref);

  // New builds are refused from now on.
  void BeginShutdown();
  bool shutting_down() const;
  size_t active() const;
  // Waits until no build runs or `deadline`; true when none runs.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);
  // Requests stop of every running build.
  void CancelAll();

 private:
  void Unregister(Build* build);
  void PruneLocked();  // drops lingering logs; mu_ held
  void Watch(std::stop_token stop);

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<std::string, Build*> builds_;  // guarded by mu_
  struct LogEntry {
    std::shared_ptr<ProgressLog> log;
    int readers = 0;
    std::chrono::steady_clock::time_point ended{};  // 0 = not ended
  };
  std::map<std::string, LogEntry> logs_;  // guarded by mu_
  bool shutting_down_ = false;            // guarded by mu_
  std::jthread watcher_;
};

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_BUILD_REGISTRY_H_
