// The FileOp copy action: fsutil copy.Copy semantics (see file_op.h).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <utility>

#include "file_op_internal.h"
#include "fs_util.h"
#include "kiln/solver/pattern_matcher.h"
#include "path_util.h"

namespace kiln::solver::internal {
namespace {

// "/<rel>" of `full` under `root`.
std::string Shown(const std::string& root, const std::string& full) {
  return full.size() > root.size() ? full.substr(root.size()) : "/";
}

std::string Clean(std::string_view path) {
  std::vector<std::string> out;
  for (auto& part : SplitPath(path)) {
    if (part != "..") {
      out.push_back(std::move(part));
    } else if (!out.empty()) {
      out.pop_back();
    }
  }
  return JoinPath(out);
}

Status CopyData(const std::string& src, const std::string& dst,
                const std::string& shown) {
  UniqueFd in(open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return PathError(shown, errno);
  UniqueFd out(
      open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return PathError(shown, errno);
  std::string buf(1 << 16, '\0');
  while (true) {
    ssize_t n = read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(shown, errno);
    if (n == 0) break;
    KILN_RETURN_IF_ERROR(
        WriteFull(out.get(),
                  std::string_view(buf.data(), static_cast<size_t>(n)), shown));
  }
  return Status::Ok();
}

// Copies extended attributes; ones the destination rejects (ENOTSUP, EPERM:
// e.g. trusted.* unprivileged or user.* on a symlink) are skipped.
Status CopyXattrs(const std::string& src, const std::string& dst,
                  const std::string& shown) {
  ssize_t size = llistxattr(src.c_str(), nullptr, 0);
  if (size < 0) {
    if (errno == ENOTSUP) return Status::Ok();
    return PathError(shown, errno);
  }
  if (size == 0) return Status::Ok();
  std::string names(static_cast<size_t>(size), '\0');
  size = llistxattr(src.c_str(), names.data(), names.size());
  if (size < 0) return PathError(shown, errno);
  names.resize(static_cast<size_t>(size));
  for (size_t pos = 0; pos < names.size();) {
    const std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t vlen = lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) return PathError(shown + " (xattr " + name + ")", errno);
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) return PathError(shown + " (xattr " + name + ")", errno);
    value.resize(static_cast<size_t>(vlen));
    if (lsetxattr(dst.c_str(), name.c_str(), value.data(), value.size(), 0) !=
            0 &&
        errno != ENOTSUP && errno != EPERM) {
      return PathError(shown + " (xattr " + name + ")", errno);
    }
  }
  return Status::Ok();
}

class Copier {
 public:
  Copier(const pb::FileActionCopy& copy, std::string src_root,
         std::string dst_root, std::optional<Owner> owner,
         std::optional<mode_t> mode, PatternMatcher include,
         PatternMatcher exclude)
      : copy_(copy),
        src_root_(std::move(src_root)),
        dst_root_(std::move(dst_root)),
        owner_(owner),
        mode_(mode),
        include_(std::move(include)),
        exclude_(std::move(exclude)) {}

  // Copies `src` (rel: its path below the copied source, "" at the top) to
  // `target`. `overwrite` (below the top): existing directories take the
  // source's metadata.
  Status Copy(const std::string& src, const std::string& rel,
              const std::string& target, bool overwrite);

 private:
  struct Pending {
    std::string src, dst;
    struct stat st;
    bool copied = false;
    bool lazily_created = false;
  };

  Status CopyInfo(const struct stat& st, const std::string& src,
                  const std::string& dst);
  Status SetTimesFrom(const struct stat& st, const std::string& dst);
  Status CreateParents();
  Status MakeDir(const std::string& dst, bool* created);

  const pb::FileActionCopy& copy_;
  const std::string src_root_, dst_root_;
  const std::optional<Owner> owner_;
  const std::optional<mode_t> mode_;
  const PatternMatcher include_, exclude_;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes_;
  std::vector<Pending> pending_;
};

Status Copier::SetTimesFrom(const struct stat& st, const std::string& dst) {
  if (copy_.timestamp() != -1) return SetTimes(dst, copy_.timestamp());
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathError(Shown(dst_root_, dst), errno);
  }
  return Status::Ok();
}

Status Copier::CopyInfo(const struct stat& st, const std::string& src,
                        const std::string& dst) {
  KILN_RETURN_IF_ERROR(Lchown(dst, owner_.value_or(Owner{st.st_uid, st.st_gid}))
                           .WithContext(Shown(dst_root_, dst)));
  if (!S_ISLNK(st.st_mode)) {
    const mode_t mode = mode_.value_or(st.st_mode & 07777);
    if (chmod(dst.c_str(), mode) != 0) {
      return PathError(Shown(dst_root_, dst), errno);
    }
  }
  KILN_RETURN_IF_ERROR(CopyXattrs(src, dst, Shown(dst_root_, dst)));
  return SetTimesFrom(st, dst);
}

Status Copier::MakeDir(const std::string& dst, bool* created) {
  *created = false;
  struct stat st;
  if (lstat(dst.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return FailedPreconditionError(Shown(dst_root_, dst) +
                                   ": cannot copy a directory over a "
                                   "non-directory");
  }
  if (errno != ENOENT) return PathError(Shown(dst_root_, dst), errno);
  // Owner-writable until CopyInfo sets the real mode after the children.
  if (mkdir(dst.c_str(), 0700) != 0) {
    return PathError(Shown(dst_root_, dst), errno);
  }
  *created = true;
  return Status::Ok();
}

Status Copier::CreateParents() {
  for (auto& parent : pending_) {
    if (parent.copied) continue;
    KILN_RETURN_IF_ERROR(MakeDir(parent.dst, &parent.lazily_created));
    parent.copied = true;
  }
  return Status::Ok();
}

Status Copier::Copy(const std::string& src, const std::string& rel,
                    const std::string& target, bool overwrite) {
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) {
    return PathError(Shown(src_root_, src), errno);
  }
  bool include = true;
  if (!rel.empty()) {
    include = include_.empty() || include_.Matches(rel);
    if (!exclude_.empty() && exclude_.Matches(rel)) {
      include = false;
    }
  }
  struct stat tst;
  bool target_exists = lstat(target.c_str(), &tst) == 0;
  if (!target_exists && errno != ENOENT) {
    return PathError(Shown(dst_root_, target), errno);
  }
  if (include) {
    if (copy_.alwaysreplaceexistingdestpaths() && target_exists &&
        !(S_ISDIR(st.st_mode) && S_ISDIR(tst.st_mode))) {
      KILN_RETURN_IF_ERROR(RemoveTree(target));
      target_exists = false;
    }
    KILN_RETURN_IF_ERROR(CreateParents());
  }
  const std::string shown_dst = Shown(dst_root_, target);
  if (S_ISDIR(st.st_mode)) {
    bool created = false;
    if (include) KILN_RETURN_IF_ERROR(MakeDir(target, &created));
    pending_.push_back(Pending{src, target, st, include, false});
    auto names = ListDir(src);
    if (!names.ok()) {
      pending_.pop_back();
      return names.status();
    }
    std::sort(names->begin(), names->end());
    for (const auto& name : *names) {
      Status s = Copy(src + "/" + name, rel.empty() ? name : rel + "/" + name,
                      target + "/" + name, true);
      if (!s.ok()) {
        pending_.pop_back();
        return s;
      }
    }
    const bool lazily = pending_.back().lazily_created;
    pending_.pop_back();
    if (lazily || (include && (overwrite || created))) {
      return CopyInfo(st, src, target);
    }
    // An existing top-level destination directory keeps its metadata but
    // takes the source's (or the override) time, as fsutil does.
    if (include && target_exists) return SetTimesFrom(st, target);
    return Status::Ok();
  }
  if (!include) return Status::Ok();
  if (target_exists) {
    if (S_ISDIR(tst.st_mode)) {
      return FailedPreconditionError(
          shown_dst + ": cannot replace a directory with a non-directory");
    }
    if (unlink(target.c_str()) != 0) return PathError(shown_dst, errno);
  }
  if (S_ISREG(st.st_mode)) {
    const auto key = std::make_pair(st.st_dev, st.st_ino);
    auto it = st.st_nlink > 1 ? inodes_.find(key) : inodes_.end();
    if (it != inodes_.end()) {
      if (link(it->second.c_str(), target.c_str()) != 0) {
        return PathError(shown_dst, errno);
      }
      return Status::Ok();  // shares the first copy's metadata
    }
    KILN_RETURN_IF_ERROR(CopyData(src, target, shown_dst));
    if (st.st_nlink > 1) inodes_[key] = target;
  } else if (S_ISLNK(st.st_mode)) {
    std::string link_target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlink(src.c_str(), link_target.data(), link_target.size());
    if (n < 0) return PathError(Shown(src_root_, src), errno);
    link_target.resize(static_cast<size_t>(n));
    if (symlink(link_target.c_str(), target.c_str()) != 0) {
      return PathError(shown_dst, errno);
    }
  } else if (mknod(target.c_str(), st.st_mode, st.st_rdev) != 0) {
    return PathError(shown_dst, errno);
  }
  return CopyInfo(st, src, target);
}

// An empty directory standing for the scratch secondary input.
class EmptyDir {
 public:
  EmptyDir() {
    std::string tmpl = "/tmp/kiln-empty-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~EmptyDir() {
    if (!path_.empty()) rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

Status ApplyCopy(const pb::FileActionCopy& copy, const FileActionDirs& dirs) {
  if (!copy.modestr().empty()) {
    return UnimplementedError("modeStr is not implemented");
  }
  if (copy.required_paths_size() > 0) {
    return UnimplementedError("required_paths is not implemented");
  }
  const auto* opt = copy.has_owner() ? &copy.owner() : nullptr;
  KILN_ASSIGN_OR_RETURN(auto owner, ResolveOwner(opt, dirs));
  std::optional<mode_t> mode;
  if (copy.mode() != -1) mode = static_cast<mode_t>(copy.mode()) & 07777;
  std::vector<std::string> inc(copy.include_patterns().begin(),
                               copy.include_patterns().end());
  std::vector<std::string> exc(copy.exclude_patterns().begin(),
                               copy.exclude_patterns().end());
  KILN_ASSIGN_OR_RETURN(PatternMatcher include, PatternMatcher::Create(inc));
  KILN_ASSIGN_OR_RETURN(PatternMatcher exclude, PatternMatcher::Create(exc));

  EmptyDir empty;
  std::string src_root = dirs.source;
  if (src_root.empty()) {
    if (empty.path().empty()) return InternalError("creating an empty dir");
    src_root = empty.path();
  }
  const std::string& dst_root = dirs.dest;

  // Docker COPY: a trailing "/" (or "/.") makes the destination a directory.
  const std::string& dest = copy.dest();
  const bool dest_is_dir =
      dest.empty() || dest.back() == '/' || dest == "." || dest.ends_with("/.");
  std::vector<std::string> dest_parts = SplitPath(Clean(dest));
  std::vector<std::string> ensure = dest_parts;
  if (!dest_is_dir && !ensure.empty()) ensure.pop_back();
  std::vector<std::string> sources = {copy.src()};
  if (copy.allowwildcard()) {
    KILN_ASSIGN_OR_RETURN(
        sources, ExpandWildcards(src_root, copy.src(), copy.followsymlink()));
    if (sources.empty()) {
      if (copy.allowemptywildcard()) return Status::Ok();
      return NotFoundError(Rooted(Clean(copy.src())) + ": no matches found");
    }
  }
  // Every source must exist before the destination is touched.
  for (const auto& source : sources) {
    KILN_ASSIGN_OR_RETURN(
        std::string src_rel,
        ResolveInRoot(src_root, source, copy.followsymlink()));
    struct stat st;
    if (lstat(UnderRoot(src_root, src_rel).c_str(), &st) != 0) {
      return PathError(Rooted(Clean(source)), errno);
    }
  }
  if (!copy.createdestpath()) {
    std::vector<std::string> parent = dest_parts;
    if (!parent.empty()) parent.pop_back();
    KILN_ASSIGN_OR_RETURN(std::string at,
                          ResolveInRoot(dst_root, JoinPath(parent), true));
    struct stat st;
    if (lstat(UnderRoot(dst_root, at).c_str(), &st) != 0) {
      return PathError(Rooted(JoinPath(parent)), errno);
    }
  }
  KILN_RETURN_IF_ERROR(MakeDirsInRoot(dst_root, JoinPath(ensure), 0755, owner,
                                      copy.timestamp(),
                                      Rooted(JoinPath(ensure))));

  Copier copier(copy, src_root, dst_root, owner, mode, std::move(include),
                std::move(exclude));
  for (const auto& source : sources) {
    KILN_ASSIGN_OR_RETURN(
        std::string src_rel,
        ResolveInRoot(src_root, source, copy.followsymlink()));
    const std::string src_full = UnderRoot(src_root, src_rel);
    struct stat st;
    if (lstat(src_full.c_str(), &st) != 0) {
      return PathError(Rooted(Clean(source)), errno);
    }
    if (copy.attemptunpackdockercompatibility()) {
      KILN_ASSIGN_OR_RETURN(std::string followed,
                            ResolveInRoot(src_root, source, true));
      bool unpacked = false;
      KILN_RETURN_IF_ERROR(MaybeUnpack(UnderRoot(src_root, followed), dst_root,
                                       Clean(dest), owner, copy.timestamp(),
                                       &unpacked));
      if (unpacked) continue;
    }
    KILN_ASSIGN_OR_RETURN(std::string dst_rel,
                          ResolveInRoot(dst_root, Clean(dest), true));
    struct stat dst_st;
    const bool dest_exists =
        stat(UnderRoot(dst_root, dst_rel).c_str(), &dst_st) == 0;
    const bool src_dir = S_ISDIR(st.st_mode);
    const auto src_parts = SplitPath(Clean(source));
    if (dest_exists && !src_parts.empty() &&
        ((!copy.dircopycontents() && src_dir) ||
         (!src_dir && S_ISDIR(dst_st.st_mode)))) {
      dst_rel =
          dst_rel.empty() ? src_parts.back() : dst_rel + "/" + src_parts.back();
    }
    std::string make = ParentDir(Rooted(dst_rel)).substr(1);
    if (copy.dircopycontents() && src_dir && !dest_exists) make = dst_rel;
    KILN_RETURN_IF_ERROR(MakeDirsInRoot(dst_root, make, 0755, owner,
                                        copy.timestamp(), Rooted(make)));
    KILN_RETURN_IF_ERROR(
        copier.Copy(src_full, "", UnderRoot(dst_root, dst_rel), false));
  }
  return Status::Ok();
}

}  // namespace kiln::solver::internal
