// The frontend policy a kiln invocation applies: the operator config's
// [frontend] table (frontend_policy.h) plus the pins `kiln frontend pin`
// recorded in the state root ($KILN_ROOT/frontend-pins.toml, a TOML file
// with one [frontend.pin] table, the same syntax as the operator config).
//
// A reference pinned in both files to different digests is an error naming
// both files: the operator's config never loses silently to the CLI's file.
#ifndef KILN_CMD_KILN_FRONTEND_PINS_H_
#define KILN_CMD_KILN_FRONTEND_PINS_H_

#include <map>
#include <string>

#include "kiln/gateway/frontend_policy.h"
#include "kiln/llb/status.h"

namespace kiln::cli {

// $KILN_ROOT/frontend-pins.toml for the state root `root_dir`.
std::string FrontendPinsPath(const std::string& root_dir);

// The pins recorded in `path` (normalized reference → digest); empty when
// the file does not exist. InvalidArgument for a malformed file.
Result<std::map<std::string, std::string>> LoadFrontendPins(
    const std::string& path);

// Rewrites `path` atomically (temporary file + rename) with `pins`.
Status SaveFrontendPins(const std::string& path,
                        const std::map<std::string, std::string>& pins);

// The operator config's policy (`config_path`, default ConfigPath();
// defaults when "") with the pins of `root_dir` merged in.
Result<gateway::FrontendPolicy> LoadOperatorPolicy(const std::string& root_dir);
Result<gateway::FrontendPolicy> LoadOperatorPolicy(
    const std::string& root_dir, const std::string& config_path);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_FRONTEND_PINS_H_
