// Subcommands of the kiln CLI. Each takes the arguments after its name and
// returns the process exit code: 0 success, 1 failure (message on stderr),
// 2 usage error, 130 a cancelled build.
#ifndef KILN_CMD_KILN_COMMANDS_H_
#define KILN_CMD_KILN_COMMANDS_H_

#include <string>
#include <string_view>
#include <vector>

namespace kiln::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
// A build cancelled by SIGINT or SIGTERM (128 + SIGINT, as shells report).
inline constexpr int kExitCancelled = 130;

// `kiln --version`, `kiln debug info`.
inline constexpr std::string_view kKilnVersion = "0.1.0";

class Root;
class CacheUsage;

int RunDumpLlb(const std::vector<std::string>& args);
int RunImage(Root& root, const std::vector<std::string>& args);
// kiln build (build_cmd.cc).
int RunBuild(Root& root, const std::vector<std::string>& args);
// kiln run (run_cmd.cc): the container's exit code, or 1/2/130.
int RunRun(Root& root, const std::vector<std::string>& args);
// kiln debug dump-llb|workers|info (debug_cmd.cc).
int RunDebug(Root& root, const std::vector<std::string>& args);
// kiln frontend ls|pin|unpin (frontend_cmd.cc).
int RunFrontend(Root& root, const std::vector<std::string>& args);
// kiln du, kiln prune (du_cmd.cc, prune_cmd.cc).
int RunDu(CacheUsage& cache, const std::vector<std::string>& args);
int RunPrune(CacheUsage& cache, const std::vector<std::string>& args);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_COMMANDS_H_
