// CacheMounts: per-id directories under flock(2) locks (cache_mounts.h).
#include "kiln/solver/cache_mounts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>

#include "fs_util.h"
#include "kiln/llb/digest.h"

namespace kiln::solver {

using internal::CacheMountWaiter;
using internal::UniqueFd;

// Wakes the waiters of this process when a lease is released; waiters also
// poll, for releases in other processes.
struct internal::CacheMountWaiter {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t generation = 0;  // guarded by mu; bumped on every release

  void Notify() {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++generation;
    }
    cv.notify_all();
  }
};

struct CacheMountLease::State {
  UniqueFd id_lock;
  UniqueFd dir_lock;
  std::shared_ptr<CacheMountWaiter> waiter;
};

namespace {

constexpr int kMaxPrivateDirs = 1024;
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr time_t kStaleTmpSeconds = 600;

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

Result<UniqueFd> OpenLockFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return internal::ErrnoError("opening lock", path, errno);
  return fd;
}

// Whether the open lock file `fd` is still the file at `path` (Remove()
// renames an id away; a lock taken on the old file protects nothing).
bool StillLinked(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 &&
         a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

}  // namespace

CacheMountLease::CacheMountLease(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

CacheMountLease::CacheMountLease(CacheMountLease&& other) noexcept
    : state_(std::move(other.state_)), dir_(std::move(other.dir_)) {
  other.dir_.clear();
}

CacheMountLease& CacheMountLease::operator=(CacheMountLease&& other) noexcept {
  if (this != &other) {
    Release().IgnoreError();
    state_ = std::move(other.state_);
    dir_ = std::move(other.dir_);
    other.dir_.clear();
  }
  return *this;
}

CacheMountLease::~CacheMountLease() { Release().IgnoreError(); }

Status CacheMountLease::Release() {
  if (state_ == nullptr) return Status::Ok();
  std::shared_ptr<CacheMountWaiter> waiter = std::move(state_->waiter);
  state_.reset();  // closing the fds drops the flocks
  dir_.clear();
  if (waiter != nullptr) waiter->Notify();
  return Status::Ok();
}

namespace {

// flock(fd, op), waiting — woken by in-process releases and polling for
// others — until it is granted (true), `give_up` (if set) returns true
// (false: nothing more is held), or `stop` is requested (Cancelled).
Result<bool> WaitLockUnless(int fd, int op, CacheMountWaiter& waiter,
                            const std::stop_token& stop,
                            const std::string& what,
                            const std::function<bool()>& give_up) {
  std::stop_callback wake(stop, [&waiter] { waiter.Notify(); });
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(waiter.mu);
      seen = waiter.generation;
    }
    if (flock(fd, op | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return internal::ErrnoError("locking", what, errno);
    }
    if (stop.stop_requested()) {
      return CancelledError("waiting for cache mount " + what + ": cancelled");
    }
    if (give_up && give_up()) return false;
    std::unique_lock<std::mutex> lock(waiter.mu);
    waiter.cv.wait_for(lock, kPollInterval,
                       [&] { return waiter.generation != seen; });
  }
}

Status WaitLock(int fd, int op, CacheMountWaiter& waiter,
                const std::stop_token& stop, const std::string& what) {
  return WaitLockUnless(fd, op, waiter, stop, what, nullptr).status();
}

// Makes directory `n` of the id at `id_dir` exist; the caller holds n's
// lock exclusively, so nobody else is initializing it.
Status EnsureDir(const std::string& id_dir, int n,
                 const std::function<Status(const std::string&)>& init) {
  const std::string dir = id_dir + "/" + std::to_string(n);
  if (Exists(dir)) return Status::Ok();
  const std::string tmp = dir + ".init";
  KILN_RETURN_IF_ERROR(internal::RemoveTree(tmp));  // a crashed init's
  if (mkdir(tmp.c_str(), 0755) != 0) {
    return internal::ErrnoError("creating cache dir", tmp, errno);
  }
  if (chmod(tmp.c_str(), 0755) != 0) {  // not narrowed by the umask
    return internal::ErrnoError("setting mode of", tmp, errno);
  }
  if (init) {
    Status s = init(tmp);
    if (!s.ok()) {
      internal::RemoveTree(tmp).IgnoreError();
      return s.WithContext("initializing cache mount dir");
    }
  }
  if (rename(tmp.c_str(), dir.c_str()) != 0) {
    int err = errno;
    internal::RemoveTree(tmp).IgnoreError();
    return internal::ErrnoError("renaming cache dir", tmp, err);
  }
  return internal::FsyncDir(id_dir);
}

}  // namespace

CacheMounts::CacheMounts(std::string dir,
                         std::shared_ptr<CacheMountWaiter> waiter)
    : dir_(std::move(dir)), waiter_(std::move(waiter)) {}

CacheMounts::~CacheMounts() = default;

Result<std::unique_ptr<CacheMounts>> CacheMounts::Open(const std::string& dir) {
  if (dir.empty() || dir[0] != '/') {
    return InvalidArgumentError("cache mounts: dir \"" + dir +
                                "\" is not absolute");
  }
  KILN_RETURN_IF_ERROR(internal::MakeDirs(dir + "/tmp", "cache mounts " + dir));
  // Leftovers of ids being created or removed by a process that died; old
  // enough that no live process is still working on them.
  auto names = internal::ListDir(dir + "/tmp");
  if (names.ok()) {
    for (const std::string& name : *names) {
      struct stat st {};
      const std::string path = dir + "/tmp/" + name;
      if (lstat(path.c_str(), &st) == 0 &&
          time(nullptr) - st.st_mtime > kStaleTmpSeconds) {
        internal::RemoveTree(path).IgnoreError();
      }
    }
  }
  return std::unique_ptr<CacheMounts>(
      new CacheMounts(dir, std::make_shared<CacheMountWaiter>()));
}

namespace {

// The id's directory, created atomically (with its id and lock files) when
// missing.
Result<std::string> EnsureIdDir(const std::string& root,
                                const std::string& id) {
  const std::string id_dir =
      root + "/" + std::string(Digest::FromBytes(id).hex());
  if (Exists(id_dir + "/lock")) return id_dir;
  const std::string tmp = root + "/tmp/new-" + internal::RandomNonce();
  KILN_RETURN_IF_ERROR(internal::MakeDirs(tmp, "cache mount " + tmp));
  Status s = internal::WriteFileAtomic(tmp + "/id", id);
  if (s.ok()) s = OpenLockFile(tmp + "/lock").status();
  if (s.ok() && rename(tmp.c_str(), id_dir.c_str()) != 0 && errno != EEXIST &&
      errno != ENOTEMPTY) {
    s = internal::ErrnoError("creating cache mount", id_dir, errno);
  }
  internal::RemoveTree(tmp).IgnoreError();  // lost a race, or failed
  KILN_RETURN_IF_ERROR(s);
  return id_dir;
}

}  // namespace

Result<CacheMountLease> CacheMounts::Acquire(
    const std::string& id, CacheSharing sharing,
    const std::function<Status(const std::string&)>& init,
    std::stop_token stop) {
  if (id.empty()) return InvalidArgumentError("cache mount: empty id");
  auto state = std::make_unique<CacheMountLease::State>();
  state->waiter = waiter_;
  std::string id_dir;
  // A shared hold on the id's lock for the whole lease keeps Remove() away;
  // retried when Remove() renamed the id away meanwhile.
  for (;;) {
    KILN_ASSIGN_OR_RETURN(id_dir, EnsureIdDir(dir_, id));
    KILN_ASSIGN_OR_RETURN(state->id_lock, OpenLockFile(id_dir + "/lock"));
    KILN_RETURN_IF_ERROR(
        WaitLock(state->id_lock.get(), LOCK_SH, *waiter_, stop, id));
    if (StillLinked(state->id_lock.get(), id_dir + "/lock")) break;
  }

  int n = 0;
  if (sharing == CacheSharing::kPrivate) {
    for (;; ++n) {
      if (n >= kMaxPrivateDirs) {
        return ResourceExhaustedError("cache mount " + id + ": more than " +
                                      std::to_string(kMaxPrivateDirs) +
                                      " private dirs in use");
      }
      KILN_ASSIGN_OR_RETURN(
          state->dir_lock,
          OpenLockFile(id_dir + "/" + std::to_string(n) + ".lock"));
      if (flock(state->dir_lock.get(), LOCK_EX | LOCK_NB) == 0) break;
      if (errno != EWOULDBLOCK) {
        return internal::ErrnoError("locking cache mount", id_dir, errno);
      }
    }
    KILN_RETURN_IF_ERROR(EnsureDir(id_dir, n, init));
  } else {
    KILN_ASSIGN_OR_RETURN(state->dir_lock, OpenLockFile(id_dir + "/0.lock"));
    int fd = state->dir_lock.get();
    if (sharing == CacheSharing::kLocked) {
      KILN_RETURN_IF_ERROR(WaitLock(fd, LOCK_EX, *waiter_, stop, id));
      KILN_RETURN_IF_ERROR(EnsureDir(id_dir, 0, init));
    } else {
      // Shared users initialize under the exclusive lock, then share it.
      // Waiting for the exclusive lock ends as soon as another lease has
      // made directory 0: that lease keeps a shared lock while its exec
      // runs, so waiting for exclusivity would serialize the first execs
      // of a new id (two concurrent RUNs with a fresh cache id).
      const std::string dir0 = id_dir + "/0";
      for (;;) {
        KILN_RETURN_IF_ERROR(WaitLock(fd, LOCK_SH, *waiter_, stop, id));
        if (Exists(dir0)) break;
        flock(fd, LOCK_UN);  // no shared lock kept while asking for more
        KILN_ASSIGN_OR_RETURN(bool exclusive,
                              WaitLockUnless(fd, LOCK_EX, *waiter_, stop, id,
                                             [&dir0] { return Exists(dir0); }));
        if (!exclusive) continue;  // made meanwhile: share it
        KILN_RETURN_IF_ERROR(EnsureDir(id_dir, 0, init));
      }
    }
  }
  CacheMountLease lease(std::move(state));
  lease.dir_ = id_dir + "/" + std::to_string(n);
  // Usage for du: its size counts leases, its mtime is the last one. Best
  // effort (O_APPEND: concurrent leases each add their byte).
  UniqueFd uses(open((id_dir + "/uses").c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (uses.valid() && write(uses.get(), "u", 1) != 1) {
    // Only a du listing is off by one; nothing to do.
  }
  return lease;
}

Status CacheMounts::Remove(const std::string& id) {
  const std::string id_dir =
      dir_ + "/" + std::string(Digest::FromBytes(id).hex());
  const std::string lock_path = id_dir + "/lock";
  UniqueFd lock(open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!lock.valid()) {
    if (errno == ENOENT) return NotFoundError("cache mount " + id);
    return internal::ErrnoError("opening lock", lock_path, errno);
  }
  if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPreconditionError("cache mount " + id + " is in use");
    }
    return internal::ErrnoError("locking", lock_path, errno);
  }
  if (!StillLinked(lock.get(), lock_path)) {
    return NotFoundError("cache mount " + id);  // removed meanwhile
  }
  // Renamed away under the lock: a concurrent Acquire that opened the old
  // lock file sees it unlinked and starts over.
  const std::string trash = dir_ + "/tmp/rm-" + internal::RandomNonce();
  if (rename(id_dir.c_str(), trash.c_str()) != 0) {
    return internal::ErrnoError("removing cache mount", id_dir, errno);
  }
  lock = UniqueFd();
  waiter_->Notify();
  return internal::RemoveTree(trash);
}

Result<std::vector<std::string>> CacheMounts::List() {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        internal::ListDir(dir_));
  std::vector<std::string> ids;
  for (const std::string& name : names) {
    if (name == "tmp") continue;
    auto id = internal::ReadFile(dir_ + "/" + name + "/id");
    if (id.ok()) ids.push_back(std::move(*id));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<CacheMountInfo> CacheMounts::Info(const std::string& id) {
  const std::string id_dir =
      dir_ + "/" + std::string(Digest::FromBytes(id).hex());
  struct stat id_st {};
  if (stat((id_dir + "/id").c_str(), &id_st) != 0) {
    if (errno == ENOENT) return NotFoundError("cache mount " + id);
    return internal::ErrnoError("reading cache mount", id_dir, errno);
  }
  CacheMountInfo info;
  info.id = id;
  info.dir = id_dir;
  info.created_unix_ns =
      int64_t{id_st.st_mtim.tv_sec} * 1'000'000'000 + id_st.st_mtim.tv_nsec;
  struct stat uses {};
  if (stat((id_dir + "/uses").c_str(), &uses) == 0) {
    info.usage_count = uses.st_size;
    info.last_used_unix_ns =
        int64_t{uses.st_mtim.tv_sec} * 1'000'000'000 + uses.st_mtim.tv_nsec;
  }
  // In use while a lease holds the id's lock shared.
  UniqueFd lock(open((id_dir + "/lock").c_str(), O_RDWR | O_CLOEXEC));
  if (lock.valid() && flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    info.in_use = errno == EWOULDBLOCK;
  }
  return info;
}

}  // namespace kiln::solver
