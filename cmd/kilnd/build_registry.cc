#include "kilnd/build_registry.h"

#include <vector>

namespace kiln::kilnd {

BuildRegistry::BuildRegistry()
    : watcher_([this](std::stop_token stop) { Watch(stop); }) {}

BuildRegistry::~BuildRegistry() {
  watcher_.request_stop();
  if (watcher_.joinable()) watcher_.join();
}

BuildRegistry::Build::~Build() {
  if (registry_ != nullptr) registry_->Unregister(this);
}

Result<std::unique_ptr<BuildRegistry::Build>> BuildRegistry::Start(
    const std::string& ref, std::function<bool()> cancelled) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return UnavailableError("kilnd is shutting down");
  if (builds_.count(ref) > 0) {
    return AlreadyExistsError("a build with ref \"" + ref +
                              "\" is already running");
  }
  PruneLocked();
  LogEntry& entry = logs_[ref];
  if (entry.log == nullptr || entry.log->closed()) {
    // A finished build's log is not reused: its readers have seen its end.
    entry.log = std::make_shared<ProgressLog>();
    entry.ended = {};
  }
  entry.log->MarkStarted();
  auto build = std::make_unique<Build>();
  build->registry_ = this;
  build->ref_ = ref;
  build->log_ = entry.log;
  build->cancelled_ = std::move(cancelled);
  builds_[ref] = build.get();
  return build;
}

void BuildRegistry::Unregister(Build* build) {
  build->log_->Close();
  {
    std::lock_guard lock(mu_);
    builds_.erase(build->ref_);
    auto it = logs_.find(build->ref_);
    if (it != logs_.end() && it->second.log == build->log_) {
      it->second.ended = std::chrono::steady_clock::now();
    }
  }
  idle_cv_.notify_all();
}

std::shared_ptr<ProgressLog> BuildRegistry::Progress(const std::string& ref) {
  std::lock_guard lock(mu_);
  PruneLocked();
  LogEntry& entry = logs_[ref];
  if (entry.log == nullptr) entry.log = std::make_shared<ProgressLog>();
  ++entry.readers;
  return entry.log;
}

void BuildRegistry::Release(const std::string& ref) {
  std::lock_guard lock(mu_);
  auto it = logs_.find(ref);
  if (it == logs_.end()) return;
  if (--it->second.readers <= 0 && !it->second.log->started()) {
    logs_.erase(it);
  }
}

void BuildRegistry::PruneLocked() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = logs_.begin(); it != logs_.end();) {
    const LogEntry& e = it->second;
    bool expired = e.ended != std::chrono::steady_clock::time_point{} &&
                   now - e.ended > kLinger && e.readers <= 0;
    it = expired ? logs_.erase(it) : std::next(it);
  }
}

void BuildRegistry::BeginShutdown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
}

bool BuildRegistry::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t BuildRegistry::active() const {
  std::lock_guard lock(mu_);
  return builds_.size();
}

bool BuildRegistry::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, deadline, [&] { return builds_.empty(); });
}

void BuildRegistry::CancelAll() {
  std::lock_guard lock(mu_);
  for (auto& [ref, build] : builds_) build->stop_.request_stop();
}

void BuildRegistry::Watch(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::lock_guard lock(mu_);
      for (auto& [ref, build] : builds_) {
        if (!build->stop_.stop_requested() && build->cancelled_ &&
            build->cancelled_()) {
          build->stop_.request_stop();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace kiln::kilnd
