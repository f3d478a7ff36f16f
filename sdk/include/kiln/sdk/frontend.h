// sdk: write a kiln/BuildKit frontend in C++. A frontend reads its options
// and build context through the LLBBridge API and returns an LLB result.
// This umbrella header brings in the whole SDK:
//   serve.h   - sdk::Serve, the frontend's main loop
//   client.h  - sdk::Client, one method per bridge RPC
//   options.h - sdk::FrontendOptions, typed access to the frontend opts
//   syntax.h  - helpers for `# syntax=` forwarding
// and kiln/llb/state.h to build the graph that the build function solves.
#ifndef KILN_SDK_FRONTEND_H_
#define KILN_SDK_FRONTEND_H_

#include "kiln/llb/state.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"
#include "kiln/sdk/serve.h"
#include "kiln/sdk/syntax.h"

#endif  // KILN_SDK_FRONTEND_H_
