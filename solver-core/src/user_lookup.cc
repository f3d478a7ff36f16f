#include "kiln/solver/user_lookup.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>

#include "fs_util.h"
#include "path_util.h"
#include "unpack_resolve.h"

namespace kiln::solver {
namespace {

using internal::UniqueFd;

constexpr int kMaxSymlinks = 40;

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// A decimal id in [0, INT32_MAX], as runc accepts; nullopt otherwise.
std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  if (v > static_cast<uint64_t>(INT32_MAX)) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

struct PasswdEntry {
  std::string_view name;
  uint32_t uid;
  uint32_t gid;
  std::string_view home;
};

struct GroupEntry {
  std::string_view name;
  uint32_t gid;
  std::vector<std::string_view> members;
};

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::string_view line : Split(text, '\n')) {
    while (!line.empty() &&
           (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') continue;
    out.push_back(line);
  }
  return out;
}

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = Split(line, ':');
    if (f.size() < 4) continue;
    std::optional<uint32_t> uid = ParseId(f[2]);
    std::optional<uint32_t> gid = ParseId(f[3]);
    if (!uid || !gid) continue;
    out.push_back({f[0], *uid, *gid, f.size() > 5 ? f[5] : ""});
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = Split(line, ':');
    if (f.size() < 3) continue;
    std::optional<uint32_t> gid = ParseId(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    if (f.size() > 3 && !f[3].empty()) g.members = Split(f[3], ',');
    out.push_back(std::move(g));
  }
  return out;
}

// Reads `rel` (relative to root_fd) with symlinks resolved inside the root.
// nullopt when it does not exist.
Result<std::optional<std::string>> ReadFileInRoot(int root_fd,
                                                  const std::string& root,
                                                  std::string rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how));
  int err = fd < 0 ? errno : 0;
  UniqueFd file(fd >= 0 ? static_cast<int>(fd) : -1);
  if (err == ENOSYS || err == EPERM) {
    // No openat2: resolve the parent in root, then follow a final symlink by
    // hand, restarting from the root (relative targets from the real parent).
    for (int i = 0; i <= kMaxSymlinks; ++i) {
      std::vector<std::string> comps = internal::SplitPath(rel);
      if (comps.empty()) return InternalError("reading " + root + ": is a dir");
      std::string name = comps.back();
      comps.pop_back();
      auto parent = internal::OpenDirInRoot(root_fd, comps, {});
      if (!parent.ok()) {
        if (parent.status().code() == StatusCode::kNotFound) {
          return std::optional<std::string>();
        }
        return parent.status();
      }
      int f = openat(parent->get(), name.c_str(),
                     O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (f >= 0) {
        file = UniqueFd(f);
        err = 0;
        break;
      }
      err = errno;
      if (err != ELOOP) break;
      char target[PATH_MAX];
      ssize_t n =
          readlinkat(parent->get(), name.c_str(), target, sizeof(target) - 1);
      if (n < 0) {
        err = errno;
        break;
      }
      std::string t(target, static_cast<size_t>(n));
      if (!t.empty() && t.front() == '/') {
        rel = t;
        continue;
      }
      // The parent's real path relative to the root, from /proc.
      char buf[PATH_MAX];
      std::string proc = "/proc/self/fd/" + std::to_string(parent->get());
      ssize_t pn = readlink(proc.c_str(), buf, sizeof(buf) - 1);
      std::string root_proc = "/proc/self/fd/" + std::to_string(root_fd);
      char rbuf[PATH_MAX];
      ssize_t rn = readlink(root_proc.c_str(), rbuf, sizeof(rbuf) - 1);
      if (pn < 0 || rn < 0) return InternalError("resolving " + rel);
      std::string p(buf, static_cast<size_t>(pn));
      std::string r(rbuf, static_cast<size_t>(rn));
      std::string parent_rel = p.size() > r.size() ? p.substr(r.size()) : "";
      // Lexically apply ".." but never above the root.
      std::vector<std::string> out;
      for (const std::string& c : internal::SplitPath(parent_rel + "/" + t)) {
        if (c != "..") {
          out.push_back(c);
        } else if (!out.empty()) {
          out.pop_back();
        }
      }
      rel = internal::JoinPath(out);
      err = ELOOP;
    }
  }
  if (err == ENOENT || err == ENOTDIR) return std::optional<std::string>();
  if (err != 0) {
    return internal::ErrnoError("opening", root + "/" + rel, err);
  }
  std::string data;
  char chunk[8192];
  while (true) {
    ssize_t n = read(file.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal::ErrnoError("reading", root + "/" + rel, errno);
    if (n == 0) break;
    data.append(chunk, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(data));
}

}  // namespace

Result<ExecUser> ResolveUserFromFiles(std::string_view user,
                                      const std::optional<std::string>& passwd,
                                      const std::optional<std::string>& group) {
  std::vector<std::string_view> parts = Split(user, ':');
  if (parts.size() > 2) {
    return InvalidArgumentError("invalid user \"" + std::string(user) +
                                "\": more than one ':'");
  }
  std::string_view user_arg = parts[0];
  std::optional<std::string_view> group_arg;
  if (parts.size() == 2) group_arg = parts[1];
  if (parts.size() == 2 && (user_arg.empty() || group_arg->empty())) {
    return InvalidArgumentError("invalid user \"" + std::string(user) +
                                "\": empty user or group");
  }

  ExecUser out;
  std::optional<uint32_t> uid_arg;
  if (user_arg.empty()) {
    uid_arg = 0;
  } else if (AllDigits(user_arg)) {
    uid_arg = ParseId(user_arg);
    if (!uid_arg) {
      return InvalidArgumentError("invalid user \"" + std::string(user) +
                                  "\": uid out of range");
    }
  }
  const std::string passwd_text = passwd.value_or("");
  std::vector<PasswdEntry> users = ParsePasswd(passwd_text);
  std::string_view matched_name;
  bool matched = false;
  for (const PasswdEntry& e : users) {
    if (uid_arg ? e.uid == *uid_arg : e.name == user_arg) {
      out.uid = e.uid;
      out.gid = e.gid;
      out.home = std::string(e.home);
      matched_name = e.name;
      matched = true;
      break;
    }
  }
  if (!matched) {
    if (!uid_arg) {
      return NotFoundError("unable to find user " + std::string(user_arg) +
                           ": no matching entries in /etc/passwd");
    }
    out.uid = *uid_arg;
  }

  const std::string group_text = group.value_or("");
  std::vector<GroupEntry> groups = ParseGroup(group_text);
  if (group_arg) {
    if (AllDigits(*group_arg)) {
      std::optional<uint32_t> gid = ParseId(*group_arg);
      if (!gid) {
        return InvalidArgumentError("invalid user \"" + std::string(user) +
                                    "\": gid out of range");
      }
      out.gid = *gid;
      return out;
    }
    for (const GroupEntry& g : groups) {
      if (g.name == *group_arg) {
        out.gid = g.gid;
        return out;
      }
    }
    return NotFoundError("unable to find group " + std::string(*group_arg) +
                         ": no matching entries in /etc/group");
  }
  if (!matched) return out;
  for (const GroupEntry& g : groups) {
    for (std::string_view m : g.members) {
      if (m == matched_name) {
        out.additional_gids.push_back(g.gid);
        break;
      }
    }
  }
  return out;
}

Result<ExecUser> ResolveUser(const std::string& rootfs, std::string_view user) {
  auto root = internal::OpenDir(rootfs);
  if (!root.ok()) return root.status().WithContext("resolving user");
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> passwd,
                        ReadFileInRoot(root->get(), rootfs, "etc/passwd"));
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> group,
                        ReadFileInRoot(root->get(), rootfs, "etc/group"));
  return ResolveUserFromFiles(user, passwd, group);
}

}  // namespace kiln::solver
