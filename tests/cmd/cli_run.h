// Runs the real `kiln` binary (KILN_BINARY, a compile definition of the CLI
// tests) for the tests in tests/cmd, with stdin, stdout and stderr through
// files in a directory: simple, and no pipe deadlocks.
#ifndef KILN_TESTS_CMD_CLI_RUN_H_
#define KILN_TESTS_CMD_CLI_RUN_H_

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln::cli_test {

struct CliRun {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// The bytes of the file at `path` ("" when it cannot be read).
inline std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `kiln <args>` (args are shell words, unquoted) with `input` on
// stdin, using `dir` (which must exist) for the files "in", "out" and
// "err". The files stay for the caller to remove.
inline CliRun RunKilnIn(const std::filesystem::path& dir,
                        const std::string& args, const std::string& input) {
  { std::ofstream(dir / "in", std::ios::binary) << input; }
  std::string cmd = std::string(KILN_BINARY) + " " + args + " <" +
                    (dir / "in").string() + " >" + (dir / "out").string() +
                    " 2>" + (dir / "err").string();
  int status = std::system(cmd.c_str());
  CliRun r;
  r.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(dir / "out");
  r.err = Slurp(dir / "err");
  return r;
}

}  // namespace kiln::cli_test

#endif  // KILN_TESTS_CMD_CLI_RUN_H_
