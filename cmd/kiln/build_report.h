// What `kiln build` prints and how it exits, shared by the embedded engine
// (build_cmd.cc) and remote mode (remote_build.cc) so both look the same;
// and its SIGINT/SIGTERM handling.
#ifndef KILN_CMD_KILN_BUILD_REPORT_H_
#define KILN_CMD_KILN_BUILD_REPORT_H_

#include <pthread.h>
#include <signal.h>

#include <map>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "build_flags.h"
#include "kiln/llb/status.h"

namespace kiln::cli {

// `kiln build`'s flags, parsed, with a Dockerfile given on stdin already
// in a temporary directory (removed when this is destroyed).
class PreparedBuild {
 public:
  PreparedBuild() = default;
  PreparedBuild(PreparedBuild&& other) noexcept;
  PreparedBuild& operator=(PreparedBuild&&) = delete;
  ~PreparedBuild();

  BuildFlags flags;

 private:
  friend int PrepareBuild(const std::vector<std::string>& args,
                          PreparedBuild& out);
  std::string stdin_dir_;
};

// Parses `args` into `out`. Returns -1 to go on with the build, else the
// exit code to return: 0 after --help, 2 after a usage error, 1 after an
// error (each already printed).
int PrepareBuild(const std::vector<std::string>& args, PreparedBuild& out);

// "error: [file:line:col: ]message" on stderr (a frontend's located error,
// e.g. a Dockerfile line); returns kExitFailure.
int ReportError(const Status& status);

// "exported type=T" and the response keys worth showing (the descriptor is
// a base64 blob of what the digest already says), on stderr.
void PrintExportResponse(const std::string& type,
                         const std::map<std::string, std::string>& response);

// --call: the subrequest's result.txt (in `metadata`) on stdout; for check,
// exit code 1 when result.statuscode says the checks warned; else 0.
int PrintCallResult(const std::string& call,
                    const std::map<std::string, std::string>& metadata);

// While alive, SIGINT, SIGTERM and SIGHUP request `stop` instead of killing
// the process, so that running execs are killed and nothing half-done
// remains; the first one prints `notice` (if not null) on stderr. Construct
// it before any other thread starts (they inherit the mask).
class InterruptToStop {
 public:
  explicit InterruptToStop(std::stop_source stop,
                           const char* notice = "\ncancelling the build…\n");
  ~InterruptToStop();
  InterruptToStop(const InterruptToStop&) = delete;
  InterruptToStop& operator=(const InterruptToStop&) = delete;

 private:
  sigset_t set_, old_;
  std::thread thread_;
};

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_REPORT_H_
