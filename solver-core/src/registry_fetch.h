// Reading from a registry: manifests (resolve by HEAD, fetch by GET with
// digest verification) and blobs streamed into the content store. Each tries
// the pull endpoints in order (mirrors, then the origin).
#ifndef KILN_SOLVER_SRC_REGISTRY_FETCH_H_
#define KILN_SOLVER_SRC_REGISTRY_FETCH_H_

#include <functional>
#include <string>

#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"
#include "registry_transport.h"

namespace kiln::solver::internal {

struct FetchedManifest {
  oci::Descriptor descriptor;  // media type, verified digest, size
  std::string bytes;
};

// The tag or digest a reference asks for ("latest" when it has neither).
std::string ManifestReference(const llb::ImageReference& ref);

// The media type of manifest bytes whose Content-Type said nothing useful.
std::string SniffManifestMediaType(const std::string& bytes);

// HEAD (then GET when HEAD is not conclusive) of ref's manifest.
Result<oci::Descriptor> ResolveManifest(RegistryTransport& transport,
                                        const llb::ImageReference& ref);

// GETs the manifest `reference` (tag or digest) of ref's repository. The
// bytes must hash to `expected` when it is valid (else DataLoss), and to the
// registry's Docker-Content-Digest when it sends one. With `expected_size`
// >= 0 (a descriptor's size), exactly that many bytes are accepted
// (DataLoss otherwise); with -1 (by tag, or by digest alone) at most 4 MiB
// (ResourceExhausted). Sizes over 4 MiB are refused before any request.
Result<FetchedManifest> FetchManifest(RegistryTransport& transport,
                                      const llb::ImageReference& ref,
                                      const std::string& reference,
                                      const Digest& expected,
                                      int64_t expected_size);

// Streams blob `desc` of ref's repository into `store`, which verifies size
// (exact: a descriptor of size 0 is an empty blob) and digest, refusing a
// byte past desc.size as it arrives (DataLoss, nothing stored).
// `progress` gets the bytes received so far of the current attempt.
Status FetchBlob(RegistryTransport& transport, const llb::ImageReference& ref,
                 const oci::Descriptor& desc, ContentStore* store,
                 const std::function<void(int64_t done)>& progress);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_REGISTRY_FETCH_H_
