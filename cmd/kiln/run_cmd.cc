// kiln run: runs an image of the embedded store in a container, with the
// executor and snapshotter that exec ops use (executor.h, snapshotter.h):
// the image's layers are unpacked into committed snapshots (kept, like a
// build's), a throwaway active snapshot on top is the container's rootfs,
// and the process gets the image config's Entrypoint, Cmd, Env, WorkingDir
// and User (flags override them).
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "build_report.h"
#include "cli_util.h"
#include "commands.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/image_source.h"
#include "progress_printer.h"
#include "random_id.h"
#include "run_flags.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

int RunError(const std::string& message) {
  std::fprintf(stderr, "kiln run: %s\n", message.c_str());
  return kExitFailure;
}

// -i: our stdin is copied to the container and its stdout back, through
// one end of a socketpair (ExecSpec::stdio_fd); the other end is ours.
class StdinPump {
 public:
  Status Start() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return InternalError("socketpair for the container's stdio failed");
    }
    theirs_ = fds[0];
    ours_ = fds[1];
    in_ = std::thread([this] { CopyIn(); });
    out_ = std::thread([this] { CopyOut(); });
    return Status::Ok();
  }
  int container_fd() const { return theirs_; }
  // After the run: the output is drained, stdin is left alone.
  void Stop() {
    if (theirs_ >= 0) close(theirs_);  // the runtime's copy is gone too
    theirs_ = -1;
    if (out_.joinable()) out_.join();
    stop_ = true;
    if (in_.joinable()) in_.join();
    if (ours_ >= 0) close(ours_);
    ours_ = -1;
  }
  ~StdinPump() { Stop(); }

 private:
  void CopyIn() {
    char buf[16384];
    while (!stop_) {
      pollfd p{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
      int r = poll(&p, 1, 100);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      internal::WriteAll(ours_, std::string_view(buf, static_cast<size_t>(n)));
    }
    shutdown(ours_, SHUT_WR);  // the container reads EOF
  }
  void CopyOut() {
    char buf[16384];
    for (;;) {
      ssize_t n = read(ours_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      internal::WriteAll(STDOUT_FILENO,
                         std::string_view(buf, static_cast<size_t>(n)));
    }
  }

  int theirs_ = -1, ours_ = -1;
  std::atomic<bool> stop_{false};
  std::thread in_, out_;
};

// The process to run: the image config, overridden by the flags.
Result<solver::ExecSpec> ProcessSpec(const RunFlags& flags,
                                     const solver::oci::ContainerConfig& cfg) {
  solver::ExecSpec spec;
  if (cfg.entrypoint) spec.args = *cfg.entrypoint;
  if (!flags.command.empty()) {
    spec.args.insert(spec.args.end(), flags.command.begin(),
                     flags.command.end());
  } else if (cfg.cmd) {
    spec.args.insert(spec.args.end(), cfg.cmd->begin(), cfg.cmd->end());
  }
  if (spec.args.empty()) {
    return InvalidArgumentError(
        "the image has no Entrypoint or Cmd: give a command after IMAGE");
  }
  spec.env = cfg.env;
  for (const std::string& kv : flags.env) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(spec.env, [&](const std::string& e) {
      return e.substr(0, e.find('=')) == key;
    });
    spec.env.push_back(kv);
  }
  spec.cwd = !flags.workdir.empty()     ? flags.workdir
             : !cfg.working_dir.empty() ? cfg.working_dir
                                        : "/";
  if (spec.cwd.front() != '/') {
    return InvalidArgumentError("working directory \"" + spec.cwd +
                                "\" is not absolute");
  }
  spec.user = flags.user.empty() ? cfg.user : flags.user;
  spec.network = flags.network == "host" ? solver::NetworkMode::kHost
                                         : solver::NetworkMode::kNone;
  for (int code = 0; code < 256; ++code) spec.valid_exit_codes.push_back(code);
  return spec;
}

}  // namespace

int RunRun(Root& root, const std::vector<std::string>& args) {
  RunFlagsResult parsed = ParseRunFlags(args);
  if (!parsed.ok()) return UsageError(RunUsage(), "kiln run: " + parsed.error);
  const RunFlags& flags = parsed.flags;
  if (flags.help) return PrintUsage(RunUsage());
  if (flags.tty && isatty(STDIN_FILENO) != 1) {
    return RunError("-t: the input device is not a terminal");
  }

  auto ref = llb::ParseImageReference(flags.image);
  if (!ref.ok()) return RunError(ref.status().message());
  const std::string name = llb::TagNameOnly(*ref).String();

  std::stop_source stop;
  // SIGINT/SIGTERM/SIGHUP stop the container (the executor kills and
  // deletes it) instead of killing kiln and leaving it behind.
  InterruptToStop signals(stop, nullptr);  // before any other thread
  auto images = root.Images();
  if (!images.ok()) return RunError(images.status().message());
  auto snapshots = root.Snapshots();
  if (!snapshots.ok()) return RunError(snapshots.status().message());
  auto executor = root.Executor();
  if (!executor.ok()) {
    return RunError("no container runtime: " + executor.status().message());
  }
  if (auto record = (*images)->Get(name); !record.ok()) {
    if (record.status().code() != StatusCode::kNotFound) {
      return RunError(record.status().message());
    }
    return RunError("image " + flags.image +
                    " is not in kiln's image store (kiln image ls lists it; "
                    "kiln image pull, load or import adds images)");
  }
  solver::ImageSource source(*images, nullptr, *snapshots);
  pb::SourceOp op;
  op.set_identifier("docker-image://" + name);
  (*op.mutable_attrs())["image.resolvemode"] = "local";
  auto image = source.Load(op, llb::HostPlatform());
  if (!image.ok()) {
    return RunError(image.status().message() +
                    " (kiln image ls lists the store; kiln image pull, load "
                    "or import adds images)");
  }
  auto spec = ProcessSpec(flags, image->image.config.config);
  if (!spec.ok()) return RunError(flags.image + ": " + spec.status().message());

  const std::string id = RandomId();
  const std::string key = "run-" + id;
  solver::Snapshotter& snaps = **snapshots;
  if (auto dir = snaps.Prepare(key, image->snapshot); !dir.ok()) {
    return RunError("preparing the container's root filesystem: " +
                    dir.status().message());
  }
  struct RemoveSnapshot {
    solver::Snapshotter& snaps;
    std::string key;
    ~RemoveSnapshot() { (void)snaps.Remove(key); }
  } remove{snaps, key};
  auto mounts = snaps.Mounts(key);
  if (!mounts.ok()) return RunError(mounts.status().message());
  spec->rootfs = *mounts;
  spec->hostname = id;
  spec->log = [&](int stream, std::string_view data, auto) {
    internal::WriteAll(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, data);
  };
  StdinPump pump;
  if (flags.tty) {
    // runc makes the container's terminal and relays it to ours (in raw
    // mode while it runs); our terminal is read-write on stdin.
    spec->terminal = true;
    spec->stdio_fd = STDIN_FILENO;
  } else if (flags.interactive) {
    if (Status s = pump.Start(); !s.ok()) return RunError(s.message());
    spec->stdio_fd = pump.container_fd();
  }
  auto result = (*executor)->Run(*spec, stop.get_token());
  pump.Stop();
  if (!result.ok()) {
    if (stop.stop_requested()) return kExitCancelled;
    return RunError(result.status().message());
  }
  return result->exit_code;
}

}  // namespace kiln::cli
