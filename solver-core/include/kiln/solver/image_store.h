// The embedded image store: named images kept as an OCI image layout at
// `$KILN_ROOT/images`, so skopeo, umoci and podman can read it directly:
//
//   images/oci-layout      {"imageLayoutVersion":"1.0.0"}
//   images/index.json      one descriptor per name, annotated with
//                          org.opencontainers.image.ref.name = the full
//                          normalized name ("docker.io/library/busybox:latest")
//                          and io.containerd.image.name = the same
//   images/blobs -> ../content/blobs   (the content store's blobs)
//
// A name is any image reference; it is normalized (llb::ParseImageReference +
// TagNameOnly) before use, so "busybox" and "docker.io/library/busybox:latest"
// are the same entry. A name maps to one descriptor: an image manifest or an
// index (multi-platform image).
//
// index.json is replaced atomically (write to a temp file, fsync, rename)
// under an exclusive flock of images/index.lock, so concurrent processes never
// lose each other's updates and readers never see a partial file.
//
// Thread safety: all methods may be called from many threads and processes.
#ifndef KILN_SOLVER_IMAGE_STORE_H_
#define KILN_SOLVER_IMAGE_STORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"

namespace kiln::solver {

struct ImageRecord {
  std::string name;        // full normalized reference
  oci::Descriptor target;  // manifest or index; annotations as in index.json
};

// One platform's image, read from the content store.
struct ResolvedImage {
  oci::Descriptor manifest_descriptor;
  oci::Manifest manifest;
  std::string config_bytes;  // exactly as stored (its digest = manifest.config)
  oci::ImageConfig config;
};

// Holds off the blob sweep of ImageStore::Remove while alive (a shared flock
// on images/gc.lock; any number of holders in any process). Take one before
// writing or relying on blobs that no name protects yet — pulling, importing,
// loading, unpacking — and keep it until the image is named or the work is
// done. Move-only; destroying it releases it.
class BlobLease {
 public:
  BlobLease(BlobLease&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  BlobLease& operator=(BlobLease&& other) noexcept;
  BlobLease(const BlobLease&) = delete;
  BlobLease& operator=(const BlobLease&) = delete;
  ~BlobLease();

 private:
  friend class ImageStore;
  explicit BlobLease(int fd) : fd_(fd) {}
  int fd_;
};

class ImageStore {
 public:
  // Opens the layout at `dir` (created if needed, with blobs linked to
  // `content`'s blobs directory). `content` must outlive the store.
  static Result<std::unique_ptr<ImageStore>> Open(const std::string& dir,
                                                  ContentStore* content);

  const std::string& dir() const { return dir_; }
  ContentStore& content() const { return *content_; }

  // Every named image, sorted by name.
  Result<std::vector<ImageRecord>> List() const;
  // NotFound naming the image when absent; InvalidArgument for a bad name.
  Result<ImageRecord> Get(std::string_view name) const;
  // Creates or replaces `name`. FailedPrecondition when the target is not
  // usable from the content store: the target blob, and for a manifest its
  // config and layers, must be present; for an index, each child manifest
  // that is present must be complete and at least one must be (a pull of one
  // platform of a multi-platform image keeps the index but not the other
  // platforms, as containerd does). The store never names a broken image.
  Status Put(std::string_view name, const oci::Descriptor& target);
  // Removes `name`, then deletes the blobs of that image no remaining image
  // references — unless a BlobLease is held anywhere, in which case the
  // blobs are left for a later sweep (a pull or build may be about to use
  // them). NotFound when absent.
  Status Remove(std::string_view name);

  // A lease keeping Remove() from deleting blobs; see BlobLease.
  Result<BlobLease> HoldBlobs() const;

  // The manifest, config and layers of `target` for `platform`: an index is
  // resolved with oci::SelectManifest. NotFound for a missing blob or
  // platform; InvalidArgument for an unparsable document.
  Result<ResolvedImage> Resolve(const oci::Descriptor& target,
                                const llb::Platform& platform) const;

  // Every blob digest `target` references, itself included (index →
  // manifests → configs and layers), for garbage collection and copying.
  // Blobs that are absent are listed too; `missing` (if not null) gets them.
  Result<std::vector<Digest>> Closure(
      const oci::Descriptor& target,
      std::vector<Digest>* missing = nullptr) const;

 private:
  ImageStore(std::string dir, ContentStore* content)
      : dir_(std::move(dir)), content_(content) {}

  std::string dir_;
  ContentStore* content_;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_IMAGE_STORE_H_
