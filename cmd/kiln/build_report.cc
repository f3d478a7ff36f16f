#include "build_report.h"

#include <cstdio>
#include <filesystem>
#include <utility>

#include "cli_util.h"
#include "commands.h"

namespace kiln::cli {

PreparedBuild::PreparedBuild(PreparedBuild&& other) noexcept
    : flags(std::move(other.flags)),
      stdin_dir_(std::exchange(other.stdin_dir_, std::string())) {}

PreparedBuild::~PreparedBuild() {
  std::error_code ec;
  if (!stdin_dir_.empty()) std::filesystem::remove_all(stdin_dir_, ec);
}

int PrepareBuild(const std::vector<std::string>& args, PreparedBuild& out) {
  BuildFlagsResult parsed = ParseBuildFlags(args);
  if (!parsed.ok() && parsed.exit_code == kExitUsage) {
    return UsageError(BuildUsage(), "kiln build: " + parsed.error);
  }
  if (!parsed.ok()) return ReportError(FailedPreconditionError(parsed.error));
  out.flags = std::move(parsed.flags);
  if (out.flags.help) return PrintUsage(BuildUsage());
  auto stdin_dir = ReadStdinDockerfile(
      out.flags, stdin, std::filesystem::temp_directory_path().string());
  if (!stdin_dir.ok()) return ReportError(stdin_dir.status());
  out.stdin_dir_ = *stdin_dir;
  return -1;
}

int ReportError(const Status& status) {
  std::string where;
  if (!status.ranges().empty()) {
    const SourceRange& r = status.ranges().front();
    where.append(r.file).append(":").append(std::to_string(r.line));
    if (r.column > 0) where.append(":").append(std::to_string(r.column));
    where.append(": ");
  }
  std::fprintf(stderr, "error: %s%s\n", where.c_str(),
               status.message().c_str());
  return kExitFailure;
}

void PrintExportResponse(const std::string& type,
                         const std::map<std::string, std::string>& response) {
  std::fprintf(stderr, "exported type=%s\n", type.c_str());
  for (const auto& [key, value] : response) {
    if (key == "containerimage.descriptor") continue;
    std::fprintf(stderr, "  %s: %s\n", key.c_str(), value.c_str());
  }
}

int PrintCallResult(const std::string& call,
                    const std::map<std::string, std::string>& metadata) {
  auto text = metadata.find("result.txt");
  if (text != metadata.end()) std::fputs(text->second.c_str(), stdout);
  std::fflush(stdout);
  auto code = metadata.find("result.statuscode");
  if (call == "check" && code != metadata.end() && code->second != "0") {
    return 1;
  }
  return 0;
}

InterruptToStop::InterruptToStop(std::stop_source stop, const char* notice) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);   // the terminal went away
  sigaddset(&set_, SIGUSR1);  // our own wake-up to end the thread
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  thread_ = std::thread([this, stop, notice]() mutable {
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0 || sig == SIGUSR1) return;
      if (!stop.stop_requested() && notice != nullptr) {
        std::fputs(notice, stderr);
      }
      stop.request_stop();
    }
  });
}

InterruptToStop::~InterruptToStop() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace kiln::cli
