// What every git command of one git source needs (git_source.h): the
// mirror's location and lock, the empty HOME, and the auth environment for
// commands that talk to the remote. Private to the git source.
//
// Thread safety: a GitSession is used by one call at a time; MirrorLock
// (an flock on "<mirror>.lock") serializes callers across threads and
// processes.
#ifndef KILN_SOLVER_SRC_GIT_SESSION_H_
#define KILN_SOLVER_SRC_GIT_SESSION_H_

#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "fs_util.h"
#include "git_process.h"
#include "kiln/llb/status.h"
#include "kiln/solver/git_source.h"

namespace kiln::solver::internal {

// An flock held on a mirror's lock file until destruction.
class MirrorLock {
 public:
  // Waits (polling `stop`) for the lock: exclusive to change the mirror,
  // shared to read it. Errors: Internal for I/O failures, Cancelled.
  static Result<MirrorLock> Acquire(const std::string& lock_path,
                                    bool exclusive, std::stop_token stop);

 private:
  explicit MirrorLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

class GitSession {
 public:
  // Creates cache_dir's "git" and "home" directories. With `remote_access`
  // it also prepares the auth environment: secrets, the ssh agent socket
  // and a known-hosts file (removed by the destructor).
  static Result<GitSession> Open(const GitRef& ref,
                                 const GitSourceOptions& options,
                                 bool remote_access);
  GitSession(GitSession&& other) noexcept;
  GitSession& operator=(GitSession&&) = delete;
  ~GitSession();

  const std::string& mirror() const { return mirror_; }
  std::string lock_path() const { return mirror_ + ".lock"; }
  const std::string& remote() const { return remote_; }

  // A git command on the mirror (--git-dir), no remote access.
  GitCommand Mirror(std::vector<std::string> args) const;
  // A git command on the mirror that talks to the remote: with the auth
  // environment and, for file:// remotes, protocol.file.allow=always.
  GitCommand Remote(std::vector<std::string> args) const;
  // A git command with no repository of its own (`git -C dir ...`).
  GitCommand Plain(std::vector<std::string> args) const;

  // Creates the bare mirror when it is missing or half-made. Call with the
  // exclusive lock held.
  Status EnsureMirror(std::stop_token stop) const;

 private:
  GitSession() = default;

  std::string remote_;
  std::string mirror_;
  std::string home_;
  std::vector<std::string> remote_env_;
  bool file_remote_ = false;
  std::string known_hosts_file_;  // owned: removed on destruction
};

// Whether `ref` is a full lowercase 40-hex commit id.
bool IsCommitSha(std::string_view ref);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_GIT_SESSION_H_
