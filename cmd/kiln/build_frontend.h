// `kiln build --frontend/--frontend-exec`: runs a frontend through the
// gateway's FrontendRunner and turns its result into what the exporters take.
#ifndef KILN_CMD_KILN_BUILD_FRONTEND_H_
#define KILN_CMD_KILN_BUILD_FRONTEND_H_

#include <map>
#include <stop_token>
#include <string>

#include "build_flags.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/solver.h"
#include "state_root.h"

namespace kiln::cli {

// What a build produced, for the exporters.
struct BuildOutput {
  std::string snapshot;  // "" = empty filesystem
  llb::Platform platform;
  std::string image_config;  // containerimage.config from a frontend
  std::map<std::string, std::string> created_by;
  // The frontend's exporter metadata (e.g. result.txt of a --call).
  std::map<std::string, std::string> metadata;
};

// Runs the frontend `flags` name with its opts against `request` (progress,
// locals, secrets, ...). Frontend warnings are printed to stderr. Errors:
// the runner's (policy, resolution, the frontend's own error); Unimplemented
// for a multi-platform result (several refs), which kiln cannot export yet.
Result<BuildOutput> BuildWithFrontend(Root& root, const BuildFlags& flags,
                                      const solver::SolveRequest& request,
                                      std::stop_token stop);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_FRONTEND_H_
