// The CLI's secret and SSH providers: ids mapped to local files,
// environment variables and agent sockets, and the parsers of the
// `--secret` and `--ssh` flags (buildctl / docker buildx syntax).
//
//   --secret id=mytoken,src=/path     file (also source=; type=file)
//   --secret id=x,env=VAR             environment variable
//   --secret id=x,type=env[,src=VAR]  env: the variable is src, or the id
//   --secret id=x                     the variable named x when it is set,
//                                     else the file named x (BuildKit)
//   --ssh default                     $SSH_AUTH_SOCK
//   --ssh myid=/path/agent.sock       that socket
//
// Fields are CSV (double quotes allowed); keys are case-insensitive.
//
// Thread safety: the providers are thread-safe (GetSecret/AgentSocket may
// run concurrently with Add).
#ifndef KILN_SOLVER_SECRET_PROVIDERS_H_
#define KILN_SOLVER_SECRET_PROVIDERS_H_

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/secrets.h"

namespace kiln::solver {

struct SecretSource {
  std::string id;
  std::string file;  // read from this file, or
  std::string env;   // from this environment variable; neither: see above
  friend bool operator==(const SecretSource&, const SecretSource&) = default;
};

// Parses a --secret value. InvalidArgument for a field that is not
// key=value, an unknown key, an unsupported type or a missing id.
Result<SecretSource> ParseSecretSpec(std::string_view spec);

struct SshSource {
  std::string id;                  // "default" for a bare `default`
  std::vector<std::string> paths;  // empty: $SSH_AUTH_SOCK
  friend bool operator==(const SshSource&, const SshSource&) = default;
};

// Parses a --ssh value: `<id>[=<path>[,<path>...]]` (buildctl). Paths are
// not checked here (MapSshProvider::Add does). InvalidArgument for an
// empty id or an empty path.
Result<SshSource> ParseSshSpec(std::string_view spec);

// Secrets from files and environment variables, read when asked for (so a
// file may change between builds).
class MapSecretProvider final : public SecretProvider {
 public:
  // BuildKit's limit on one secret.
  static constexpr size_t kMaxSecretSize = 500 * 1024;

  // Adds `source`, replacing one with the same id. InvalidArgument for an
  // empty id or a source with both file and env.
  Status Add(SecretSource source);

  // NotFound "secret \"ID\" not found" for an unknown id, and (naming the
  // id and the variable) for an unset environment variable; a file's read
  // errors naming the id and the path; InvalidArgument when it is larger
  // than kMaxSecretSize. Never includes the bytes in a message.
  Result<std::string> GetSecret(std::string_view id) override;

 private:
  std::mutex mu_;
  std::map<std::string, SecretSource, std::less<>> sources_;  // guarded by mu_
};

// SSH agents by id.
class MapSshProvider final : public SshProvider {
 public:
  // Adds `source`, replacing one with the same id. No paths: the socket in
  // $SSH_AUTH_SOCK (FailedPrecondition when it is unset or empty). One path:
  // it must be a socket (NotFound when missing). Private key files instead
  // of an agent (a path that is not a socket, or several paths) are
  // Unimplemented: kiln only forwards agents.
  Status Add(const SshSource& source);

  // NotFound "ssh agent \"ID\" not found" for an unknown id. The socket
  // path otherwise (not re-checked).
  Result<std::string> AgentSocket(std::string_view id) override;

 private:
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> sockets_;  // guarded by mu_
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_SECRET_PROVIDERS_H_
