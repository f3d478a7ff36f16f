#include "image_document.h"

namespace kiln::solver::internal {

Result<ImageDocument> ReadImageDocument(const ContentStore& content,
                                        const oci::Descriptor& d) {
  ImageDocument doc;
  KILN_ASSIGN_OR_RETURN(doc.bytes, content.ReadAll(d.digest));
  doc.media_type = d.media_type;
  if (doc.media_type.empty()) {
    KILN_ASSIGN_OR_RETURN(doc.media_type, oci::SniffMediaType(doc.bytes));
  }
  return doc;
}

bool MayBeImageDocument(std::string_view media_type) {
  return media_type.empty() || oci::IsManifestMediaType(media_type) ||
         oci::IsIndexMediaType(media_type);
}

Status NotAnImageError(const Digest& digest, std::string_view media_type) {
  return InvalidArgumentError("blob " + digest.str() + " has media type \"" +
                              std::string(media_type) +
                              "\", not an image manifest or index");
}

}  // namespace kiln::solver::internal
