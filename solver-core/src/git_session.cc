#include "git_session.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kiln/llb/digest.h"

namespace kiln::solver::internal {
namespace {

// "scheme://host[:port]" of an http(s) remote, or "" for other remotes.
std::string HttpOrigin(const std::string& remote) {
  size_t scheme_end = remote.find("://");
  if (scheme_end == std::string::npos) return "";
  std::string scheme = remote.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return "";
  size_t host_start = scheme_end + 3;
  size_t host_end = remote.find_first_of("/?#", host_start);
  std::string authority = remote.substr(host_start, host_end - host_start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  return scheme + "://" + authority;
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// BuildKit's lookup: "<header>.<host>", "<token>.<host>", "<header>",
// "<token>"; the first secret that exists wins, missing ones are skipped.
Result<std::string> AuthorizationHeader(const GitRef& ref,
                                        const std::string& host,
                                        SecretProvider* secrets) {
  struct Candidate {
    std::string name;
    bool token;
  };
  std::vector<Candidate> candidates;
  if (!ref.auth_header_secret.empty()) {
    candidates.push_back({ref.auth_header_secret + "." + host, false});
  }
  if (!ref.auth_token_secret.empty()) {
    candidates.push_back({ref.auth_token_secret + "." + host, true});
  }
  if (!ref.auth_header_secret.empty()) {
    candidates.push_back({ref.auth_header_secret, false});
  }
  if (!ref.auth_token_secret.empty()) {
    candidates.push_back({ref.auth_token_secret, true});
  }
  for (const Candidate& c : candidates) {
    Result<std::string> secret = secrets->GetSecret(c.name);
    if (!secret.ok()) {
      if (secret.status().code() == StatusCode::kNotFound) continue;
      return secret.status().WithContext("reading git auth secret " + c.name);
    }
    if (c.token) return "basic " + Base64("x-access-token:" + *secret);
    return *std::move(secret);
  }
  return std::string();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

bool IsCommitSha(std::string_view ref) {
  if (ref.size() != 40) return false;
  for (char c : ref) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<MirrorLock> MirrorLock::Acquire(const std::string& lock_path,
                                       bool exclusive, std::stop_token stop) {
  UniqueFd fd(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid())
    return ErrnoError("opening git mirror lock", lock_path, errno);
  int op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  while (flock(fd.get(), op) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return ErrnoError("locking git mirror", lock_path, errno);
    }
    if (stop.stop_requested()) {
      return CancelledError("waiting for git mirror lock " + lock_path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return MirrorLock(std::move(fd));
}

Result<GitSession> GitSession::Open(const GitRef& ref,
                                    const GitSourceOptions& options,
                                    bool remote_access) {
  if (options.cache_dir.empty()) {
    return InvalidArgumentError("git source: no cache directory configured");
  }
  GitSession session;
  session.remote_ = ref.remote;
  session.file_remote_ = ref.remote.rfind("file://", 0) == 0;
  std::string git_dir = options.cache_dir + "/git";
  session.home_ = options.cache_dir + "/home";
  KILN_RETURN_IF_ERROR(MakeDirs(git_dir, "git mirror directory " + git_dir));
  KILN_RETURN_IF_ERROR(
      MakeDirs(session.home_, "git home directory " + session.home_));
  session.mirror_ =
      git_dir + "/" + std::string(Digest::FromBytes(ref.remote).hex());
  if (!remote_access) return session;

  if (!ref.mount_ssh_sock.empty()) {
    if (options.ssh == nullptr) {
      return UnimplementedError(
          "git source " + ref.remote + ": git.mountsshsock (ssh agent \"" +
          ref.mount_ssh_sock + "\") needs an ssh agent provider");
    }
    KILN_ASSIGN_OR_RETURN(std::string sock,
                          options.ssh->AgentSocket(ref.mount_ssh_sock));
    session.remote_env_.push_back("SSH_AUTH_SOCK=" + sock);
  }
  if (!ref.known_ssh_hosts.empty()) {
    std::string path = git_dir + "/known_hosts-" + RandomNonce();
    KILN_RETURN_IF_ERROR(WriteFileAtomic(path, ref.known_ssh_hosts));
    session.known_hosts_file_ = path;
    session.remote_env_.push_back(
        "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o StrictHostKeyChecking=yes "
        "-o UserKnownHostsFile=" +
        ShellQuote(path));
  }
  std::string origin = HttpOrigin(ref.remote);
  if (!origin.empty() && options.secrets != nullptr &&
      (!ref.auth_header_secret.empty() || !ref.auth_token_secret.empty())) {
    std::string host = origin.substr(origin.find("://") + 3);
    KILN_ASSIGN_OR_RETURN(std::string header,
                          AuthorizationHeader(ref, host, options.secrets));
    if (!header.empty()) {
      session.remote_env_.push_back("GIT_CONFIG_COUNT=1");
      session.remote_env_.push_back("GIT_CONFIG_KEY_0=http." + origin +
                                    "/.extraheader");
      session.remote_env_.push_back("GIT_CONFIG_VALUE_0=Authorization: " +
                                    header);
    }
  }
  return session;
}

GitSession::GitSession(GitSession&& other) noexcept
    : remote_(std::move(other.remote_)),
      mirror_(std::move(other.mirror_)),
      home_(std::move(other.home_)),
      remote_env_(std::move(other.remote_env_)),
      file_remote_(other.file_remote_),
      known_hosts_file_(std::move(other.known_hosts_file_)) {
  other.known_hosts_file_.clear();
}

GitSession::~GitSession() {
  if (!known_hosts_file_.empty()) unlink(known_hosts_file_.c_str());
}

GitCommand GitSession::Mirror(std::vector<std::string> args) const {
  std::vector<std::string> full = {"--git-dir=" + mirror_, "-c", "gc.auto=0",
                                   "-c", "maintenance.auto=false"};
  full.insert(full.end(), args.begin(), args.end());
  return GitCommand{std::move(full), home_, {}};
}

GitCommand GitSession::Remote(std::vector<std::string> args) const {
  if (file_remote_) {
    args.insert(args.begin(), {"-c", "protocol.file.allow=always"});
  }
  GitCommand command = Mirror(std::move(args));
  command.env = remote_env_;
  return command;
}

GitCommand GitSession::Plain(std::vector<std::string> args) const {
  return GitCommand{std::move(args), home_, {}};
}

Status GitSession::EnsureMirror(std::stop_token stop) const {
  struct stat st;
  if (stat((mirror_ + "/HEAD").c_str(), &st) == 0 &&
      stat((mirror_ + "/objects").c_str(), &st) == 0) {
    return Status::Ok();
  }
  KILN_RETURN_IF_ERROR(RemoveTree(mirror_));
  return RunGitStatus("creating git mirror for " + remote_,
                      Plain({"-c", "init.defaultBranch=master", "init",
                             "--bare", "--quiet", mirror_}),
                      stop);
}

}  // namespace kiln::solver::internal
