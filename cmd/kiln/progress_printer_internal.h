// Formatting pieces shared by the progress printers (progress_*.cc).
#ifndef KILN_CMD_KILN_PROGRESS_PRINTER_INTERNAL_H_
#define KILN_CMD_KILN_PROGRESS_PRINTER_INTERNAL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/solver/progress.h"

namespace kiln::cli::internal {

// printf into a std::string.
std::string Format(const char* format, ...)
    __attribute__((format(printf, 1, 2)));

// BuildKit's split(): calls `fn(line, first, complete)` for each
// newline-separated piece of `data`; `complete` is false for a trailing
// piece without its newline.
void SplitLines(std::string_view data,
                const std::function<void(std::string_view line, bool first,
                                         bool complete)>& fn);

// "id 1.05MB / 2.10MB 0.3s done", BuildKit's status line after "#N ".
std::string StatusText(const solver::VertexStatusEntry& status);

// "------\n > NAME:\n" LINES "------\n".
std::string ErrorBlock(const std::string& name,
                       const std::vector<std::string>& lines);

// True when `error`, the error of the vertex named `self`, quotes the name
// of another vertex in `failed` (names of the failed vertices), as a
// frontend's error quotes the step whose solve failed: that vertex failed
// because of the other one, and its error block would repeat the other's.
bool FailedBecauseOfAnother(std::string_view error, std::string_view self,
                            const std::vector<std::string>& failed);

// The last `max` complete log lines of a vertex.
class LogTail {
 public:
  explicit LogTail(size_t max = 10) : max_(max) {}
  void Push(std::string line) {
    lines_.push_back(std::move(line));
    if (lines_.size() > max_) lines_.pop_front();
  }
  const std::deque<std::string>& lines() const { return lines_; }

 private:
  size_t max_;
  std::deque<std::string> lines_;
};

}  // namespace kiln::cli::internal

#endif  // KILN_CMD_KILN_PROGRESS_PRINTER_INTERNAL_H_
