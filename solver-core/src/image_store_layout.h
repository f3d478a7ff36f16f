// The OCI image layout files under an ImageStore's directory: oci-layout,
// index.json (read whole, replaced atomically), the index.lock that
// serializes writers across processes, and the blobs link to the content
// store. Private to solver-core.
//
// Thread safety: free functions; callers that read-modify-write index.json
// hold an IndexLock for the whole sequence.
#ifndef KILN_SOLVER_SRC_IMAGE_STORE_LAYOUT_H_
#define KILN_SOLVER_SRC_IMAGE_STORE_LAYOUT_H_

#include <string>

#include "fs_util.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {

// An exclusive flock on <dir>/index.lock for its lifetime (blocking until
// other holders, in any process, release theirs).
class IndexLock {
 public:
  static Result<IndexLock> Acquire(const std::string& dir);

 private:
  explicit IndexLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the flock
};

// <dir>/gc.lock, which BlobLease holders lock shared and the blob sweep of
// ImageStore::Remove locks exclusively. With `exclusive`, does not wait:
// returns an invalid UniqueFd when a lease is held. Shared waits for a sweep
// in progress to end.
Result<UniqueFd> LockGc(const std::string& dir, bool exclusive);

// Makes `dir` an OCI image layout over `content`: creates it, writes
// oci-layout and an empty index.json unless present, and links dir/blobs to
// the content store's blobs (relatively, so both can move together). Takes
// the index lock. FailedPrecondition when dir/blobs exists but is not a link.
Status InitLayout(const std::string& dir, const ContentStore& content);

// <dir>/index.json; an empty index when the file does not exist.
Result<oci::Index> ReadIndex(const std::string& dir);
// Replaces <dir>/index.json atomically. The caller holds the IndexLock.
Status WriteIndex(const std::string& dir, const oci::Index& index);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_IMAGE_STORE_LAYOUT_H_
