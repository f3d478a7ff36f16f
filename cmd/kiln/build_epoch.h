// SOURCE_DATE_EPOCH between the client, the frontend and the exporters, as
// buildx and BuildKit pass it:
//
//  - the client: $SOURCE_DATE_EPOCH becomes the frontend opt
//    build-arg:SOURCE_DATE_EPOCH unless that build arg is given explicitly
//    (buildx >= 0.10, buildctl >= 0.13);
//  - the engine: a frontend that honours the build arg returns it as result
//    metadata source.date.epoch[/<platform>], and each image, oci, docker,
//    local and tar export without its own source-date-epoch attr uses it
//    (BuildKit's exporter/util/epoch ParseSource).
//
// Thread safety: pure functions, except that AddSourceDateEpochArg reads
// the environment.
#ifndef KILN_CMD_KILN_BUILD_EPOCH_H_
#define KILN_CMD_KILN_BUILD_EPOCH_H_

#include <map>
#include <string>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/exporter.h"

namespace kiln::cli {

// Sets opts["build-arg:SOURCE_DATE_EPOCH"] from $SOURCE_DATE_EPOCH when the
// variable is set and not empty and the opt is absent. Errors:
// InvalidArgument when the variable is not a non-negative integer (naming
// it); opts is then unchanged.
Status AddSourceDateEpochArg(std::map<std::string, std::string>& opts);

// The export request with source-date-epoch defaulted from the frontend's
// result metadata: "source.date.epoch/<platform id>", else
// "source.date.epoch", for each of `platforms` (the export's). An explicit
// attr (even empty) wins. Errors: InvalidArgument for a frontend value that
// is not a number of seconds, or for platforms whose values differ (one
// request serves them all).
Result<solver::ExportRequest> WithFrontendEpoch(
    const solver::ExportRequest& request,
    const std::map<std::string, std::string>& metadata,
    const std::vector<llb::Platform>& platforms);

// The frontend's containerimage.base.config for `platform` (suffixed by its
// platform id, else unsuffixed); "" when absent.
std::string FrontendBaseConfig(
    const std::map<std::string, std::string>& metadata,
    const llb::Platform& platform);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_EPOCH_H_
