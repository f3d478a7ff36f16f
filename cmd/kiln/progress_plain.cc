// The plain printer: BuildKit's progressui text output (printer.go), written
// as events arrive instead of on a 70 ms tick, so that its output depends
// only on the events and is exactly testable.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "progress_printer.h"
#include "progress_printer_internal.h"

namespace kiln::cli {
namespace {

using solver::ProgressClock;

// BuildKit's minProgressDelta and minTimeDelta: a status update that moved
// less than 5% and came less than 5 s after the last printed one is skipped.
constexpr double kMinProgressDelta = 0.05;
constexpr double kMinTimeDelta = 5.0;

struct Vertex {
  int index = 0;  // 0 until first printed
  std::string name;
  std::optional<ProgressClock::time_point> started;
  bool ended = false;  // its DONE/CACHED/ERROR line was printed
  std::string error;
  bool logs_partial = false;  // the last log line has no newline yet
  bool partial_open = false;  // ... and it is the last thing on the screen
  std::string partial;        // that line as printed ("#N 0.123 text")
  internal::LogTail tail;
};

struct LastStatus {
  int64_t current = 0;
  ProgressClock::time_point timestamp;
};

class PlainPrinter final : public ProgressPrinter {
 public:
  explicit PlainPrinter(int fd) : fd_(fd) {}

  void OnVertex(const solver::VertexProgress& event) override {
    std::lock_guard lock(mu_);
    Vertex& v = vertices_[event.digest.str()];
    v.name = event.name;
    if (event.started) v.started = event.started;
    if (!event.error.empty()) v.error = event.error;
    if (!event.started && !event.completed) return;  // not running yet
    std::string out;
    const std::string key = event.digest.str();
    if (!event.completed) {
      if (v.index == 0) Switch(key, v, out);  // a start: show its header
      Write(out);
      return;
    }
    if (v.ended) return;
    v.ended = true;
    Switch(key, v, out);
    if (v.logs_partial) {
      out += '\n';
      v.tail.Push(v.partial);
      v.logs_partial = v.partial_open = false;
    }
    const std::string n = internal::Format("#%d", v.index);
    if (!event.error.empty()) {
      out += internal::IsCancelError(event.error)
                 ? n + " CANCELED\n"
                 : n + " ERROR: " + event.error + "\n";
    } else if (event.cached) {
      out += n + " CACHED\n";
    } else {
      out += n + " DONE";
      if (v.started) {
        out += internal::Format(
            " %.1fs", internal::Seconds(*v.started, *event.completed));
      }
      out += '\n';
    }
    current_.clear();
    Write(out);
  }

  void OnStatus(const solver::VertexStatusEntry& s) override {
    std::lock_guard lock(mu_);
    auto it = vertices_.find(s.vertex.str());
    // BuildKit lists a status once it has started.
    if (it == vertices_.end() || !s.started) return;
    if (auto last = last_.find(s.id); last != last_.end() && !s.completed) {
      double progress =
          s.total > 0 ? static_cast<double>(s.current - last->second.current) /
                            static_cast<double>(s.total)
                      : 0;
      double elapsed = internal::Seconds(last->second.timestamp, s.timestamp);
      if (progress < kMinProgressDelta && elapsed < kMinTimeDelta) return;
    }
    last_[s.id] = LastStatus{s.current, s.timestamp};
    std::string out;
    Switch(it->first, it->second, out);
    out += internal::Format("#%d", it->second.index) + " " +
           internal::StatusText(s) + "\n";
    Write(out);
  }

  void OnLog(const solver::VertexLogEntry& log) override {
    std::lock_guard lock(mu_);
    auto it = vertices_.find(log.vertex.str());
    if (it == vertices_.end() || log.data.empty()) return;
    Vertex& v = it->second;
    std::string out;
    Switch(it->first, v, out);
    const double ts =
        v.started ? internal::Seconds(*v.started, log.timestamp) : 0;
    internal::SplitLines(
        log.data, [&](std::string_view line, bool first, bool complete) {
          if (first && v.logs_partial) {
            if (!v.partial_open) out += v.partial;  // reprint after a switch
            v.partial += line;
          } else {
            std::string prefix = internal::Format("#%d %.3f ", v.index, ts);
            out += prefix;
            v.partial = prefix + std::string(line);
          }
          out += line;
          if (complete) {
            out += '\n';
            v.tail.Push(std::move(v.partial));
            v.partial.clear();
          }
          v.logs_partial = v.partial_open = !complete;
        });
    Write(out);
  }

  void OnWarning(const solver::VertexWarningEntry& w) override {
    std::lock_guard lock(mu_);
    auto it = vertices_.find(w.vertex.str());
    if (it == vertices_.end()) return;
    std::string out;
    Switch(it->first, it->second, out);
    out += internal::Format("#%d", it->second.index) +
           " WARN: " + w.short_message + "\n";
    Write(out);
  }

  void Finish() override {
    std::lock_guard lock(mu_);
    if (current_.empty()) return;
    Vertex& v = vertices_[current_];
    if (v.partial_open) {
      Write("\n");
      v.partial_open = false;
    }
  }

  std::string ErrorLogs() const override {
    std::lock_guard lock(mu_);
    std::vector<const Vertex*> order;
    for (const auto& [key, v] : vertices_) {
      if (v.index > 0) order.push_back(&v);
    }
    std::sort(order.begin(), order.end(), [](const Vertex* a, const Vertex* b) {
      return a->index < b->index;
    });
    std::vector<std::string> failed;
    for (const Vertex* v : order) {
      if (!v->error.empty() && !internal::IsCancelError(v->error)) {
        failed.push_back(v->name);
      }
    }
    std::string out;
    for (const Vertex* v : order) {
      if (v->error.empty() || internal::IsCancelError(v->error)) continue;
      if (internal::FailedBecauseOfAnother(v->error, v->name, failed)) continue;
      std::vector<std::string> lines(v->tail.lines().begin(),
                                     v->tail.lines().end());
      if (v->logs_partial) lines.push_back(v->partial);
      out += internal::ErrorBlock(v->name, lines);
    }
    return out;
  }

 private:
  // Makes `key` the vertex whose output follows: closes the block of the
  // current one ("#N ...") and opens the new one's ("\n#M name").
  void Switch(const std::string& key, Vertex& v, std::string& out) {
    if (v.index == 0) v.index = ++next_index_;
    if (key == current_) return;
    if (!current_.empty()) {
      Vertex& old = vertices_[current_];
      if (old.partial_open) {
        out += '\n';
        old.partial_open = false;
      }
      out += internal::Format("#%d", old.index) + " ...\n";
    }
    if (not_first_) out += '\n';
    not_first_ = true;
    out += internal::Format("#%d", v.index) + " " + v.name + "\n";
    current_ = key;
  }

  void Write(std::string_view data) {
    if (!data.empty()) internal::WriteAll(fd_, data);
  }

  const int fd_;
  mutable std::mutex mu_;
  // Guarded by mu_:
  std::map<std::string, Vertex> vertices_;  // by digest
  std::map<std::string, LastStatus> last_;  // by status id
  std::string current_;                     // digest of the open block
  int next_index_ = 0;
  bool not_first_ = false;
};

}  // namespace

std::unique_ptr<ProgressPrinter> MakePlainPrinter(
    const ProgressPrinterOptions& options) {
  return std::make_unique<PlainPrinter>(options.fd);
}

}  // namespace kiln::cli
