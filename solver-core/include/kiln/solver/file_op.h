// Executing LLB FileOps (pb::FileOp) on directories: mkdir, mkfile, rm,
// symlink and copy, with BuildKit's semantics (solver/llbsolver/file and
// fsutil's copy package).
//
// Directory plumbing. The functions here never allocate storage: they work on
// directories the caller (the scheduler, through a snapshotter) provides.
//  - ApplyFileAction modifies `dirs.dest` in place: the caller passes a
//    writable directory that already holds the action's base (a snapshot
//    prepared from the base input, or an empty directory for input -1).
//    `dirs.source` is only read (copy's secondary input; "" = empty
//    filesystem).
//  - ApplyFileOp runs a FileOp's action graph. For each action it needs, in
//    dependency order, it asks `prepare(action_index, base)` for a writable
//    directory holding a copy of `base` (an op input directory, the result
//    directory of an earlier action, or nullopt for scratch) — a snapshotter
//    Prepare() on the base's snapshot, typically. The base directory itself is
//    never modified, so an action's result can feed several later actions
//    and still be an output. Only actions an output depends on are run.
//
// Path semantics: every path in an action is absolute-or-relative to its
// root and resolved inside it: symlinks (absolute or with `..`) are followed
// as if the root were `/` and never lead outside it; `..` stops at the root.
// The trees must not be modified concurrently by others while an action
// runs (resolution is by path, not by directory fds).
//
// Options (FileActionCopy): src/dest with Docker COPY trailing-slash
// semantics, allowWildcard (filepath.Match syntax per component, including
// character classes), allowEmptyWildcard, followSymlink, dirCopyContents,
// createDestPath, mode (-1 = keep), owner (ChownOpt; without it source
// ownership is kept), timestamp (ns, -1 = keep source mtimes),
// include_patterns / exclude_patterns (PatternMatcher, pattern_matcher.h:
// Docker .dockerignore syntax with `**` and `!` exceptions; the copied
// source itself is never filtered, only what is below it),
// alwaysReplaceExistingDestPaths. Hard links among copied files are kept
// as hard links; extended attributes are copied
// (failures to set one the destination rejects — ENOTSUP, EPERM — are
// ignored, as BuildKit does).
// attemptUnpackDockerCompatibility (ADD): a source that is a regular file
// holding a tar stream (plain, gzip or zstd) is extracted into the
// destination directory (created when missing) with ApplyLayer
// (layer_unpack.h) semantics — entries keep their own owners, modes and
// times; unlike Docker, `.wh.*` entries act as whiteouts — other sources
// are copied normally; bzip2/xz-compressed tars are Unimplemented.
// Not implemented (Unimplemented error, nothing is changed): modeStr,
// required_paths.
//
// Owners: UserOpt byID, or byName looked up (ResolveUser, user_lookup.h) in
// /etc/passwd (user) or /etc/group (group) of the filesystem named by
// NamedUserOpt.input, with the FileAction index scheme. A user by id sets
// gid = uid unless a group is given; no user but a group means uid 0.
//
// Errors: ApplyFileAction messages name the action and the path, e.g.
// "copy /src/a.txt -> /app/: /src/a.txt: no such file or directory";
// ApplyFileOp prepends "file action <i>: ". Codes: NotFound (missing
// source/path), FailedPrecondition (a path of the wrong type, a symlink loop),
// AlreadyExists, PermissionDenied, InvalidArgument (bad action or graph),
// Unimplemented (see above), Internal (other I/O failures). A failed action
// may leave its destination partially modified; the caller discards it.
//
// Thread safety: free functions; concurrent calls on distinct destination
// directories are safe. Chown needs privileges (root) unless it keeps ids.
#ifndef KILN_SOLVER_FILE_OP_H_
#define KILN_SOLVER_FILE_OP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln::solver {

struct FileActionDirs {
  // Writable directory holding the action's base; modified in place.
  std::string dest;
  // Copy's secondary input, read only; "" = the empty filesystem.
  std::string source;
  // The directory of a NamedUserOpt.input index (FileAction index scheme),
  // for user and group names; "" = empty filesystem. Unset: names are an
  // InvalidArgument error.
  std::function<Result<std::string>(int64_t index)> input_dir;
};

// Applies one action to `dirs` (see above). The action's input,
// secondaryInput and output fields are not read.
Status ApplyFileAction(const pb::FileAction& action,
                       const FileActionDirs& dirs);

// Returns a writable directory for action `action_index` holding a copy of
// `base` (nullopt: empty). The directory must stay valid until ApplyFileOp
// returns; ownership stays with the caller.
using PrepareActionDir = std::function<Result<std::string>(
    size_t action_index, const std::optional<std::string>& base)>;

// Runs `op` on `inputs` (one directory per op input, read only; "" = empty
// filesystem). Returns the output directories by output slot: the prepared
// directory of the action publishing slot k. Errors: InvalidArgument for an
// index out of range, a cycle, or output slots that are not exactly
// 0..m-1; the failing action's error with "file action <i>: " prepended.
Result<std::vector<std::string>> ApplyFileOp(
    const pb::FileOp& op, const std::vector<std::string>& inputs,
    const PrepareActionDir& prepare);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_FILE_OP_H_
