// The command line of `kiln run` (run_cmd.cc): docker run's flags before
// IMAGE; everything after IMAGE is the command and its arguments.
#ifndef KILN_CMD_KILN_RUN_FLAGS_H_
#define KILN_CMD_KILN_RUN_FLAGS_H_

#include <string>
#include <string_view>
#include <vector>

namespace kiln::cli {

struct RunFlags {
  std::string image;                 // IMAGE, as given
  std::vector<std::string> command;  // CMD [ARG...]; empty: the image's Cmd
  bool rm = false;               // --rm (kiln never keeps a container anyway)
  bool interactive = false;      // -i: attach stdin
  bool tty = false;              // -t: a terminal (not supported yet)
  std::vector<std::string> env;  // -e/--env KEY=VALUE, in order
  std::string workdir;           // -w/--workdir; "" = the image's
  std::string user;              // -u/--user; "" = the image's
  std::string network = "none";  // --network none|host
  bool help = false;
};

struct RunFlagsResult {
  RunFlags flags;
  std::string error;  // a usage error (exit code 2) when not empty
  bool ok() const { return error.empty(); }
};

// Combined one-letter booleans are split ("-it" = "-i -t"). `--env KEY`
// without "=" takes $KEY (skipped when unset), as docker does.
RunFlagsResult ParseRunFlags(const std::vector<std::string>& args);

// `kiln run --help`.
std::string_view RunUsage();

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_RUN_FLAGS_H_
