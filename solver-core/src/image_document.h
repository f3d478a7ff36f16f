// Manifests and indexes read back from the content store, for the walks over
// an image's blobs (image store checks and closures, image archives).
// Private to solver-core.
//
// Thread safety: free functions over a ContentStore (itself thread-safe).
#ifndef KILN_SOLVER_SRC_IMAGE_DOCUMENT_H_
#define KILN_SOLVER_SRC_IMAGE_DOCUMENT_H_

#include <string>
#include <string_view>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {

struct ImageDocument {
  std::string media_type;  // the descriptor's, else its "mediaType" field
  std::string bytes;
};

// Reads the blob `d` names, and its media type: `d.media_type`, or when that
// is empty the document's own "mediaType" (possibly empty too). Errors: the
// content store's (NotFound for a missing blob) and SniffMediaType's.
Result<ImageDocument> ReadImageDocument(const ContentStore& content,
                                        const oci::Descriptor& d);

// Whether a descriptor of `media_type` may name a manifest or an index:
// one of their media types, or none given (known only once read).
bool MayBeImageDocument(std::string_view media_type);

// InvalidArgument: blob <digest> has media type "<media_type>", not an image
// manifest or index.
Status NotAnImageError(const Digest& digest, std::string_view media_type);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_IMAGE_DOCUMENT_H_
