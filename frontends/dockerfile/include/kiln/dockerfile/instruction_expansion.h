// Which Dockerfile instructions the builder expands variables in, as
// BuildKit's instructions package does (the commands implementing
// SupportsSingleWordExpansion, plus FROM, which expands global ARGs).
//
// Thread safety: pure function.
#ifndef KILN_DOCKERFILE_INSTRUCTION_EXPANSION_H_
#define KILN_DOCKERFILE_INSTRUCTION_EXPANSION_H_

#include <string_view>

namespace kiln::dockerfile {

// True for ADD, ARG, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
// VOLUME and WORKDIR (any letter case). False for RUN, CMD, ENTRYPOINT,
// HEALTHCHECK, SHELL (the shell expands those at run time), ONBUILD (its
// trigger is expanded in the child build), MAINTAINER and unknown words.
// Flags are decided per flag by the converter: e.g. `RUN --mount` option
// values expand, `COPY --from` does not.
bool ExpandsVariables(std::string_view instruction);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_INSTRUCTION_EXPANSION_H_
