// Layer blobs of committed snapshots: a snapshot's own changes against its
// parent, as a (compressed) tar blob in the content store. Exporters make
// them on demand and remember them in a LayerCache so that a second export
// reuses the blob; image sources record the blobs their snapshots were
// unpacked from, so that an exported image shares its base image's layers.
#ifndef KILN_SOLVER_LAYER_H_
#define KILN_SOLVER_LAYER_H_

#include <optional>
#include <string>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/oci.h"

namespace kiln::solver {

struct LayerBlob {
  oci::Descriptor descriptor;  // the blob as stored (media type, digest, size)
  Digest diff_id;              // sha256 of the uncompressed tar
};

// Snapshot name → layer blob. Thread-safe implementations only.
class LayerCache {
 public:
  virtual ~LayerCache() = default;
  // nullopt when nothing is recorded for `snapshot` (or on a read error: a
  // miss only costs a recomputation).
  virtual std::optional<LayerBlob> GetLayer(const std::string& snapshot) = 0;
  // Records (replacing) the blob of `snapshot` for its content as committed.
  virtual Status PutLayer(const std::string& snapshot,
                          const LayerBlob& layer) = 0;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_LAYER_H_
