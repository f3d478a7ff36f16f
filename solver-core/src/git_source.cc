// ParseGitSource and ResolveGitCommit. The checkout is git_checkout.cc.
#include "kiln/solver/git_source.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "git_process.h"
#include "git_session.h"
#include "path_util.h"

namespace kiln::solver {
namespace {

using internal::GitSession;
using internal::IsCommitSha;
using internal::MirrorLock;
using internal::RunGit;
using internal::RunGitStatus;

constexpr std::string_view kGitScheme = "git://";

// sshutil.IsImplicitSSHTransport: "user@host:path", no scheme.
bool IsImplicitSsh(std::string_view s) {
  size_t at = s.find('@');
  size_t colon = s.find(':');
  if (at == std::string_view::npos || at == 0 ||
      colon == std::string_view::npos || colon < at ||
      s.find("://") != std::string_view::npos) {
    return false;
  }
  for (char c : s.substr(0, at)) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return colon > at + 1;
}

bool IsGitTransport(std::string_view s) {
  for (std::string_view prefix :
       {"http://", "https://", "git://", "ssh://", "file://"}) {
    if (s.substr(0, prefix.size()) == prefix) return true;
  }
  return IsImplicitSsh(s);
}

std::string WithTransport(std::string_view s) {
  return IsGitTransport(s) ? std::string(s) : "https://" + std::string(s);
}

std::string Attr(const pb::SourceOp& op, const std::string& key) {
  auto it = op.attrs().find(key);
  return it == op.attrs().end() ? std::string() : it->second;
}

// ls-remote output "<sha>\t<ref>" lines → the ref names, peeled "^{}"
// entries dropped.
std::vector<std::string> RemoteRefNames(std::string_view out) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string_view::npos) end = out.size();
    std::string_view line = out.substr(pos, end - pos);
    size_t tab = line.find('\t');
    if (tab != std::string_view::npos) {
      std::string_view name = line.substr(tab + 1);
      if (name.size() < 3 || name.substr(name.size() - 3) != "^{}") {
        names.emplace_back(name);
      }
    }
    pos = end + 1;
  }
  return names;
}

// git's ref_rev_parse_rules: the first rule naming an advertised ref wins.
std::string MatchRemoteRef(const std::string& ref,
                           const std::vector<std::string>& names) {
  for (const std::string& candidate :
       {ref, "refs/" + ref, "refs/tags/" + ref, "refs/heads/" + ref,
        "refs/remotes/" + ref, "refs/remotes/" + ref + "/HEAD"}) {
    for (const std::string& name : names) {
      if (name == candidate) return name;
    }
  }
  return "";
}

bool IsHex(std::string_view s) {
  if (s.size() < 4 || s.size() > 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The full sha `rev` (a local name) points at, peeled to a commit.
Result<std::string> PeelToCommit(const GitSession& session,
                                 const std::string& rev,
                                 const std::string& what,
                                 std::stop_token stop) {
  KILN_ASSIGN_OR_RETURN(
      internal::GitOutput out,
      internal::RunGitProcess(
          session.Mirror({"rev-parse", "--verify", "--quiet",
                          "--end-of-options", rev + "^{commit}"}),
          stop));
  std::string sha = out.out.substr(0, out.out.find('\n'));
  if (out.exit_code != 0 || !IsCommitSha(sha)) {
    if (!out.err.empty()) return internal::GitFailure(what, out);
    return NotFoundError(what + ": no such commit");
  }
  return sha;
}

Status Pin(const GitSession& session, const std::string& sha,
           std::stop_token stop) {
  return RunGitStatus(
      "pinning commit " + sha + " in the git mirror",
      session.Mirror({"update-ref", "refs/kiln/commits/" + sha, sha}), stop);
}

// Fetches every branch and tag of the remote into the mirror, overwriting
// what it held: for servers that refuse fetching by id, and for
// abbreviated commit ids. Errors say `what` failed.
Status FetchAllRefs(const GitSession& session, const std::string& what,
                    std::stop_token stop) {
  return RunGitStatus(
      what,
      session.Remote({"fetch", "--quiet", "--no-tags", "--force",
                      "--no-write-fetch-head", session.remote(),
                      "+refs/heads/*:refs/heads/*",
                      "+refs/tags/*:refs/tags/*"}),
      stop);
}

Result<std::string> ResolveSha(const GitSession& session, const GitRef& ref,
                               std::stop_token stop) {
  const std::string what =
      "resolving commit " + ref.ref + " of git remote " + session.remote();
  if (PeelToCommit(session, ref.ref, what, stop).ok()) {
    KILN_RETURN_IF_ERROR(Pin(session, ref.ref, stop));
    return ref.ref;
  }
  Result<std::string> direct =
      RunGit(what,
             session.Remote({"fetch", "--quiet", "--no-tags",
                             "--no-write-fetch-head", session.remote(),
                             ref.ref + ":refs/kiln/commits/" + ref.ref}),
             stop);
  if (direct.ok()) return PeelToCommit(session, ref.ref, what, stop);  // pinned
  if (direct.status().code() == StatusCode::kCancelled) return direct.status();
  // Servers that refuse fetching by id: fetch every branch and tag.
  KILN_RETURN_IF_ERROR(FetchAllRefs(session, what, stop));
  Result<std::string> sha = PeelToCommit(session, ref.ref, what, stop);
  if (!sha.ok()) return NotFoundError(direct.status().message());
  KILN_RETURN_IF_ERROR(Pin(session, *sha, stop));
  return sha;
}

Result<std::string> ResolveLocked(const GitSession& session, const GitRef& ref,
                                  std::stop_token stop) {
  if (IsCommitSha(ref.ref)) return ResolveSha(session, ref, stop);
  const std::string what = "resolving " +
                           (ref.ref.empty() ? "HEAD" : "ref " + ref.ref) +
                           " of git remote " + session.remote();
  std::string full_ref;
  if (ref.ref.empty()) {
    KILN_ASSIGN_OR_RETURN(std::string out,
                          RunGit(what,
                                 session.Remote({"ls-remote", "--symref",
                                                 session.remote(), "HEAD"}),
                                 stop));
    // "ref: refs/heads/main\tHEAD": the default branch, so that a checkout
    // with .git can name it.
    full_ref = "HEAD";
    if (out.rfind("ref: ", 0) == 0) {
      full_ref = out.substr(5, out.find('\t') - 5);
    }
  } else {
    KILN_ASSIGN_OR_RETURN(
        std::string out,
        RunGit(what, session.Remote({"ls-remote", session.remote(), ref.ref}),
               stop));
    full_ref = MatchRemoteRef(ref.ref, RemoteRefNames(out));
  }
  if (full_ref.empty() && IsHex(ref.ref)) {
    // Maybe an abbreviated commit id: needs every branch and tag.
    KILN_RETURN_IF_ERROR(FetchAllRefs(session, what, stop));
    KILN_ASSIGN_OR_RETURN(std::string sha,
                          PeelToCommit(session, ref.ref, what, stop));
    KILN_RETURN_IF_ERROR(Pin(session, sha, stop));
    return sha;
  }
  if (full_ref.empty()) {
    // No such ref: let git say so in its words.
    Result<std::string> fetched = RunGit(
        what,
        session.Remote({"fetch", "--quiet", "--no-tags",
                        "--no-write-fetch-head", session.remote(), ref.ref}),
        stop);
    if (!fetched.ok()) return fetched.status();
    return NotFoundError(what + ": the remote has no such ref");
  }
  std::string local = full_ref == "HEAD" ? "refs/kiln/HEAD" : full_ref;
  KILN_RETURN_IF_ERROR(
      RunGitStatus(what,
                   session.Remote({"fetch", "--quiet", "--no-tags", "--force",
                                   "--no-write-fetch-head", session.remote(),
                                   "+" + full_ref + ":" + local}),
                   stop));
  Result<std::string> sha = PeelToCommit(session, local, what, stop);
  if (!sha.ok()) {
    if (sha.status().code() == StatusCode::kCancelled) return sha.status();
    return FailedPreconditionError(what + ": " + full_ref +
                                   " does not name a commit");
  }
  if (ref.ref.empty() && full_ref != "HEAD") {
    KILN_RETURN_IF_ERROR(RunGitStatus(
        what, session.Mirror({"symbolic-ref", "HEAD", full_ref}), stop));
  }
  KILN_RETURN_IF_ERROR(Pin(session, *sha, stop));
  return sha;
}

}  // namespace

Result<GitRef> ParseGitSource(const pb::SourceOp& op) {
  const std::string& id = op.identifier();
  auto invalid = [&](std::string_view why) {
    return InvalidArgumentError("git source \"" + id +
                                "\": " + std::string(why));
  };
  if (id.rfind(kGitScheme, 0) != 0) return invalid("not a git:// identifier");
  std::string rest =
      WithTransport(std::string_view(id).substr(kGitScheme.size()));
  GitRef ref;
  size_t hash = rest.find('#');
  std::string fragment =
      hash == std::string::npos ? std::string() : rest.substr(hash + 1);
  ref.remote = rest.substr(0, hash);
  size_t colon = fragment.find(':');
  ref.ref = fragment.substr(0, colon);
  std::string subdir =
      colon == std::string::npos ? std::string() : fragment.substr(colon + 1);

  std::string full_url = Attr(op, "git.fullurl");
  if (!full_url.empty()) ref.remote = WithTransport(full_url);
  ref.keep_git_dir = Attr(op, "git.keepgitdir") == "true";
  ref.auth_token_secret = Attr(op, "git.authtokensecret");
  ref.auth_header_secret = Attr(op, "git.authheadersecret");
  ref.known_ssh_hosts = Attr(op, "git.knownsshhosts");
  ref.mount_ssh_sock = Attr(op, "git.mountsshsock");

  size_t scheme_end = ref.remote.find("://");
  if (scheme_end != std::string::npos && ref.remote.size() == scheme_end + 3) {
    return invalid("no remote");
  }
  if (ref.remote.empty() || ref.remote.front() == '-') {
    return invalid("bad remote \"" + ref.remote + "\"");
  }
  if (!ref.ref.empty() && ref.ref.front() == '-') {
    return invalid("bad ref \"" + ref.ref + "\"");
  }
  std::optional<std::vector<std::string>> parts = internal::CleanPath(subdir);
  if (!parts) {
    return invalid("subdir \"" + subdir + "\" leaves the repository");
  }
  ref.subdir = internal::JoinPath(*parts);
  return ref;
}

Result<std::string> ResolveGitCommit(const GitRef& ref,
                                     const GitSourceOptions& options,
                                     std::stop_token stop) {
  KILN_ASSIGN_OR_RETURN(GitSession session,
                        GitSession::Open(ref, options, /*remote_access=*/true));
  KILN_ASSIGN_OR_RETURN(
      MirrorLock lock,
      MirrorLock::Acquire(session.lock_path(), /*exclusive=*/true, stop));
  KILN_RETURN_IF_ERROR(session.EnsureMirror(stop));
  return ResolveLocked(session, ref, stop);
}

}  // namespace kiln::solver
