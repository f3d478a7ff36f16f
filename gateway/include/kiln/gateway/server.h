// gateway: serves BuildKit's LLBBridge gRPC API to frontend containers and
// forwards their requests to solver-core.
//
// Not implemented yet (the gateway issue).
#ifndef KILN_GATEWAY_SERVER_H_
#define KILN_GATEWAY_SERVER_H_

#include "kiln/solver/solver.h"

namespace kiln::gateway {}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_SERVER_H_
