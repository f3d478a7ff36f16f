// CheckoutGit: files from the mirror through a temporary index, or a
// shallow repository fetched from the mirror when .git is kept.
#include <unistd.h>

#include <string>
#include <vector>

#include "fs_util.h"
#include "git_process.h"
#include "git_session.h"
#include "kiln/solver/git_source.h"

namespace kiln::solver {
namespace {

using internal::GitSession;
using internal::RunGit;
using internal::RunGitStatus;

// The remote without "user[:password]@", for .git/config.
std::string RedactRemote(const std::string& remote) {
  size_t scheme_end = remote.find("://");
  if (scheme_end == std::string::npos) return remote;
  size_t host_start = scheme_end + 3;
  size_t host_end = remote.find_first_of("/?#", host_start);
  size_t at = remote.rfind(
      '@', host_end == std::string::npos ? remote.size() : host_end);
  if (at == std::string::npos || at < host_start) return remote;
  return remote.substr(0, host_start) + remote.substr(at + 1);
}

// The full name (refs/heads/..., refs/tags/...) the ref has in the mirror,
// or "" when it is a commit id or unnamed.
std::string FullRefName(const GitSession& session, const GitRef& ref,
                        const std::string& commit, std::stop_token stop) {
  if (ref.ref == commit || internal::IsCommitSha(ref.ref) ||
      (!ref.ref.empty() && ref.ref.front() == '-')) {
    return "";
  }
  std::vector<std::string> args =
      ref.ref.empty()
          ? std::vector<std::string>{"symbolic-ref", "--quiet", "HEAD"}
          : std::vector<std::string>{"rev-parse", "--symbolic-full-name",
                                     ref.ref};
  Result<std::string> out = RunGit("naming ref", session.Mirror(args), stop);
  if (!out.ok()) return "";
  std::string name = out->substr(0, out->find('\n'));
  if (name.rfind("refs/", 0) != 0 || name.rfind("refs/kiln/", 0) == 0) {
    return "";
  }
  // A default branch the mirror never fetched is not a name we know.
  Result<std::string> exists =
      RunGit("naming ref",
             session.Mirror({"rev-parse", "--verify", "--quiet", name}), stop);
  return exists.ok() ? name : "";
}

Status CheckoutWithGitDir(const GitSession& session, const GitRef& ref,
                          const std::string& commit, const std::string& dest,
                          std::stop_token stop) {
  const std::string what = "checking out " + commit + " of git remote " +
                           session.remote() + " with .git";
  KILN_RETURN_IF_ERROR(
      RunGitStatus(what,
                   session.Plain({"-c", "init.defaultBranch=master", "init",
                                  "--quiet", dest}),
                   stop));
  std::string name = FullRefName(session, ref, commit, stop);
  std::string pinned = "refs/kiln/commits/" + commit;
  std::string src = pinned;
  if (name.rfind("refs/tags/", 0) == 0) {
    // An annotated tag keeps its tag object when it still names the commit.
    Result<std::string> tagged =
        RunGit(what,
               session.Mirror({"rev-parse", "--verify", "--quiet",
                               "--end-of-options", name + "^{commit}"}),
               stop);
    if (tagged.ok() && tagged->substr(0, tagged->find('\n')) == commit) {
      src = name;
    }
  }
  std::string refspec = name.empty() ? src : src + ":" + name;
  KILN_RETURN_IF_ERROR(RunGitStatus(
      what,
      session.Plain({"-C", dest, "-c", "protocol.file.allow=always", "fetch",
                     "--quiet", "--no-tags", "--depth=1",
                     "file://" + session.mirror(), refspec}),
      stop));
  KILN_RETURN_IF_ERROR(RunGitStatus(
      what,
      session.Plain({"-C", dest, "checkout", "--quiet", "--detach", commit}),
      stop));
  KILN_RETURN_IF_ERROR(
      RunGitStatus(what,
                   session.Plain({"-C", dest, "remote", "add", "origin",
                                  RedactRemote(session.remote())}),
                   stop));
  return RunGitStatus(
      what,
      session.Plain({"-C", dest, "reflog", "expire", "--all", "--expire=now"}),
      stop);
}

Status CheckoutFiles(const GitSession& session, const std::string& treeish,
                     const std::string& dest, std::stop_token stop) {
  std::string index = session.mirror() + ".index-" + internal::RandomNonce();
  internal::GitCommand command = session.Mirror(
      {"--work-tree=" + dest, "read-tree", "--reset", "-u", treeish});
  command.env.push_back("GIT_INDEX_FILE=" + index);
  Status status = RunGitStatus(
      "checking out " + treeish + " of git remote " + session.remote(), command,
      stop);
  unlink(index.c_str());
  return status;
}

}  // namespace

Status CheckoutGit(const GitRef& ref, const std::string& commit,
                   const std::string& dest_dir, const GitSourceOptions& options,
                   std::stop_token stop) {
  if (!internal::IsCommitSha(commit)) {
    return InvalidArgumentError("checking out git remote " + ref.remote +
                                ": \"" + commit + "\" is not a commit id");
  }
  KILN_ASSIGN_OR_RETURN(
      GitSession session,
      GitSession::Open(ref, options, /*remote_access=*/false));
  KILN_ASSIGN_OR_RETURN(internal::MirrorLock lock,
                        internal::MirrorLock::Acquire(
                            session.lock_path(), /*exclusive=*/false, stop));
  KILN_ASSIGN_OR_RETURN(
      internal::GitOutput pinned,
      internal::RunGitProcess(
          session.Mirror({"rev-parse", "--verify", "--quiet",
                          "refs/kiln/commits/" + commit + "^{commit}"}),
          stop));
  if (pinned.exit_code != 0) {
    return NotFoundError("checking out git remote " + ref.remote + ": commit " +
                         commit + " is not in its mirror (resolve it first)");
  }
  std::string treeish = commit;
  if (!ref.subdir.empty()) {
    treeish = commit + ":" + ref.subdir;
    KILN_ASSIGN_OR_RETURN(
        internal::GitOutput type,
        internal::RunGitProcess(session.Mirror({"cat-file", "-t", treeish}),
                                stop));
    if (type.exit_code != 0) {
      return NotFoundError("checking out git remote " + ref.remote +
                           ": subdir " + ref.subdir + " not found in commit " +
                           commit);
    }
    if (type.out.substr(0, type.out.find('\n')) != "tree") {
      return FailedPreconditionError("checking out git remote " + ref.remote +
                                     ": subdir " + ref.subdir +
                                     " is not a directory in commit " + commit);
    }
  }
  if (ref.keep_git_dir && ref.subdir.empty()) {
    return CheckoutWithGitDir(session, ref, commit, dest_dir, stop);
  }
  return CheckoutFiles(session, treeish, dest_dir, stop);
}

}  // namespace kiln::solver
