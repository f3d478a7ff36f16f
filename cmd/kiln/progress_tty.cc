// The tty printer: BuildKit's console display (display.go), redrawn in
// place. Each frame moves the cursor up over the previous one, clears to the
// end of the screen and prints the header and one line per vertex (and per
// status), with the last log lines of running vertices under them.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "progress_printer.h"
#include "progress_printer_internal.h"

namespace kiln::cli {
namespace {

using solver::ProgressClock;

constexpr size_t kShownLogLines = 6;  // under a running vertex
constexpr const char* kBlue = "\x1b[34m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kReset = "\x1b[0m";

struct Vertex {
  int index = 0;
  std::string name;
  std::optional<ProgressClock::time_point> started, completed;
  bool cached = false;
  std::string error;
  std::vector<std::string> status_order;  // ids, in order of start
  std::map<std::string, solver::VertexStatusEntry> statuses;
  internal::LogTail shown{kShownLogLines};  // log text as shown
  internal::LogTail tail;                   // "#N 0.123 text" for errors
  bool logs_partial = false;
  std::string partial_text, partial_line;
};

class TtyPrinter final : public ProgressPrinter {
 public:
  explicit TtyPrinter(const ProgressPrinterOptions& options)
      : options_(options) {
    if (!options_.now) options_.now = [] { return ProgressClock::now(); };
    start_ = options_.now();
    if (options_.redraw_ms > 0) {
      ticker_ = std::thread([this] { Tick(); });
    }
  }
  ~TtyPrinter() override { Finish(); }

  void OnVertex(const solver::VertexProgress& event) override {
    std::lock_guard lock(mu_);
    Vertex& v = Find(event.digest.str());
    v.name = event.name;
    if (event.started && !v.started) {
      if (!any_started_) start_ = *event.started;
      any_started_ = true;
      v.started = event.started;
      order_.push_back(event.digest.str());
    }
    if (event.completed) v.completed = event.completed;
    v.cached = v.cached || event.cached;
    if (!event.error.empty()) v.error = event.error;
  }

  void OnStatus(const solver::VertexStatusEntry& s) override {
    std::lock_guard lock(mu_);
    auto it = vertices_.find(s.vertex.str());
    if (it == vertices_.end()) return;
    Vertex& v = it->second;
    auto [entry, inserted] = v.statuses.try_emplace(s.id, s);
    if (!inserted) entry->second = s;
    if (inserted) v.status_order.push_back(s.id);
  }

  void OnLog(const solver::VertexLogEntry& log) override {
    std::lock_guard lock(mu_);
    auto it = vertices_.find(log.vertex.str());
    if (it == vertices_.end()) return;
    Vertex& v = it->second;
    double ts = v.started ? internal::Seconds(*v.started, log.timestamp) : 0;
    internal::SplitLines(
        log.data, [&](std::string_view line, bool first, bool complete) {
          if (!(first && v.logs_partial)) {
            v.partial_text.clear();
            v.partial_line = internal::Format("#%d %.3f ", v.index, ts);
          }
          v.partial_text += line;
          v.partial_line += line;
          if (complete) {
            v.shown.Push(std::move(v.partial_text));
            v.tail.Push(std::move(v.partial_line));
            v.partial_text.clear();
            v.partial_line.clear();
          }
          v.logs_partial = !complete;
        });
  }

  void OnWarning(const solver::VertexWarningEntry& w) override {
    std::lock_guard lock(mu_);
    warnings_.push_back("WARN: " + w.short_message);
  }

  void Finish() override {
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    std::lock_guard lock(mu_);
    Draw(true);
  }

  std::string ErrorLogs() const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> failed;
    for (const std::string& key : order_) {
      const Vertex& v = vertices_.at(key);
      if (!v.error.empty() && !internal::IsCancelError(v.error)) {
        failed.push_back(v.name);
      }
    }
    std::string out;
    for (const std::string& key : order_) {
      const Vertex& v = vertices_.at(key);
      if (v.error.empty() || internal::IsCancelError(v.error)) continue;
      if (internal::FailedBecauseOfAnother(v.error, v.name, failed)) continue;
      std::vector<std::string> lines(v.tail.lines().begin(),
                                     v.tail.lines().end());
      if (v.logs_partial) lines.push_back(v.partial_line);
      out += internal::ErrorBlock(v.name, lines);
    }
    return out;
  }

 private:
  Vertex& Find(const std::string& key) {
    Vertex& v = vertices_[key];
    if (v.index == 0) v.index = ++next_index_;
    return v;
  }

  void Tick() {
    std::unique_lock lock(mu_);
    while (!finished_) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.redraw_ms));
      if (finished_) break;
      Draw(false);
    }
  }

  // One line: " => name [status]" and the timer aligned to the width.
  std::string JobLine(const std::string& name, const std::string& status,
                      double seconds, int width) const {
    if (seconds < 0.05) seconds = 0;
    std::string timer = internal::Format(" %3.1fs", seconds);
    int left = width - 4 - static_cast<int>(timer.size()) - 2;
    bool show_status = false;
    if (!status.empty() && left + static_cast<int>(status.size()) > 20) {
      show_status = true;
      left -= static_cast<int>(status.size()) + 1;
    }
    if (left < 12) return "";  // too narrow
    std::string out = " => " + name.substr(0, static_cast<size_t>(left));
    if (show_status) out += " " + status;
    size_t pad = static_cast<size_t>(width) - timer.size() - 2;
    if (out.size() < pad) out.append(pad - out.size(), ' ');
    return out + " " + timer;
  }

  void Draw(bool final) {
    int width = options_.width, height = options_.height;
    winsize ws{};
    if (ioctl(options_.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
        ws.ws_row > 0) {
      width = ws.ws_col;
      height = ws.ws_row;
    }
    const auto now = options_.now();
    int completed = 0;
    for (const auto& [key, v] : vertices_) completed += v.completed ? 1 : 0;
    const int total = static_cast<int>(vertices_.size());
    std::vector<std::string> lines;
    for (const std::string& key : order_) {
      const Vertex& v = vertices_.at(key);
      std::string name = v.name;
      std::replace(name.begin(), name.end(), '\t', ' ');
      const char* color = v.completed ? kBlue : nullptr;
      if (!v.error.empty()) {
        bool cancel = internal::IsCancelError(v.error);
        name = (cancel ? "CANCELED " : "ERROR ") + name;
        color = cancel ? kYellow : kRed;
      }
      if (v.cached) name = "CACHED " + name;
      auto Add = [&](std::string line, const char* c) {
        if (line.empty()) return;
        lines.push_back(c ? std::string(c) + line + kReset : line);
      };
      Add(JobLine(name, "",
                  internal::Seconds(*v.started, v.completed.value_or(now)),
                  width),
          color);
      for (const std::string& id : v.status_order) {
        const auto& s = v.statuses.at(id);
        if (!s.started) continue;
        std::string status;
        if (s.total != 0) {
          status = internal::HumanBytes(s.current) + " / " +
                   internal::HumanBytes(s.total);
        } else if (s.current != 0) {
          status = internal::HumanBytes(s.current);
        }
        Add(JobLine("=> " + id, status,
                    internal::Seconds(*s.started, s.completed.value_or(now)),
                    width),
            s.completed ? kBlue : nullptr);
      }
      // The final frame collapses: no logs, whatever the state.
      if (!v.completed && !final) {
        std::vector<std::string> logs(v.shown.lines().begin(),
                                      v.shown.lines().end());
        if (v.logs_partial) logs.push_back(v.partial_text);
        size_t from =
            logs.size() > kShownLogLines ? logs.size() - kShownLogLines : 0;
        for (size_t i = from; i < logs.size(); ++i) {
          std::string line = " => => # " + logs[i];
          if (static_cast<int>(line.size()) > width - 1) {
            line.resize(static_cast<size_t>(std::max(width - 1, 0)));
          }
          lines.push_back(std::move(line));
        }
      }
    }
    if (!final && static_cast<int>(lines.size()) > height - 2) {
      lines.erase(lines.begin(), lines.end() - std::max(height - 2, 0));
    }
    std::string header =
        internal::Format("[+] Building %.1fs (%d/%d)",
                         internal::Seconds(start_, now), completed, total);
    // As buildx: the last frame says FINISHED, whether the build
    // succeeded, failed or was cancelled (the error follows it).
    if (final && total > 0) header += " FINISHED";
    std::string out = "\x1b[?25l";
    if (drawn_lines_ > 0) out += internal::Format("\x1b[%dA", drawn_lines_);
    out += "\r\x1b[J" + header + "\n";
    for (const std::string& line : lines) out += line + "\n";
    if (final) {
      for (const std::string& w : warnings_) out += w + "\n";
    }
    out += "\x1b[?25h";
    drawn_lines_ = static_cast<int>(lines.size()) + 1;
    internal::WriteAll(options_.fd, out);
  }

  ProgressPrinterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_:
  std::map<std::string, Vertex> vertices_;
  std::vector<std::string> order_;  // digests of started vertices
  std::vector<std::string> warnings_;
  ProgressClock::time_point start_;
  bool any_started_ = false;
  int next_index_ = 0;
  int drawn_lines_ = 0;
  bool finished_ = false;
  std::thread ticker_;  // set in the constructor only
};

}  // namespace

std::unique_ptr<ProgressPrinter> MakeTtyPrinter(
    const ProgressPrinterOptions& options) {
  return std::make_unique<TtyPrinter>(options);
}

}  // namespace kiln::cli
