// Test support shared by the solver-core tests (and tests/cmd): temporary
// directories, whole-file reads and writes, running programs and forked
// children, and a dump of a directory tree as comparable text.
//
// Helpers report trouble through their results (an empty path, a short read)
// rather than gtest failures, unless they say otherwise, so the test asserts
// on what it needs.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_TEST_UTIL_H_

#include <sys/types.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln::solver::testing {

// A fresh directory "<$TMPDIR or /tmp>/<prefix>XXXXXX"; "" when mkdtemp
// fails.
std::string MakeTempDir(const std::string& prefix);
// Removes `path` and everything below it, making read-only directories
// writable first (trees an unprivileged test made read-only). "" is a no-op.
void RemoveTree(const std::string& path);

// A MakeTempDir() directory, removed (RemoveTree) by the destructor. A
// failed mkdtemp is a (non-fatal) test failure and leaves path() empty.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "kiln-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The bytes of the file at `path` ("" when it cannot be read).
std::string ReadFile(const std::string& path);
// Replaces the file at `path` with `data`, creating missing parent
// directories.
void WriteFile(const std::string& path, const std::string& data);

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it did not start
  std::string output;  // stdout, and stderr unless it was left alone
};
// Runs argv[0] (looked up in PATH) with stdin from /dev/null and waits.
// Without `merge_stderr`, the program's stderr goes to the test's stderr
// (for output that must parse, such as JSON).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         bool merge_stderr = true);
// RunCommand of `sh -c <script>`.
CommandResult RunShell(const std::string& script, bool merge_stderr = true);
bool HaveProgram(const std::string& name);
// Whether `path` exists, without following a final symlink (lstat).
bool Exists(const std::string& path);

// Forks a child that runs `body` and exits with its result (it never
// returns into the test). The child's pid, or -1 when fork fails.
pid_t ForkChild(const std::function<int()>& body);
// Waits for child `pid`: its exit code, or -1 when it cannot be waited for
// or did not exit normally.
int WaitExitCode(pid_t pid);

// Every path under `root` (relative, sorted) with its type and what matters
// about it: "d 0755", "f 0644 <content>", "l -> target", "c 1,3", "p 0644".
// Contents over 64 bytes show as "<N bytes sha256:…>". With `times`, mtimes
// in seconds are appended (not for symlinks). Walks with lstat, never
// following symlinks.
std::map<std::string, std::string> DumpTree(const std::string& root,
                                            bool times = false);

}  // namespace kiln::solver::testing

// Skips the current test because a tool, root or the kernel is missing —
// unless KILN_REQUIRE_INTEGRATION=1 is set (scripts/test sets it when it
// runs as root, as CI does): then the missing piece is a failure, so a CI
// machine without the real peers cannot pass by skipping everything.
#define KILN_SKIP_UNLESS_REQUIRED(reason)                                  \
  do {                                                                     \
    const char* kiln_required_ = std::getenv("KILN_REQUIRE_INTEGRATION");  \
    if (kiln_required_ != nullptr && std::string(kiln_required_) == "1") { \
      FAIL() << "required (KILN_REQUIRE_INTEGRATION=1) but unavailable: "  \
             << reason;                                                    \
    }                                                                      \
    GTEST_SKIP() << reason;                                                \
  } while (false)

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_TEST_UTIL_H_
