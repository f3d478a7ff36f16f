// sdk: write a kiln/BuildKit frontend in C++. A frontend reads its options
// and build context through the LLBBridge API and returns an LLB result.
//
// Not implemented yet (the gateway issue); frontends build graphs with
// kiln/llb/state.h meanwhile.
#ifndef KILN_SDK_FRONTEND_H_
#define KILN_SDK_FRONTEND_H_

#include "kiln/llb/state.h"

namespace kiln::sdk {}  // namespace kiln::sdk

#endif  // KILN_SDK_FRONTEND_H_
