#include "local_source_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "fs_util.h"

namespace kiln::solver::internal {
namespace {

std::string Join(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "/" + b;
}

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Non-directory entries under (and including) `full`, not following links.
uint64_t CountFiles(const std::string& full) {
  struct stat st {};
  if (lstat(full.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return 1;
  auto names = ListDir(full);
  if (!names.ok()) return 0;
  uint64_t n = 0;
  for (const auto& name : *names) n += CountFiles(full + "/" + name);
  return n;
}

// Removes what `dest`/`rel` holds that the plan does not (or holds as
// another type).
Status Prune(const std::string& dest, const std::string& rel,
             const std::map<std::string, SourceEntry>& plan,
             LocalSyncStats& stats) {
  std::string full = rel.empty() ? dest : dest + "/" + rel;
  KILN_ASSIGN_OR_RETURN(auto names, ListDir(full));
  for (const auto& name : names) {
    std::string crel = Join(rel, name);
    std::string cfull = dest + "/" + crel;
    struct stat st {};
    if (lstat(cfull.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus("reading " + cfull, errno);
    }
    auto it = plan.find(crel);
    if (it == plan.end() ||
        (it->second.st.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
      stats.files_deleted += CountFiles(cfull);
      KILN_RETURN_IF_ERROR(RemoveTree(cfull, /*force_writable=*/true));
    } else if (S_ISDIR(st.st_mode)) {
      // Make sure we can write into it before pruning and filling it.
      if ((st.st_mode & 0700) != 0700) chmod(cfull.c_str(), 0700);
      KILN_RETURN_IF_ERROR(Prune(dest, crel, plan, stats));
    }
  }
  return Status::Ok();
}

Status SetOwner(int fd, const std::string& path, const struct stat& st,
                bool is_link) {
  if (geteuid() != 0) return Status::Ok();
  int rc = fd >= 0 ? fchown(fd, st.st_uid, st.st_gid)
                   : fchownat(AT_FDCWD, path.c_str(), st.st_uid, st.st_gid,
                              is_link ? AT_SYMLINK_NOFOLLOW : 0);
  if (rc != 0) return ErrnoStatus("changing owner of " + path, errno);
  return Status::Ok();
}

Result<uint64_t> CopyFile(const std::string& from, const std::string& to,
                          const struct stat& st) {
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return ErrnoStatus("opening " + from, errno);
  std::string tmp = ParentDir(to) + "/.kiln-sync-" + RandomNonce();
  UniqueFd out(
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoStatus("creating " + tmp, errno);
  auto fail = [&](Status s) -> Status {
    unlink(tmp.c_str());
    return s;
  };
  std::string buf(1 << 16, '\0');
  uint64_t total = 0;
  while (true) {
    ssize_t n = read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrnoStatus("reading " + from, errno));
    if (n == 0) break;
    Status w = WriteFull(out.get(), std::string_view(buf.data(), n), tmp);
    if (!w.ok()) return fail(w);
    total += static_cast<uint64_t>(n);
  }
  Status owner = SetOwner(out.get(), tmp, st, false);
  if (!owner.ok()) return fail(owner);
  if (fchmod(out.get(), st.st_mode & 07777) != 0) {
    return fail(ErrnoStatus("changing mode of " + tmp, errno));
  }
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(out.get(), times) != 0) {
    return fail(ErrnoStatus("setting times of " + tmp, errno));
  }
  if (rename(tmp.c_str(), to.c_str()) != 0) {
    return fail(ErrnoStatus("renaming " + tmp + " to " + to, errno));
  }
  return total;
}

Result<bool> SameLink(const std::string& full, const std::string& target) {
  KILN_ASSIGN_OR_RETURN(std::string current, internal::ReadLink(full));
  return current == target;
}

CachedFile Identity(const struct stat& st) {
  CachedFile f;
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
               st.st_mtim.tv_nsec;
  f.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 +
               st.st_ctim.tv_nsec;
  f.ino = st.st_ino;
  f.dev = st.st_dev;
  f.mode = st.st_mode;
  f.hex = std::string(64, '0');
  return f;
}

}  // namespace

Result<LocalSyncStats> ApplyPlan(const std::string& src,
                                 const std::string& dest,
                                 const std::map<std::string, SourceEntry>& plan,
                                 const SyncState* previous, SyncState& next) {
  LocalSyncStats stats;
  KILN_RETURN_IF_ERROR(Prune(dest, "", plan, stats));
  std::vector<std::pair<std::string, const struct stat*>> dirs;
  for (const auto& [rel, e] : plan) {
    std::string to = dest + "/" + rel;
    struct stat cur {};
    bool exists = lstat(to.c_str(), &cur) == 0;
    mode_t type = e.st.st_mode & S_IFMT;
    if (type == S_IFDIR) {
      if (!exists && mkdir(to.c_str(), 0700) != 0) {
        return ErrnoStatus("creating directory " + to, errno);
      }
      if (exists && (cur.st_mode & 0700) != 0700) chmod(to.c_str(), 0700);
      dirs.emplace_back(to, &e.st);
      ++stats.dirs;
      continue;
    }
    if (type == S_IFREG) {
      CachedFile id = Identity(e.st);
      bool same_source = true;
      if (previous != nullptr) {
        auto it = previous->find(rel);
        same_source = it != previous->end() && it->second.SameFile(id);
      }
      next[rel] = id;
      if (exists && same_source && cur.st_size == e.st.st_size &&
          cur.st_mode == e.st.st_mode && SameTime(cur.st_mtim, e.st.st_mtim)) {
        ++stats.files_unchanged;
        continue;
      }
      KILN_ASSIGN_OR_RETURN(uint64_t n, CopyFile(src + "/" + rel, to, e.st));
      ++stats.files_copied;
      stats.bytes_copied += n;
      continue;
    }
    if (type == S_IFLNK) {
      if (exists) {
        KILN_ASSIGN_OR_RETURN(bool same, SameLink(to, e.link_target));
        if (same) {
          ++stats.files_unchanged;
          continue;
        }
        if (unlink(to.c_str()) != 0)
          return ErrnoStatus("removing " + to, errno);
      }
      if (symlink(e.link_target.c_str(), to.c_str()) != 0) {
        return ErrnoStatus("creating symlink " + to, errno);
      }
    } else if (type == S_IFIFO) {
      if (exists && cur.st_mode == e.st.st_mode) {
        ++stats.files_unchanged;
        continue;
      }
      if (exists && unlink(to.c_str()) != 0) {
        return ErrnoStatus("removing " + to, errno);
      }
      if (mkfifo(to.c_str(), 0600) != 0 ||
          chmod(to.c_str(), e.st.st_mode & 07777) != 0) {
        return ErrnoStatus("creating fifo " + to, errno);
      }
    } else {
      continue;  // planner skips sockets and devices
    }
    KILN_RETURN_IF_ERROR(SetOwner(-1, to, e.st, type == S_IFLNK));
    timespec times[2] = {e.st.st_atim, e.st.st_mtim};
    if (utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("setting times of " + to, errno);
    }
    ++stats.files_copied;
  }
  // Directory modes and times last, children first: writing into a
  // directory changes its mtime, and a read-only one could not be filled.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    const std::string& to = it->first;
    const struct stat& st = *it->second;
    KILN_RETURN_IF_ERROR(SetOwner(-1, to, st, false));
    if (chmod(to.c_str(), st.st_mode & 07777) != 0) {
      return ErrnoStatus("changing mode of " + to, errno);
    }
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, to.c_str(), times, 0) != 0) {
      return ErrnoStatus("setting times of " + to, errno);
    }
  }
  return stats;
}

}  // namespace kiln::solver::internal
