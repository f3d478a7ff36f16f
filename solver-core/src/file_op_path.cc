// In-root path resolution and wildcard expansion for the FileOp executor.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "file_op_internal.h"
#include "fs_util.h"
#include "path_util.h"

namespace kiln::solver::internal {
namespace {

constexpr int kMaxSymlinks = 255;

// Components of `path` with ".." applied, clamped at the root.
std::vector<std::string> CleanInRoot(std::string_view path) {
  std::vector<std::string> out;
  for (auto& part : SplitPath(path)) {
    if (part == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(std::move(part));
    }
  }
  return out;
}

}  // namespace

std::string Rooted(std::string_view rel) {
  std::string out;
  out.reserve(rel.size() + 1);
  out.push_back('/');
  out.append(rel);
  return out;
}

std::string UnderRoot(const std::string& root, const std::string& rel) {
  return rel.empty() ? root : root + "/" + rel;
}

Status PathError(const std::string& path, int err) {
  std::string reason = std::strerror(err);
  if (!reason.empty() && reason[0] >= 'A' && reason[0] <= 'Z') {
    reason[0] = static_cast<char>(reason[0] - 'A' + 'a');
  }
  return Status(ErrnoStatus(path, err).code(), path + ": " + reason);
}

Result<std::string> ResolveInRoot(const std::string& root,
                                  std::string_view path, bool follow_last) {
  std::deque<std::string> todo;
  for (auto& part : SplitPath(path)) todo.push_back(std::move(part));
  std::vector<std::string> resolved;
  int links = 0;
  bool missing = false;
  const std::string shown = Rooted(JoinPath(CleanInRoot(path)));
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      missing = false;
      continue;
    }
    resolved.push_back(part);
    if (missing) continue;
    const bool last = todo.empty();
    const std::string full = UnderRoot(root, JoinPath(resolved));
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        missing = true;
        continue;
      }
      if (errno == ENOTDIR) {
        return FailedPreconditionError(shown + ": not a directory");
      }
      return PathError(shown, errno);
    }
    if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
      if (++links > kMaxSymlinks) {
        return FailedPreconditionError(shown +
                                       ": too many levels of symbolic links");
      }
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(full.c_str(), target.data(), target.size());
      if (n < 0) return PathError(shown, errno);
      target.resize(static_cast<size_t>(n));
      resolved.pop_back();
      if (!target.empty() && target[0] == '/') resolved.clear();
      auto parts = SplitPath(target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      return FailedPreconditionError(shown + ": not a directory");
    }
  }
  return JoinPath(resolved);
}

Result<std::vector<std::string>> ExpandWildcards(const std::string& root,
                                                 std::string_view pattern,
                                                 bool follow_last) {
  std::vector<std::string> parts = CleanInRoot(pattern);
  std::vector<std::string> current = {""};
  for (const auto& part : parts) {
    std::vector<std::string> next;
    for (const auto& base : current) {
      const std::string prefix = base.empty() ? "" : base + "/";
      if (!HasMeta(part)) {
        // Validates escapes; an unescaped name matches itself.
        KILN_ASSIGN_OR_RETURN(bool unused, MatchPattern(part, part));
        (void)unused;
        std::string literal;
        for (size_t i = 0; i < part.size(); ++i) {
          if (part[i] == '\\' && i + 1 < part.size()) ++i;
          literal += part[i];
        }
        next.push_back(prefix + literal);
        continue;
      }
      auto dir = ResolveInRoot(root, base, /*follow_last=*/true);
      if (!dir.ok()) continue;  // not a directory: nothing below matches
      struct stat st;
      const std::string full = UnderRoot(root, *dir);
      if (stat(full.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      KILN_ASSIGN_OR_RETURN(auto names, ListDir(full));
      std::sort(names.begin(), names.end());
      for (const auto& name : names) {
        KILN_ASSIGN_OR_RETURN(bool match, MatchPattern(part, name));
        if (match) next.push_back(prefix + name);
      }
    }
    current = std::move(next);
  }
  std::vector<std::string> out;
  for (const auto& rel : current) {
    auto resolved = ResolveInRoot(root, rel, follow_last);
    if (!resolved.ok()) continue;
    struct stat st;
    if (lstat(UnderRoot(root, *resolved).c_str(), &st) != 0) continue;
    out.push_back(Rooted(rel));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kiln::solver::internal
