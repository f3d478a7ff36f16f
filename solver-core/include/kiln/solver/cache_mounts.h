// Persistent cache mounts (LLB MountType CACHE, Dockerfile
// `RUN --mount=type=cache`): directories keyed by a cache id that outlive
// builds, shared between execs by the id's sharing mode. They are never
// exported and never part of a snapshot: the solver bind-mounts a lease's
// dir() into the container and forgets it after the exec.
//
// Layout under the root directory (e.g. $KILN_ROOT/solver/cachemounts):
//   <sha256(id)>/id        the id, for List()
//   <sha256(id)>/lock      flock: held shared by every lease of the id,
//                          exclusively by Remove()
//   <sha256(id)>/<n>       directory n of the id (0 is the main one; private
//                          leases may add 1, 2, ...)
//   <sha256(id)>/<n>.lock  flock for directory n
//   <sha256(id)>/<n>.init  directory n being initialized
//   <sha256(id)>/uses      one byte appended per lease (count, last use)
//   tmp/                   ids being created or removed
//
// Sharing (BuildKit's CacheSharingOpt; locks are flock(2), so they hold
// between CacheMounts objects and between processes alike):
//  - kShared: directory 0, any number of shared leases at once (a shared
//    lock on 0.lock). Waits while a locked lease holds it.
//  - kLocked: directory 0, exclusively (0.lock held exclusively): waits until
//    no other lease of directory 0 is held. Private leases that were handed
//    another directory of the id do not block it (they never touch 0).
//  - kPrivate: the first directory of the id that no lease holds (0 when it
//    is idle; else an idle spare 1, 2, ...; else a new one). Never waits and
//    never hands out a directory in use.
//
// Initialization: a directory is created by making <n>.init, running `init`
// on that path (the solver copies the mount's input there, and sets the
// root's owner and mode; the default is root 0755), then renaming it to <n>.
// A process killed during init leaves <n>.init behind; the next lease that
// creates directory n (under n's exclusive lock) discards it. So a directory
// that exists is always fully initialized, and `init` runs once per
// directory.
//
// Ownership and thread safety: CacheMounts is thread-safe. A lease holds its
// locks until it is released or destroyed; it may outlive the CacheMounts
// that handed it out. Leases are move-only and must not be shared between
// threads without synchronization.
#ifndef KILN_SOLVER_CACHE_MOUNTS_H_
#define KILN_SOLVER_CACHE_MOUNTS_H_

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

namespace internal {
struct CacheMountWaiter;
}  // namespace internal

enum class CacheSharing { kShared, kPrivate, kLocked };

// What du reports of one cache (Info).
struct CacheMountInfo {
  std::string id;
  std::string dir;      // the id's directory (every directory of the id)
  bool in_use = false;  // a lease is held (here or in another process)
  int64_t created_unix_ns = 0;
  int64_t last_used_unix_ns = 0;  // 0 when never leased
  int64_t usage_count = 0;        // leases handed out
};

class CacheMounts;

// One use of a cache directory: its path while held. Releases its locks on
// destruction or Release().
class CacheMountLease {
 public:
  CacheMountLease(CacheMountLease&& other) noexcept;
  CacheMountLease& operator=(CacheMountLease&& other) noexcept;
  CacheMountLease(const CacheMountLease&) = delete;
  CacheMountLease& operator=(const CacheMountLease&) = delete;
  ~CacheMountLease();

  // The directory to mount (absolute). Empty after Release() or a move.
  const std::string& dir() const { return dir_; }

  // Releases the lease now (idempotent). Always Ok: unlocking cannot fail
  // in a way the caller could act on; kept a Status for the RAII-handle
  // convention.
  Status Release();

 private:
  friend class CacheMounts;
  struct State;
  explicit CacheMountLease(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
  std::string dir_;
};

class CacheMounts {
 public:
  // Opens (creating when missing) the cache mounts root `dir` (absolute).
  // Internal when it cannot be created.
  static Result<std::unique_ptr<CacheMounts>> Open(const std::string& dir);

  ~CacheMounts();
  CacheMounts(const CacheMounts&) = delete;
  CacheMounts& operator=(const CacheMounts&) = delete;

  // A lease on a directory of cache `id` (any non-empty string) for
  // `sharing` (see the file comment). `init` (may be empty) runs on a
  // directory when it is created, with the temporary path; its error is
  // returned (with context) and the half-made directory removed.
  // Errors: InvalidArgument for an empty id; Cancelled when `stop` is
  // requested while waiting for a lock; Internal for file system failures.
  Result<CacheMountLease> Acquire(
      const std::string& id, CacheSharing sharing,
      const std::function<Status(const std::string&)>& init,
      std::stop_token stop);

  // Deletes every directory of `id` (prune). FailedPrecondition while a
  // lease of the id is held (here or in another process); NotFound when
  // there is no such cache.
  Status Remove(const std::string& id);

  // The ids of all caches, sorted.
  Result<std::vector<std::string>> List();

  // Usage facts of cache `id`. NotFound when there is no such cache.
  Result<CacheMountInfo> Info(const std::string& id);

  const std::string& dir() const { return dir_; }

 private:
  CacheMounts(std::string dir,
              std::shared_ptr<internal::CacheMountWaiter> waiter);

  std::string dir_;
  std::shared_ptr<internal::CacheMountWaiter>
      waiter_;  // wakes in-process waiters on release
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_CACHE_MOUNTS_H_
