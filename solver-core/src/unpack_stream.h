// Reading a layer blob as a tar stream while hashing its uncompressed bytes.
//
// Two libarchive readers are chained: an outer "raw" reader with only the
// declared decompression filter yields the uncompressed stream, which feeds
// (through a callback that hashes every byte) an inner tar reader with no
// filters. The diff_id is thus computed in the same pass as the unpack, over
// exactly the bytes the tar parser saw plus whatever follows the end-of-
// archive marker. Private to solver-core.
//
// Thread safety: one LayerStream per thread.
#ifndef KILN_SOLVER_SRC_UNPACK_STREAM_H_
#define KILN_SOLVER_SRC_UNPACK_STREAM_H_

#include <archive.h>
#include <archive_entry.h>

#include <string>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/oci.h"
#include "sha256_hasher.h"

namespace kiln::solver::internal {

class LayerStream {
 public:
  LayerStream() = default;
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // Opens the blob. NotFound when missing; DataLoss when it does not start
  // as `compression` says.
  Status Open(const std::string& blob_path, oci::Compression compression);

  // The next tar entry (owned by the stream, valid until the next call), or
  // nullptr at the end of the archive. DataLoss for corrupt input.
  Result<archive_entry*> Next();

  // Reads the current entry's data: calls `sink(offset, data, size)` per
  // block (sparse files have gaps between blocks). DataLoss when corrupt.
  template <typename Sink>
  Status ReadData(Sink&& sink);

  // Hashes the rest of the uncompressed stream and returns its digest. Call
  // once, after Next() returned nullptr.
  Result<Digest> Finish();

  struct archive* tar() {
    return tar_;
  }

 private:
  static la_ssize_t ReadCallback(struct archive*, void* self,
                                 const void** buffer);
  Status TarError(const char* what) const;

  std::string path_;
  struct archive* raw_ = nullptr;
  struct archive* tar_ = nullptr;
  Sha256Hasher hasher_;
  Status raw_error_;  // set by ReadCallback when the raw reader failed
  char buffer_[64 * 1024];
};

template <typename Sink>
Status LayerStream::ReadData(Sink&& sink) {
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(tar_, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r < ARCHIVE_WARN) return TarError("reading entry data");
    KILN_RETURN_IF_ERROR(sink(static_cast<int64_t>(offset),
                              static_cast<const char*>(block), size));
  }
}

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_UNPACK_STREAM_H_
