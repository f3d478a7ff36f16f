// SLSA provenance v0.2 for a build, as BuildKit's engine makes it for
// `--attest type=provenance` (frontend opt attest:provenance): the
// predicate of an in-toto Statement whose subject is the exported image.
//
//   buildType   https://mobyproject.org/buildkit@v1
//   builder.id  opt attest:provenance's builder-id= (else "")
//   invocation  configSource.entryPoint (opt filename, default Dockerfile
//               for the Dockerfile frontend), parameters.frontend,
//               parameters.args (the frontend opts without host-specific
//               ones and attest:*; mode=min also without build-arg:* and
//               label:*, whose values may be private), parameters.locals
//               ({"name"} per local read, sorted),
//               environment.platform (the platform of the machine that ran
//               the build, not the target's)
//   materials   each resolved image (pkg:docker/NAME@TAG?digest=…&
//               platform=…, or pkg:oci/… for an OCI layout), git (https URL
//               with its #ref, digest sha1 = the commit) and http source,
//               with its digest; locals are not materials
//   metadata    buildInvocationID, buildStartedOn, buildFinishedOn,
//               completeness {parameters: false when mode=min dropped a
//               build-arg or label, else true; environment: true;
//               materials: false}, reproducible (opt reproducible=true|
//               false, default false), and
//               https://mobyproject.org/buildkit@v1#metadata with vcs
//               (opts vcs:source / vcs:revision) when given
//
// mode=max adds buildConfig: llbDefinition, the steps of the result's
// Definition depth first from the result (id "stepN", the op in protobuf's
// JSON mapping with its inputs taken out, inputs as "stepN:OUTPUT",
// local.session/local.unique attrs dropped) and digestMapping (op digest ->
// step id), as BuildKit's toBuildSteps; BuildKit's source maps and layer
// lists of mode=max are not included. Secrets and SSH ids, which BuildKit
// lists in parameters with mode=max only, are not recorded by kiln.
//
// Thread safety: pure functions.
#ifndef KILN_CMD_KILN_PROVENANCE_H_
#define KILN_CMD_KILN_PROVENANCE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kiln/gateway/bridge_server.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/solver.h"
#include "solver/pb/ops.pb.h"

namespace kiln::cli {

inline constexpr char kSlsaProvenanceV02[] = "https://slsa.dev/provenance/v0.2";

// What opt attest:provenance asked for.
struct ProvenanceRequest {
  std::string mode = "min";
  std::string builder_id;
  bool reproducible = false;  // metadata.reproducible
};

// The provenance request of frontend opts: nullopt when attest:provenance
// is absent or says disabled=true. The value is CSV key=value fields (mode=
// min|max, builder-id=…, reproducible=true|false, version=v0.2,
// inline-only=…, disabled=…); InvalidArgument for another mode, a
// reproducible value other than true/false, a version other than v0.2 (kiln
// makes v0.2 only; BuildKit also has v1) or an unknown key.
Result<std::optional<ProvenanceRequest>> ParseProvenanceOpt(
    const std::map<std::string, std::string>& opts);

struct ProvenanceBuild {
  std::string frontend;
  std::map<std::string, std::string> opts;
  // Local names besides the local:// sources recorded.
  std::vector<std::string> locals;
  // The platform of the machine running the build (llb::HostPlatform() for
  // kiln's own worker), as BuildKit's platforms.DefaultSpec of the worker.
  llb::Platform build_platform;
  // The sources of this result (SourcesForPlatform for one platform of a
  // multi-platform build).
  std::vector<solver::ResolvedSource> sources;
  std::string invocation_id;
  int64_t started_ns = 0;  // since the epoch
  int64_t finished_ns = 0;
  // mode=max: BuildConfigJson of the result's Definition ("" = none).
  std::string build_config_json;
};

// The buildConfig object (JSON) of `definition`; "" for an empty one.
// Errors: InvalidArgument for an op that does not parse or a last op
// without an input, Internal when an op cannot be written as JSON.
Result<std::string> BuildConfigJson(const pb::Definition& definition);

// mode=max: sets build->build_config_json from the Definition of `out`'s
// result ref for `platform` (the single ref, or the RefMap entry keyed by
// the platform's id); left "" when there is none or the mode is min.
// Errors: BuildConfigJson's.
Status AddBuildConfig(const ProvenanceRequest& request,
                      const gateway::FrontendOutput& out,
                      const llb::Platform& platform, ProvenanceBuild* build);

// Nanoseconds since the epoch of `t`, for ProvenanceBuild's times.
int64_t UnixNanos(std::chrono::system_clock::time_point t);

// The sources of `sources` that belong to the result for `platform` of a
// build whose results are for `targets`: everything except sources resolved
// for another platform of `targets` (compared normalized). Sources without a
// platform (git, http, local) and images resolved for a platform no target
// has (e.g. a builder stage on the build platform, the frontend image) are
// kept for every platform. Order is kept.
std::vector<solver::ResolvedSource> SourcesForPlatform(
    const std::vector<solver::ResolvedSource>& sources,
    const llb::Platform& platform, const std::vector<llb::Platform>& targets);

// The predicate JSON (keys sorted, compact).
std::string ProvenancePredicate(const ProvenanceRequest& request,
                                const ProvenanceBuild& build);

// The attestation for BuildOutput::attestations.
solver::Attestation ProvenanceAttestation(const ProvenanceRequest& request,
                                          const ProvenanceBuild& build);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_PROVENANCE_H_
