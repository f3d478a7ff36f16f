// Shared pieces of the subrequest results (subrequests.cc, outline.cc).
#ifndef KILN_DOCKERFILE_SRC_SUBREQUESTS_INTERNAL_H_
#define KILN_DOCKERFILE_SRC_SUBREQUESTS_INTERNAL_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::dockerfile::internal {

// Go's encoding/json for []byte: standard base64 with padding.
std::string Base64(std::string_view data);

// A pb.Location of source 0 holding `r` (zero characters omitted, as Go's
// omitempty).
nlohmann::ordered_json LocationJson(const SourceRange& r);

// Go's tabwriter (minwidth 0, tabwidth 0, padding `padding`, ' '): every cell
// but a row's last is padded to its column's width plus `padding`.
std::string Tabulate(const std::vector<std::vector<std::string>>& rows,
                     size_t padding);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_SUBREQUESTS_INTERNAL_H_
