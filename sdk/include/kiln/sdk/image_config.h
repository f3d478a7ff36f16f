// OCI image configs as frontends handle them: the config of a new image and
// a base image's config applied to the LLB state built on it, as BuildKit's
// Go frontends do (dockerfile2llb's emptyImage and its FROM handling).
//
// Configs are JSON text (the image config document: architecture, os,
// config{Env, WorkingDir, User, …}, rootfs, history) so that this header
// carries no JSON library type; frontends parse them with their own.
//
// Thread safety: pure functions.
#ifndef KILN_SDK_IMAGE_CONFIG_H_
#define KILN_SDK_IMAGE_CONFIG_H_

#include <string>
#include <string_view>

#include "kiln/llb/platform.h"
#include "kiln/llb/state.h"
#include "kiln/llb/status.h"

namespace kiln::sdk {

// The config of an image built FROM scratch for `platform`: architecture,
// os, variant, the default PATH and WorkingDir "/".
std::string EmptyImageConfig(const llb::Platform& platform);

// A base image's config made usable as the start of a new image: it must be
// a JSON object (InvalidArgument "invalid base image config json"
// otherwise); a missing or non-object "config" becomes {}; a missing
// architecture / os is taken from `platform`.
Result<std::string> BaseImageConfig(std::string_view config_json,
                                    const llb::Platform& platform);

// `state` with the config's Env (in order; an entry without '=' sets an
// empty value), non-empty WorkingDir and non-empty User applied, as a FROM
// does. InvalidArgument when `config_json` is not a JSON object.
Result<llb::State> ApplyImageConfig(llb::State state,
                                    std::string_view config_json);

}  // namespace kiln::sdk

#endif  // KILN_SDK_IMAGE_CONFIG_H_
