#include "image_archive_io.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "archive_error.h"
#include "fs_util.h"
#include "sha256_hasher.h"

namespace kiln::solver::internal {

// --- BlobReader
// ---------------------------------------------------------------

Result<std::unique_ptr<BlobReader>> BlobReader::Open(
    const std::string& path, oci::Compression compression) {
  if (compression == oci::Compression::kNone) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening", path, errno);
    return std::unique_ptr<BlobReader>(new BlobReader(path, fd, nullptr));
  }
  struct archive* a = archive_read_new();
  KILN_CHECK(a != nullptr, "archive_read_new failed");
  bool gzip = compression == oci::Compression::kGzip;
  int rc = gzip ? archive_read_support_filter_gzip(a)
                : archive_read_support_filter_zstd(a);
  if (rc != ARCHIVE_OK &&
      rc != ARCHIVE_WARN) {  // WARN: an external program decompresses
    Status s = InternalError("reading " + path + ": " + ArchiveErrorText(a));
    archive_read_free(a);
    return s;
  }
  archive_read_support_format_raw(a);
  auto reader = std::unique_ptr<BlobReader>(new BlobReader(path, -1, a));
  if (archive_read_open_filename(a, path.c_str(), kArchiveChunk) !=
      ARCHIVE_OK) {
    return InternalError("opening " + path + ": " + ArchiveErrorText(a));
  }
  struct archive_entry* entry = nullptr;
  rc = archive_read_next_header(a, &entry);
  if (rc == ARCHIVE_EOF) {
    reader->eof_ = true;
  } else if (rc < ARCHIVE_WARN) {
    return DataLossError("decompressing " + path + ": " + ArchiveErrorText(a));
  }
  int want = gzip ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_ZSTD;
  if (!reader->eof_ && archive_filter_code(a, 0) != want) {
    return DataLossError("decompressing " + path + ": not " +
                         (gzip ? "gzip" : "zstd") + " data");
  }
  return reader;
}

BlobReader::~BlobReader() {
  if (fd_ >= 0) close(fd_);
  if (archive_ != nullptr) archive_read_free(archive_);
}

Result<std::string_view> BlobReader::Read() {
  if (eof_) return std::string_view();
  if (fd_ >= 0) {
    for (;;) {
      ssize_t n = read(fd_, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("reading", path_, errno);
      if (n == 0) eof_ = true;
      return std::string_view(buffer_.data(), static_cast<size_t>(n));
    }
  }
  la_ssize_t n = archive_read_data(archive_, buffer_.data(), buffer_.size());
  if (n < 0)
    return DataLossError("decompressing " + path_ + ": " +
                         ArchiveErrorText(archive_));
  if (n == 0) eof_ = true;
  return std::string_view(buffer_.data(), static_cast<size_t>(n));
}

Result<BlobSum> SumBlob(const std::string& path, oci::Compression compression) {
  KILN_ASSIGN_OR_RETURN(auto reader, BlobReader::Open(path, compression));
  Sha256Hasher hasher;
  BlobSum sum;
  for (;;) {
    KILN_ASSIGN_OR_RETURN(std::string_view chunk, reader->Read());
    if (chunk.empty()) break;
    hasher.Update(chunk);
    sum.size += static_cast<int64_t>(chunk.size());
  }
  sum.digest = hasher.Finish();
  return sum;
}

// --- ArchiveOutput
// ------------------------------------------------------------

Result<std::unique_ptr<ArchiveOutput>> ArchiveOutput::Create(
    const std::string& path) {
  if (path == "-")
    return std::unique_ptr<ArchiveOutput>(new ArchiveOutput(path, "", 1));
  if (path.empty() || path.back() == '/') {
    return InvalidArgumentError("archive path \"" + path +
                                "\" is not a file name");
  }
  size_t slash = path.rfind('/');
  std::string dir = ParentDir(path);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("creating a temporary file in", dir, errno);
  if (fchmod(fd, 0644) != 0) {
    int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return ErrnoError("setting the mode of", tmp, err);
  }
  return std::unique_ptr<ArchiveOutput>(new ArchiveOutput(path, tmp, fd));
}

ArchiveOutput::~ArchiveOutput() {
  if (tmp_.empty() || committed_) return;
  close(fd_);
  unlink(tmp_.c_str());
}

Status ArchiveOutput::Commit() {
  if (tmp_.empty()) return Status::Ok();  // stdout: nothing to publish
  if (fsync(fd_) != 0) return ErrnoError("syncing", tmp_, errno);
  if (close(fd_) != 0) {
    int err = errno;
    unlink(tmp_.c_str());
    committed_ = true;  // the descriptor is gone either way
    return ErrnoError("closing", tmp_, err);
  }
  committed_ = true;
  if (rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    unlink(tmp_.c_str());
    return ErrnoError("renaming " + tmp_ + " to", path_, err);
  }
  return FsyncDir(ParentDir(path_));
}

}  // namespace kiln::solver::internal
