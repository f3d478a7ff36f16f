// The attestation flags of `kiln build`, in buildx's spelling, turned into
// the frontend opts BuildKit reads (attest:<type>):
//
//   --attest type=provenance[,mode=min|max][,builder-id=…]
//            [,reproducible=true|false][,version=v0.2][,disabled=true]
//                          opt attest:provenance=<the other fields>
//                          (mode=min when none); the engine checks the
//                          fields (ParseProvenanceOpt in provenance.h)
//   --provenance true|false|mode=max|…
//                          true = mode=min, false = none, else the fields
//   --sbom … / --attest type=sbom
//                          refused (exit code 1): BuildKit makes SBOMs by
//                          running its scanner image
//                          docker/buildkit-syft-scanner, which kiln has no
//                          equivalent of; --sbom false is accepted
//
// Provenance is off unless asked for (buildx turns it on by default with
// the docker-container driver; kiln keeps single-manifest outputs as they
// are). The engine makes the predicate (provenance.h).
#ifndef KILN_CMD_KILN_BUILD_ATTEST_H_
#define KILN_CMD_KILN_BUILD_ATTEST_H_

#include "build_flags.h"
#include "build_shortcuts.h"
#include "flags.h"

namespace kiln::cli::internal {

// Declares --attest, --provenance and --sbom on `parser`.
void DeclareAttestFlags(Flags& parser);

// Sets f.opts from the flags (needs f.frontend: a usage error without one).
FlagError ApplyAttestFlags(const Flags& parser, BuildFlags& f);

}  // namespace kiln::cli::internal

#endif  // KILN_CMD_KILN_BUILD_ATTEST_H_
