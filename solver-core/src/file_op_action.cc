// FileOp actions other than copy (mkdir, mkfile, rm, symlink), owner
// resolution, shared metadata helpers and the ApplyFileAction dispatch.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "file_op_internal.h"
#include "fs_util.h"
#include "kiln/solver/file_op.h"
#include "kiln/solver/user_lookup.h"
#include "path_util.h"

namespace kiln::solver {
namespace internal {
namespace {

Result<std::string> LookupRoot(const pb::NamedUserOpt& named,
                               const FileActionDirs& dirs) {
  if (named.input() < 0) {
    return InvalidArgumentError("owner name " + named.name() +
                                ": invalid input index " +
                                std::to_string(named.input()));
  }
  if (!dirs.input_dir) {
    return InvalidArgumentError("owner name " + named.name() +
                                ": no input directory to look it up in");
  }
  return dirs.input_dir(named.input());
}

Result<ExecUser> Lookup(const std::string& root, const std::string& spec) {
  if (root.empty())
    return ResolveUserFromFiles(spec, std::nullopt, std::nullopt);
  return ResolveUser(root, spec);
}

// Splits `path` into its resolved parent (in root) and last component.
// InvalidArgument for the root itself.
Result<std::string> ResolveParentPlusName(const std::string& root,
                                          const std::string& path,
                                          std::string* shown) {
  auto parts = CleanPath(path);
  *shown = Rooted(parts ? JoinPath(*parts) : std::string());
  if (!parts || parts->empty()) {
    return InvalidArgumentError(*shown + ": invalid path (the root)");
  }
  std::string name = parts->back();
  parts->pop_back();
  KILN_ASSIGN_OR_RETURN(std::string parent,
                        ResolveInRoot(root, JoinPath(*parts), true));
  return parent.empty() ? name : parent + "/" + name;
}

Status ApplyMetadata(const std::string& full, const std::optional<Owner>& owner,
                     int64_t ns) {
  if (owner) KILN_RETURN_IF_ERROR(Lchown(full, *owner));
  if (ns != -1) KILN_RETURN_IF_ERROR(SetTimes(full, ns));
  return Status::Ok();
}

Status DoMkdir(const pb::FileActionMkDir& mk, const FileActionDirs& dirs) {
  const auto* opt = mk.has_owner() ? &mk.owner() : nullptr;
  KILN_ASSIGN_OR_RETURN(auto owner, ResolveOwner(opt, dirs));
  const mode_t mode = static_cast<mode_t>(mk.mode()) & 07777;
  const std::string shown = Rooted(
      JoinPath(CleanPath(mk.path()).value_or(std::vector<std::string>{})));
  KILN_ASSIGN_OR_RETURN(std::string rel,
                        ResolveInRoot(dirs.dest, mk.path(), true));
  if (mk.makeparents()) {
    return MakeDirsInRoot(dirs.dest, rel, mode & 0777, owner, mk.timestamp(),
                          shown);
  }
  const std::string full = UnderRoot(dirs.dest, rel);
  struct stat st;
  if (lstat(full.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return FailedPreconditionError(shown + ": not a directory");
  }
  if (mkdir(full.c_str(), 0700) != 0) return PathError(shown, errno);
  if (chmod(full.c_str(), mode & 0777) != 0) return PathError(shown, errno);
  return ApplyMetadata(full, owner, mk.timestamp());
}

Status DoMkfile(const pb::FileActionMkFile& mk, const FileActionDirs& dirs) {
  const auto* opt = mk.has_owner() ? &mk.owner() : nullptr;
  KILN_ASSIGN_OR_RETURN(auto owner, ResolveOwner(opt, dirs));
  std::string shown;
  KILN_ASSIGN_OR_RETURN(std::string rel,
                        ResolveParentPlusName(dirs.dest, mk.path(), &shown));
  // Like BuildKit, a symlink at the path is followed (inside the root).
  KILN_ASSIGN_OR_RETURN(rel, ResolveInRoot(dirs.dest, rel, true));
  const std::string full = UnderRoot(dirs.dest, rel);
  UniqueFd fd(open(full.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                   0600));
  if (!fd.valid()) return PathError(shown, errno);
  KILN_RETURN_IF_ERROR(WriteFull(fd.get(), mk.data(), shown));
  if (fchmod(fd.get(), static_cast<mode_t>(mk.mode()) & 0777) != 0) {
    return PathError(shown, errno);
  }
  fd = UniqueFd();
  return ApplyMetadata(full, owner, mk.timestamp());
}

Status RemoveOne(const std::string& root, const std::string& path,
                 bool allow_not_found) {
  std::string shown;
  KILN_ASSIGN_OR_RETURN(std::string rel,
                        ResolveParentPlusName(root, path, &shown));
  const std::string full = UnderRoot(root, rel);
  struct stat st;
  if (lstat(full.c_str(), &st) != 0) {
    if (errno == ENOENT && allow_not_found) return Status::Ok();
    return PathError(shown, errno);
  }
  return RemoveTree(full).WithContext(shown);
}

Status DoRm(const pb::FileActionRm& rm, const FileActionDirs& dirs) {
  if (!rm.allowwildcard()) {
    return RemoveOne(dirs.dest, rm.path(), rm.allownotfound());
  }
  KILN_ASSIGN_OR_RETURN(auto matches,
                        ExpandWildcards(dirs.dest, rm.path(), false));
  for (const auto& match : matches) {
    KILN_RETURN_IF_ERROR(RemoveOne(dirs.dest, match, rm.allownotfound()));
  }
  return Status::Ok();
}

Status DoSymlink(const pb::FileActionSymlink& ln, const FileActionDirs& dirs) {
  const auto* opt = ln.has_owner() ? &ln.owner() : nullptr;
  KILN_ASSIGN_OR_RETURN(auto owner, ResolveOwner(opt, dirs));
  std::string shown;
  KILN_ASSIGN_OR_RETURN(std::string rel,
                        ResolveParentPlusName(dirs.dest, ln.newpath(), &shown));
  const std::string full = UnderRoot(dirs.dest, rel);
  if (symlink(ln.oldpath().c_str(), full.c_str()) != 0) {
    return PathError(shown, errno);
  }
  return ApplyMetadata(full, owner, ln.timestamp());
}

}  // namespace

Result<std::optional<Owner>> ResolveOwner(const pb::ChownOpt* opt,
                                          const FileActionDirs& dirs) {
  if (opt == nullptr) return std::optional<Owner>();
  Owner owner;
  if (opt->has_user()) {
    const auto& user = opt->user();
    if (user.has_byname()) {
      KILN_ASSIGN_OR_RETURN(std::string root, LookupRoot(user.byname(), dirs));
      KILN_ASSIGN_OR_RETURN(ExecUser u, Lookup(root, user.byname().name()));
      owner.uid = u.uid;
      owner.gid = u.gid;
    } else if (user.user_case() == pb::UserOpt::kByID) {
      owner.uid = owner.gid = user.byid();
    }
  }
  if (opt->has_group()) {
    const auto& group = opt->group();
    if (group.has_byname()) {
      KILN_ASSIGN_OR_RETURN(std::string root, LookupRoot(group.byname(), dirs));
      KILN_ASSIGN_OR_RETURN(ExecUser u,
                            Lookup(root, "0:" + group.byname().name()));
      owner.gid = u.gid;
    } else if (group.user_case() == pb::UserOpt::kByID) {
      owner.gid = group.byid();
    }
  }
  return std::optional<Owner>(owner);
}

Status SetTimes(const std::string& path, int64_t ns) {
  struct timespec times[2];
  times[0].tv_sec = static_cast<time_t>(ns / 1000000000);
  times[0].tv_nsec = static_cast<long>(ns % 1000000000);
  if (times[0].tv_nsec < 0) {
    times[0].tv_nsec += 1000000000;
    times[0].tv_sec -= 1;
  }
  times[1] = times[0];
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("setting times of " + path, errno);
  }
  return Status::Ok();
}

Status Lchown(const std::string& path, const Owner& owner) {
  if (lchown(path.c_str(), owner.uid, owner.gid) != 0) {
    return ErrnoStatus("chown " + path, errno);
  }
  return Status::Ok();
}

Status MakeDirsInRoot(const std::string& root, const std::string& rel,
                      mode_t mode, const std::optional<Owner>& owner,
                      int64_t ns, const std::string& shown) {
  std::vector<std::string> created;
  const auto parts = SplitPath(rel);
  for (size_t i = 1; i <= parts.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(std::string at,
                          ResolveInRoot(root, JoinPath(parts, i), true));
    const std::string full = UnderRoot(root, at);
    struct stat st;
    if (lstat(full.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return FailedPreconditionError(shown + ": not a directory");
      }
      continue;
    }
    if (mkdir(full.c_str(), 0700) != 0) return PathError(shown, errno);
    if (chmod(full.c_str(), mode) != 0) return PathError(shown, errno);
    if (owner) KILN_RETURN_IF_ERROR(Lchown(full, *owner));
    created.push_back(full);
  }
  // Times last, deepest first, so creating a child does not change them.
  for (auto it = created.rbegin(); ns != -1 && it != created.rend(); ++it) {
    KILN_RETURN_IF_ERROR(SetTimes(*it, ns));
  }
  return Status::Ok();
}

}  // namespace internal

Status ApplyFileAction(const pb::FileAction& action,
                       const FileActionDirs& dirs) {
  using internal::ApplyCopy;
  switch (action.action_case()) {
    case pb::FileAction::kCopy:
      return ApplyCopy(action.copy(), dirs)
          .WithContext("copy " + action.copy().src() + " -> " +
                       action.copy().dest());
    case pb::FileAction::kMkfile:
      return internal::DoMkfile(action.mkfile(), dirs)
          .WithContext("mkfile " + action.mkfile().path());
    case pb::FileAction::kMkdir:
      return internal::DoMkdir(action.mkdir(), dirs)
          .WithContext("mkdir " + action.mkdir().path());
    case pb::FileAction::kRm:
      return internal::DoRm(action.rm(), dirs)
          .WithContext("rm " + action.rm().path());
    case pb::FileAction::kSymlink:
      return internal::DoSymlink(action.symlink(), dirs)
          .WithContext("symlink " + action.symlink().newpath() + " -> " +
                       action.symlink().oldpath());
    case pb::FileAction::ACTION_NOT_SET:
      break;
  }
  return InvalidArgumentError("file action has no action set");
}

}  // namespace kiln::solver
