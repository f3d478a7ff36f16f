// Progress printers of `kiln build`: solver::ProgressSink implementations
// that render a solve's events like BuildKit's progressui does.
//
//  - plain: BuildKit's `--progress plain` text, one line per event, written
//    as events arrive: "#N name" when vertex N (numbered in order of first
//    appearance) starts or output switches back to it, "#N 0.123 text" for
//    its log lines (seconds since the vertex started), "#N id 1.05MB /
//    2.10MB 0.3s" for byte progress, "#N WARN: …", and one of "#N DONE 1.2s",
//    "#N CACHED", "#N ERROR: msg", "#N CANCELED" when it ends. When another
//    vertex's output interrupts a running one, "#N ..." closes the block.
//  - tty: a live view redrawn in place with ANSI escapes at most every
//    100 ms by a ticker thread: "[+] Building 12.3s (5/7)", one line per
//    vertex with its time (parallel steps each on their line), the last log
//    lines of running vertices. Finish() replaces it with the compact final
//    list, as buildx does: "[+] Building 12.3s (7/7) FINISHED" and every
//    vertex on one line with its time (CACHED / ERROR prefixes), no logs.
//
// ErrorLogs() leaves out a vertex whose error quotes another failed
// vertex's name (a frontend whose nested solve failed): the step that
// failed carries the log tail.
//  - rawjson: one BuildKit client.SolveStatus JSON object per event and line.
//  - quiet: nothing.
//
// Thread safety: the On* callbacks may be called from many threads at once;
// Finish() and ErrorLogs() must be called once every callback has returned.
// Output goes to a file descriptor the printer does not own.
#ifndef KILN_CMD_KILN_PROGRESS_PRINTER_H_
#define KILN_CMD_KILN_PROGRESS_PRINTER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kiln/llb/status.h"
#include "kiln/solver/progress.h"

namespace kiln::cli {

using ProgressNow = std::function<solver::ProgressClock::time_point()>;

class ProgressPrinter : public solver::ProgressSink {
 public:
  // Ends the output: completes a partial log line, draws the tty's final
  // frame and stops its ticker. Idempotent.
  virtual void Finish() = 0;

  // For failed vertices (not cancelled ones), BuildKit's error block:
  // "------\n > NAME:\n" then up to the last 10 log lines ("#N 0.123 text")
  // then "------\n". Empty when no vertex failed. Call after Finish().
  virtual std::string ErrorLogs() const = 0;
};

struct ProgressPrinterOptions {
  int fd = 2;
  // The clock for elapsed times not carried by events (tty redraws); the
  // system clock when empty.
  ProgressNow now;
  // tty only: terminal size when the fd reports none; and the redraw period
  // (0 disables the ticker thread: frames are drawn by Finish() only).
  int width = 80;
  int height = 24;
  int redraw_ms = 100;
};

std::unique_ptr<ProgressPrinter> MakePlainPrinter(
    const ProgressPrinterOptions& options);
std::unique_ptr<ProgressPrinter> MakeTtyPrinter(
    const ProgressPrinterOptions& options);
std::unique_ptr<ProgressPrinter> MakeJsonPrinter(
    const ProgressPrinterOptions& options);
std::unique_ptr<ProgressPrinter> MakeQuietPrinter();

// `mode` is auto (tty when `fd` is a terminal, else plain), plain, tty,
// rawjson or quiet. InvalidArgument for another mode.
Result<std::unique_ptr<ProgressPrinter>> MakeProgressPrinter(
    std::string_view mode, int fd);

// Helpers shared by the printers (exposed for tests).
namespace internal {
// BuildKit's units.Bytes with "%.2f": "512B", "1.05MB", "34.87kB".
std::string HumanBytes(int64_t bytes);
// Writes all of `data` to `fd`, retrying on EINTR and short writes.
void WriteAll(int fd, std::string_view data);
// Seconds from `from` to `to` (may be negative).
double Seconds(solver::ProgressClock::time_point from,
               solver::ProgressClock::time_point to);
// True for the errors BuildKit shows as CANCELED.
bool IsCancelError(std::string_view error);
}  // namespace internal

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_PROGRESS_PRINTER_H_
