// Image references ("alpine", "127.0.0.1:5000/app:1.0", "x@sha256:…") with
// the normalization rules of Docker's distribution/reference package, so kiln
// names images exactly as BuildKit and docker do: "alpine" is
// "docker.io/library/alpine:latest".
#ifndef KILN_LLB_REFERENCE_H_
#define KILN_LLB_REFERENCE_H_

#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::llb {

struct ImageReference {
  std::string domain;  // "docker.io", "127.0.0.1:5000"
  std::string path;    // "library/alpine"
  std::string tag;     // may be empty
  std::string digest;  // "sha256:…", may be empty

  // domain/path
  std::string Name() const;
  // domain/path[:tag][@digest]
  std::string String() const;
  // Short form as docker prints it: "alpine:3.20", "127.0.0.1:5000/app".
  std::string FamiliarString() const;

  friend bool operator==(const ImageReference&, const ImageReference&) = default;
};

// Parses and normalizes a reference (distribution's ParseNormalizedNamed).
// InvalidArgument, quoting the input and saying what is wrong (uppercase
// repository, bad tag, bad digest, 64-hex id, …).
Result<ImageReference> ParseImageReference(std::string_view ref);

// Adds the "latest" tag when the reference has neither tag nor digest
// (distribution's TagNameOnly).
ImageReference TagNameOnly(ImageReference ref);

}  // namespace kiln::llb

#endif  // KILN_LLB_REFERENCE_H_
