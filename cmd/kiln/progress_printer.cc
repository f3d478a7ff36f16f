#include "progress_printer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include "progress_printer_internal.h"

namespace kiln::cli {
namespace {

class QuietPrinter final : public ProgressPrinter {
 public:
  void OnVertex(const solver::VertexProgress&) override {}
  void OnStatus(const solver::VertexStatusEntry&) override {}
  void OnLog(const solver::VertexLogEntry&) override {}
  void OnWarning(const solver::VertexWarningEntry&) override {}
  void Finish() override {}
  std::string ErrorLogs() const override { return ""; }
};

}  // namespace

std::unique_ptr<ProgressPrinter> MakeQuietPrinter() {
  return std::make_unique<QuietPrinter>();
}

Result<std::unique_ptr<ProgressPrinter>> MakeProgressPrinter(
    std::string_view mode, int fd) {
  ProgressPrinterOptions options{.fd = fd};
  if (mode == "auto") mode = isatty(fd) == 1 ? "tty" : "plain";
  if (mode == "plain") return MakePlainPrinter(options);
  if (mode == "tty") return MakeTtyPrinter(options);
  if (mode == "rawjson") return MakeJsonPrinter(options);
  if (mode == "quiet") return MakeQuietPrinter();
  return InvalidArgumentError("unknown progress mode \"" + std::string(mode) +
                              "\" (want auto, plain, tty, rawjson or quiet)");
}

namespace internal {

std::string HumanBytes(int64_t bytes) {
  static const char* const kUnits[] = {"B",  "kB", "MB", "GB", "TB",
                                       "PB", "EB", "ZB", "YB"};
  if (bytes > -1000 && bytes < 1000) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while ((v >= 1000 || v <= -1000) && unit < 8) {
    v /= 1000;
    ++unit;
  }
  return Format("%.2f%s", v, kUnits[unit]);
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report it: progress is best effort
    data.remove_prefix(static_cast<size_t>(n));
  }
}

double Seconds(solver::ProgressClock::time_point from,
               solver::ProgressClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

bool IsCancelError(std::string_view error) {
  for (std::string_view suffix :
       {"context canceled", "canceled", "cancelled"}) {
    if (error.size() >= suffix.size() &&
        error.substr(error.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

std::string Format(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, format, args);
  va_end(args);
  return out;
}

void SplitLines(std::string_view data,
                const std::function<void(std::string_view line, bool first,
                                         bool complete)>& fn) {
  bool first = true;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      fn(data, first, false);
      return;
    }
    fn(data.substr(0, nl), first, true);
    data.remove_prefix(nl + 1);
    first = false;
  }
}

std::string StatusText(const solver::VertexStatusEntry& s) {
  std::string out = s.id;
  if (s.total != 0) {
    out += ' ';
    out += HumanBytes(s.current);
    out += " / ";
    out += HumanBytes(s.total);
  } else if (s.current != 0) {
    out += ' ';
    out += HumanBytes(s.current);
  }
  auto end = s.completed.value_or(s.timestamp);
  if (s.started) {
    double diff = Seconds(*s.started, end);
    if (diff > 0.01) out += Format(" %.1fs", diff);
  }
  if (s.completed) out += " done";
  return out;
}

bool FailedBecauseOfAnother(std::string_view error, std::string_view self,
                            const std::vector<std::string>& failed) {
  for (const std::string& name : failed) {
    if (name == self) continue;
    std::string quoted = "\"" + name + "\"";
    if (error.find(quoted) != std::string_view::npos) return true;
  }
  return false;
}

std::string ErrorBlock(const std::string& name,
                       const std::vector<std::string>& lines) {
  std::string out = "------\n > " + name + ":\n";
  for (const std::string& line : lines) out += line + "\n";
  out += "------\n";
  return out;
}

}  // namespace internal
}  // namespace kiln::cli
