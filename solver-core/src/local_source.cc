#include "kiln/solver/local_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "content_checksum_cache.h"
#include "fs_util.h"
#include "kiln/solver/pattern_matcher.h"
#include "local_source_copy.h"
#include "path_util.h"
#include "path_walk.h"

namespace kiln::solver {
namespace {

using internal::ErrnoStatus;

std::string Join(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "/" + b;
}

// Each follow path, plus every symlink met while resolving it inside
// `src` and where it leads (fsutil's FollowLinks).
Result<std::vector<std::string>> FollowLinks(
    const std::string& src, const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    auto start = internal::CleanPath(p);
    if (!start || start->empty()) continue;
    out.push_back(internal::JoinPath(*start));
    KILN_ASSIGN_OR_RETURN(
        internal::InRootWalk walk,
        internal::WalkInRoot(src, *start, /*follow_final=*/true,
                             [&out](const internal::InRootLink& link) {
                               out.push_back(link.rel);
                               if (!link.rest.empty()) out.push_back(link.rest);
                             }));
    (void)walk;  // a dangling or looping path keeps what was found so far
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

class Planner {
 public:
  Planner(std::string src, PatternMatcher include, PatternMatcher exclude)
      : src_(std::move(src)),
        include_(std::move(include)),
        exclude_(std::move(exclude)) {}

  // Adds the selected entries below `rel` (a directory) to `plan`; whether
  // any was added.
  Result<bool> Walk(const std::string& rel,
                    std::map<std::string, internal::SourceEntry>& plan) {
    std::string full = rel.empty() ? src_ : src_ + "/" + rel;
    KILN_ASSIGN_OR_RETURN(auto names, internal::ListDir(full));
    bool any = false;
    for (const auto& name : names) {
      std::string crel = Join(rel, name);
      internal::SourceEntry e;
      if (lstat((src_ + "/" + crel).c_str(), &e.st) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoStatus("reading local source entry " + src_ + "/" + crel,
                           errno);
      }
      bool dir = S_ISDIR(e.st.st_mode);
      if (S_ISSOCK(e.st.st_mode) || S_ISCHR(e.st.st_mode) ||
          S_ISBLK(e.st.st_mode)) {
        continue;
      }
      WalkChoice choice = ChooseForWalk(include_, exclude_, crel, dir);
      if (choice == WalkChoice::kSkip) continue;
      bool partial = choice == WalkChoice::kPartial;
      if (dir) {
        auto pos = plan.emplace(crel, e).first;
        KILN_ASSIGN_OR_RETURN(bool below, Walk(crel, plan));
        if (partial && !below) {
          plan.erase(pos);
          continue;
        }
      } else {
        if (S_ISLNK(e.st.st_mode)) {
          KILN_ASSIGN_OR_RETURN(e.link_target,
                                internal::ReadLink(src_ + "/" + crel));
        }
        plan.emplace(crel, std::move(e));
      }
      any = true;
    }
    return any;
  }

 private:
  std::string src_;
  PatternMatcher include_;
  PatternMatcher exclude_;
};

// Checks `src_dir` and walks it into `plan` under `options`.
Status PlanLocal(const std::string& src_dir, const LocalSyncOptions& options,
                 std::map<std::string, internal::SourceEntry>& plan) {
  struct stat st {};
  if (stat(src_dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return NotFoundError("local source " + src_dir + " not found");
    }
    return ErrnoStatus("opening local source " + src_dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("local source " + src_dir +
                                   " is not a directory");
  }
  std::vector<std::string> includes = options.include_patterns;
  if (!options.follow_paths.empty()) {
    KILN_ASSIGN_OR_RETURN(auto followed,
                          FollowLinks(src_dir, options.follow_paths));
    includes.insert(includes.end(), followed.begin(), followed.end());
  }
  KILN_ASSIGN_OR_RETURN(PatternMatcher include,
                        PatternMatcher::Create(includes));
  KILN_ASSIGN_OR_RETURN(PatternMatcher exclude,
                        PatternMatcher::Create(options.exclude_patterns));
  Planner planner(src_dir, std::move(include), std::move(exclude));
  KILN_ASSIGN_OR_RETURN(bool any, planner.Walk("", plan));
  (void)any;
  return Status::Ok();
}

// Walk order: '/' sorts before every other byte, so "a/b" precedes "a.b".
bool WalkOrderLess(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

}  // namespace

Result<std::vector<LocalEntry>> ListLocal(const std::string& src_dir,
                                          const LocalSyncOptions& options) {
  std::map<std::string, internal::SourceEntry> plan;
  KILN_RETURN_IF_ERROR(PlanLocal(src_dir, options, plan));
  std::vector<LocalEntry> out;
  out.reserve(plan.size());
  for (auto& [path, e] : plan) {
    LocalEntry entry;
    entry.path = path;
    entry.mode = e.st.st_mode;
    entry.uid = e.st.st_uid;
    entry.gid = e.st.st_gid;
    entry.size = e.st.st_size;
    entry.mtime_ns = static_cast<int64_t>(e.st.st_mtim.tv_sec) * 1000000000 +
                     e.st.st_mtim.tv_nsec;
    entry.link_target = std::move(e.link_target);
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const LocalEntry& a, const LocalEntry& b) {
              return WalkOrderLess(a.path, b.path);
            });
  return out;
}

Result<LocalSyncStats> SyncLocal(const std::string& src_dir,
                                 const std::string& dest_dir,
                                 const LocalSyncOptions& options) {
  std::map<std::string, internal::SourceEntry> plan;
  KILN_RETURN_IF_ERROR(PlanLocal(src_dir, options, plan));
  KILN_RETURN_IF_ERROR(
      internal::MakeDirs(dest_dir, "local source destination " + dest_dir));
  internal::SyncState previous;
  if (!options.state_file.empty()) {
    auto data = internal::ReadFile(options.state_file);
    if (data.ok()) previous = internal::ParseChecksumCache(*data);
  }
  internal::SyncState next;
  KILN_ASSIGN_OR_RETURN(
      LocalSyncStats stats,
      internal::ApplyPlan(src_dir, dest_dir, plan,
                          options.state_file.empty() ? nullptr : &previous,
                          next));
  if (!options.state_file.empty()) {
    KILN_RETURN_IF_ERROR(internal::WriteFileAtomic(
        options.state_file, internal::SerializeChecksumCache(next)));
  }
  return stats;
}

}  // namespace kiln::solver
