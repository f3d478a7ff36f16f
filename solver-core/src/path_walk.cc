#include "path_walk.h"

#include <sys/stat.h>

#include <cerrno>
#include <deque>

#include "fs_util.h"
#include "path_util.h"

namespace kiln::solver::internal {

Result<InRootWalk> WalkInRoot(
    const std::string& root, const std::vector<std::string>& components,
    bool follow_final, const std::function<void(const InRootLink&)>& on_link) {
  InRootWalk walk;
  std::vector<std::string>& done = walk.resolved;
  std::deque<std::string> todo(components.begin(), components.end());
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(std::move(comp));
    std::string rel = JoinPath(done);
    std::string full = root + "/" + rel;
    struct stat st {};
    if (lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        walk.missing = true;
        return walk;
      }
      return ErrnoStatus("resolving " + full, errno);
    }
    if (!S_ISLNK(st.st_mode) || (todo.empty() && !follow_final)) continue;
    if (++links > kMaxInRootLinks) {
      walk.too_many_links = true;
      return walk;
    }
    KILN_ASSIGN_OR_RETURN(std::string target, ReadLink(full));
    done.pop_back();
    if (!target.empty() && target[0] == '/') done.clear();
    auto parts = SplitPath(target);
    todo.insert(todo.begin(), parts.begin(), parts.end());
    if (on_link) {
      InRootLink link{std::move(rel), {}};
      if (!todo.empty()) {
        std::vector<std::string> whole = done;
        whole.insert(whole.end(), todo.begin(), todo.end());
        if (auto clean = CleanPath(JoinPath(whole)))
          link.rest = JoinPath(*clean);
      }
      on_link(link);
    }
  }
  return walk;
}

}  // namespace kiln::solver::internal
