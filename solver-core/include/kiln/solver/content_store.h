// The content store: immutable blobs named by their sha256 digest, under one
// directory (`$KILN_ROOT/content`):
//
//   blobs/sha256/<hex>    committed blobs (the layout of an OCI image layout,
//                         so `$KILN_ROOT/images/blobs` can link here)
//   ingest/<hex>.<nonce>  blobs being written, locked (flock) by their writer
//
// A blob only ever appears under its digest after its bytes were verified
// against that digest, fsynced, and renamed into place (then the directory is
// fsynced): a crash leaves at most an unlocked ingest file, which the next
// Open() removes. Writers of the same digest (threads or processes) each use
// their own ingest file; the first rename wins and later ones find the blob
// present and drop their copy.
//
// Thread safety: a ContentStore may be used from many threads; a
// ContentWriter belongs to one thread at a time.
#ifndef KILN_SOLVER_CONTENT_STORE_H_
#define KILN_SOLVER_CONTENT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"

namespace kiln::solver {

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
};

// Test hook: called with the number of bytes written so far after each
// Write() of every writer; returning false makes that Write() fail as if the
// process died there (the ingest file is left behind, unlocked only when the
// writer is destroyed). Used to test crash consistency.
using WriteFaultHook =
    std::function<bool(const Digest& expected, int64_t written)>;

// Writes one blob. Created by ContentStore::Writer(); owns its ingest file.
// Destroying a writer without Commit() removes the ingest file.
class ContentWriter {
 public:
  virtual ~ContentWriter() = default;
  // Appends bytes. Errors: I/O failures (Internal), more bytes than the
  // expected size (DataLoss).
  virtual Status Write(std::string_view data) = 0;
  virtual int64_t written() const = 0;
  // Verifies size and digest, fsyncs and renames the blob into place.
  // DataLoss when the bytes do not match the expected digest or size (the
  // ingest file is removed, nothing is stored). Committing a blob that is
  // already present succeeds and keeps the existing file.
  virtual Status Commit() = 0;
};

class ContentStore {
 public:
  // Opens the store at `dir`, creating it if needed, and removes ingest files
  // no live writer holds. Errors: the directory cannot be created or used.
  static Result<std::unique_ptr<ContentStore>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }

  bool Has(const Digest& digest) const;
  // NotFound when absent.
  Result<BlobInfo> Info(const Digest& digest) const;
  // Path of a committed blob, for reading (mmap, libarchive, sendfile). The
  // file must not be modified. The path is returned even when absent.
  std::string BlobPath(const Digest& digest) const;
  // Reads a whole blob, re-verifying nothing (it was verified on write).
  // NotFound when absent; FailedPrecondition when larger than `max_size`.
  Result<std::string> ReadAll(const Digest& digest,
                              int64_t max_size = 64 << 20) const;

  // Stores `data`; returns its digest. With `expected` set, DataLoss when
  // the data has another digest.
  Result<Digest> Put(std::string_view data, const Digest* expected = nullptr);
  // Streams a blob of known digest (and size, when >= 0) into the store.
  Result<std::unique_ptr<ContentWriter>> Writer(const Digest& expected,
                                                int64_t expected_size = -1);
  // Streams a blob whose digest is learned at the end (e.g. a layer being
  // compressed); Commit() stores it under the digest of what was written,
  // available from CommittedDigest() afterwards.
  Result<std::unique_ptr<ContentWriter>> WriterForUnknown();
  static Digest CommittedDigest(const ContentWriter& writer);

  // Removes a blob. NotFound when absent.
  Status Delete(const Digest& digest);
  // Every committed blob, in digest order.
  Result<std::vector<BlobInfo>> List() const;

  void set_write_fault_hook(WriteFaultHook hook) {
    fault_hook_ = std::move(hook);
  }

 private:
  explicit ContentStore(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  WriteFaultHook fault_hook_;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_CONTENT_STORE_H_
