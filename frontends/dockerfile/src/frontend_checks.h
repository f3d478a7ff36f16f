// The frontend's build checks and subrequests (Build's hooks): linting the
// loaded Dockerfile, reporting warnings through Client::Warn, and answering
// requestid. Private to frontend*.cc.
#ifndef KILN_DOCKERFILE_SRC_FRONTEND_CHECKS_H_
#define KILN_DOCKERFILE_SRC_FRONTEND_CHECKS_H_

#include "frontend_load.h"
#include "kiln/llb/status.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"

namespace kiln::dockerfile::internal {

// Before a build: runs the checks the config (`# check=`,
// build-arg:BUILDKIT_DOCKERFILE_CHECK) enables and sends each warning with
// Client::Warn (level 1, short "<Rule>: <message> (line N)", detail = the
// rule's description, its URL and range, attached to dockerfile.vertex).
// A Dockerfile that does not parse is left to the converter (OK here).
// Errors: a malformed check config (located at the directive); with
// error=true and any warning, CheckError's located error; Warn's failure.
Status ReportChecks(sdk::Client& client, const sdk::FrontendOptions& opts,
                    const LoadedDockerfile& dockerfile);

// Answers opts.request_id (non-empty): frontend.subrequests.describe,
// frontend.lint, frontend.targets, frontend.outline (see
// kiln/dockerfile/subrequests.h). Errors: Unimplemented naming an unknown id;
// the parser's located errors.
Result<sdk::BuildResult> HandleSubrequest(sdk::Client& client,
                                          const sdk::FrontendOptions& opts,
                                          const LoadedDockerfile& dockerfile);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_FRONTEND_CHECKS_H_
