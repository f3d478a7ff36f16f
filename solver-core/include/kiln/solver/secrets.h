// Secrets and SSH agents a build may use, supplied by the client (the CLI's
// --secret and --ssh, or a daemon session). The engine asks by id when an
// exec mounts one; nothing is read before.
//
// Secret bytes are sensitive: implementations never log them and never put
// them in error messages; the engine writes them only to a private tmpfs
// for the duration of one exec (exec_mounts.h).
//
// Thread safety: implementations must allow concurrent calls.
#ifndef KILN_SOLVER_SECRETS_H_
#define KILN_SOLVER_SECRETS_H_

#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::solver {

class SecretProvider {
 public:
  virtual ~SecretProvider() = default;
  // The secret's bytes. NotFound (naming the id) when there is no such
  // secret; other errors when its source cannot be read.
  virtual Result<std::string> GetSecret(std::string_view id) = 0;
};

class SshProvider {
 public:
  virtual ~SshProvider() = default;
  // The path of the agent socket for `id` ("default" when LLB gives none).
  // NotFound (naming the id) when there is no such agent.
  virtual Result<std::string> AgentSocket(std::string_view id) = 0;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_SECRETS_H_
