// Helpers shared by SecretFile and SshForwarder. Private to solver-core.
#ifndef KILN_SOLVER_SRC_EXEC_MOUNTS_INTERNAL_H_
#define KILN_SOLVER_SRC_EXEC_MOUNTS_INTERNAL_H_

#include <string>

#include "kiln/llb/status.h"

namespace kiln::solver::internal {

// A fresh directory "/run/<prefix>XXXXXX" (or under /tmp when /run is not
// writable) with mode 0700. Internal on failure.
Result<std::string> MakePrivateTempDir(const std::string& prefix);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_EXEC_MOUNTS_INTERNAL_H_
