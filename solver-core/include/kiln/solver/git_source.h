// Git sources (llb "git://HOST/PATH#REF:SUBDIR" with git.fullurl,
// git.keepgitdir and the auth attrs): resolving a ref to a commit and
// checking a commit out into a snapshot directory, with the git CLI.
//
// Identifiers follow BuildKit's NewGitIdentifier: the part after "git://" is
// a remote URL (http://, https://, git://, ssh://, file:// or an implicit
// ssh "user@host:path"; anything else gets "https://" prepended) with an
// optional fragment "REF[:SUBDIR]". `git.fullurl` replaces the remote (same
// prefixing rule). file:// is a kiln addition (BuildKit has no local
// remotes); such remotes get protocol.file.allow=always.
//
// One bare mirror per remote URL lives under GitSourceOptions::cache_dir
// ("git/<sha256 of the URL>"); resolves fetch into it with explicit
// refspecs, full history (no shallow fetches, so short commit ids resolve),
// and checkouts read from it — there is never a working clone per build.
// Every resolved commit stays pinned in the mirror (refs/kiln/commits/SHA),
// so a checkout never needs the network.
//
// git runs without a shell and without user or system configuration: HOME
// is an empty directory under cache_dir, prompts are off, ssh runs in batch
// mode. Errors carry the tail of git's stderr.
//
// Auth: git.authtokensecret / git.authheadersecret name secrets looked up in
// GitSourceOptions::secrets as BuildKit does ("<name>.<host>", then
// "<name>"; missing secrets are skipped, since the Go client always sets
// both attrs); the first found becomes an "Authorization" http.extraHeader
// for the remote's origin, passed through the environment (never argv).
// git.mountsshsock needs GitSourceOptions::ssh (Unimplemented without it);
// git.knownsshhosts becomes ssh's known-hosts file, checked strictly.
//
// Not supported: submodules (gitlinks check out as empty directories, as
// with BuildKit's keep-git-dir off and no submodule init), LFS and other
// filters (no configuration defines them), the newer BuildKit attrs
// (git.checksum, git.mtime, git.bundle, signatures) which are ignored.
// File mtimes are the checkout time (BuildKit's default `checkout` mode).
//
// Thread safety: all functions may be called concurrently, also for one
// remote: a mirror is guarded by an flock on "<mirror>.lock" (exclusive to
// fetch, shared to check out), which also serializes separate processes.
#ifndef KILN_SOLVER_GIT_SOURCE_H_
#define KILN_SOLVER_GIT_SOURCE_H_

#include <stop_token>
#include <string>

#include "kiln/llb/status.h"
#include "kiln/solver/secrets.h"
#include "solver/pb/ops.pb.h"

namespace kiln::solver {

struct GitSourceOptions {
  // Bare mirrors live here, one per remote URL. Created when missing.
  std::string cache_dir;
  // Secrets for git.authtokensecret / git.authheadersecret; null: none.
  SecretProvider* secrets = nullptr;
  // Agent sockets for git.mountsshsock; null: the attr is Unimplemented.
  SshProvider* ssh = nullptr;
};

struct GitRef {
  std::string remote;  // URL given to git
  std::string ref;     // branch, tag, full or short sha, refs/...; "" = HEAD
  std::string subdir;  // clean, relative, no ".."; "" = the whole tree
  bool keep_git_dir = false;
  std::string auth_token_secret;   // git.authtokensecret
  std::string auth_header_secret;  // git.authheadersecret
  std::string known_ssh_hosts;     // git.knownsshhosts (file content)
  std::string mount_ssh_sock;      // git.mountsshsock (agent id)
};

// Parses a git source op. InvalidArgument naming the identifier for a
// scheme other than git, an unparsable remote, a ref starting with '-' or
// a subdir leaving the repository.
Result<GitRef> ParseGitSource(const pb::SourceOp& op);

// Resolves the ref to a full commit sha by fetching it into the remote's
// mirror (a full sha already in the mirror needs no network). "" resolves
// the remote's HEAD. A name is matched against the remote's refs with git's
// rules (exact, refs/NAME, refs/tags/NAME, refs/heads/NAME, ...); a hex
// string no ref matches is tried as a (short) commit id. Errors: NotFound
// with git's message when the remote, ref or commit does not exist;
// FailedPrecondition when the ref does not name a commit; Unimplemented for
// git.mountsshsock without an ssh provider; Unauthenticated / Unavailable
// for auth and network failures; Cancelled.
Result<std::string> ResolveGitCommit(const GitRef& ref,
                                     const GitSourceOptions& options,
                                     std::stop_token stop);

// Checks `commit` (as returned by ResolveGitCommit) out of the mirror into
// `dest_dir` (existing, empty). Without keep_git_dir only the files; with it
// (and no subdir, as in BuildKit) also a .git directory: a real repository
// holding the commit (shallow, depth 1) with HEAD detached at it, the ref
// created under its full name (refs/heads/..., refs/tags/...; annotated tags
// keep their tag object), and origin set to the remote. With a subdir only
// that directory's content becomes the root. Errors: NotFound when the
// commit is not in the mirror or the subdir does not exist in it,
// FailedPrecondition when the subdir is not a directory; git failures as in
// ResolveGitCommit; Cancelled. On error `dest_dir` may hold a partial tree.
Status CheckoutGit(const GitRef& ref, const std::string& commit,
                   const std::string& dest_dir, const GitSourceOptions& options,
                   std::stop_token stop);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_GIT_SOURCE_H_
