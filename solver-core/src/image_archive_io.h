// Byte streams under the image archives (private to solver-core): reading
// committed blobs (decompressing gzip and zstd layers), writing an archive
// file atomically, and tar entries in and out through libarchive.
//
// Thread safety: each object belongs to one thread at a time.
#ifndef KILN_SOLVER_SRC_IMAGE_ARCHIVE_IO_H_
#define KILN_SOLVER_SRC_IMAGE_ARCHIVE_IO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/oci.h"

struct archive;

namespace kiln::solver::internal {

inline constexpr size_t kArchiveChunk = 1 << 20;

// Reads a file from start to end, decompressing it when `compression` says
// so (DataLoss when the file is not in that format).
class BlobReader {
 public:
  static Result<std::unique_ptr<BlobReader>> Open(const std::string& path,
                                                  oci::Compression compression);
  ~BlobReader();
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  // The next chunk, valid until the next call; empty at the end.
  Result<std::string_view> Read();

 private:
  BlobReader(std::string path, int fd, struct archive* a)
      : path_(std::move(path)), fd_(fd), archive_(a), buffer_(kArchiveChunk) {}

  std::string path_;
  int fd_;                   // plain reads when >= 0
  struct archive* archive_;  // decompression otherwise
  std::vector<char> buffer_;
  bool eof_ = false;
};

inline oci::Descriptor MakeDescriptor(std::string_view media_type,
                                      const Digest& digest, int64_t size) {
  oci::Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = digest;
  d.size = size;
  return d;
}

// The size and sha256 of what `path` reads as (decompressed when
// `compression` says so).
struct BlobSum {
  int64_t size = 0;
  Digest digest;
};
Result<BlobSum> SumBlob(const std::string& path, oci::Compression compression);

// The destination of a save: a temporary file next to `path` that Commit()
// fsyncs and renames over `path`, removed on destruction if not committed;
// or standard output when `path` is "-".
class ArchiveOutput {
 public:
  static Result<std::unique_ptr<ArchiveOutput>> Create(const std::string& path);
  ~ArchiveOutput();
  ArchiveOutput(const ArchiveOutput&) = delete;
  ArchiveOutput& operator=(const ArchiveOutput&) = delete;

  int fd() const { return fd_; }
  Status Commit();

 private:
  ArchiveOutput(std::string path, std::string tmp, int fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}

  std::string path_;
  std::string tmp_;  // empty for stdout
  int fd_;
  bool committed_ = false;
};

// Writes a deterministic tar (pax restricted: plain ustar headers unless a
// field needs more) to a file descriptor it does not own: mtime 0, uid/gid 0,
// no user or group names, mode 0755 for directories and 0644 for files.
class TarWriter {
 public:
  static Result<std::unique_ptr<TarWriter>> Open(int fd, std::string label);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  Status AddDirectory(const std::string& name);
  // A file of exactly `size` bytes, given through Write() calls and ended by
  // FinishFile() (DataLoss when the count differs).
  Status BeginFile(const std::string& name, int64_t size);
  Status Write(std::string_view data);
  Status FinishFile();
  Status AddFile(const std::string& name, std::string_view data);
  // Writes the end-of-archive blocks.
  Status Close();

 private:
  TarWriter(struct archive* a, std::string label)
      : archive_(a), label_(std::move(label)) {}
  Status Header(const std::string& name, bool directory, int64_t size);
  Status Error(std::string_view what) const;

  struct archive* archive_;
  std::string label_;
  std::string current_;
  int64_t remaining_ = 0;
  bool closed_ = false;
};

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink, kOther };
  std::string path;  // cleaned, relative to the archive root; "" for the root
  Type type = Type::kOther;
  int64_t size = 0;
  std::string link;  // links: the target, cleaned and relative to the root
};

// "a/./b//c" → "a/b/c"; InvalidArgument for absolute paths and ".." parts.
Result<std::string> CleanArchivePath(std::string_view raw);

// Reads a tar archive (optionally compressed: gzip, zstd, xz, bzip2) from a
// file or standard input ("-").
class TarReader {
 public:
  static Result<std::unique_ptr<TarReader>> Open(const std::string& path);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // Moves to the next entry; false at the end. InvalidArgument for an entry
  // whose path or link target escapes the archive; DataLoss for a damaged
  // archive.
  Result<bool> Next(TarEntry* entry);
  // The next chunk of the current entry's data; empty at its end.
  Result<std::string_view> Read();

 private:
  TarReader(struct archive* a, std::string label)
      : archive_(a), label_(std::move(label)), buffer_(kArchiveChunk) {}

  struct archive* archive_;
  std::string label_;
  std::string current_;
  std::vector<char> buffer_;
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_IMAGE_ARCHIVE_IO_H_
