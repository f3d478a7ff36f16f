#include "unpack_stream.h"

#include <sys/stat.h>

#include <cerrno>

#include "archive_error.h"
#include "fs_util.h"

namespace kiln::solver::internal {
namespace {

std::string_view CompressionName(oci::Compression c) {
  switch (c) {
    case oci::Compression::kGzip:
      return "gzip";
    case oci::Compression::kZstd:
      return "zstd";
    case oci::Compression::kNone:
      break;
  }
  return "uncompressed";
}

}  // namespace

LayerStream::~LayerStream() {
  if (tar_ != nullptr) archive_read_free(tar_);
  if (raw_ != nullptr) archive_read_free(raw_);
}

Status LayerStream::TarError(const char* what) const {
  if (!raw_error_.ok()) return raw_error_;
  return DataLossError(std::string("layer ") + path_ + ": " + what + ": " +
                       ArchiveErrorText(tar_));
}

Status LayerStream::Open(const std::string& blob_path,
                         oci::Compression compression) {
  path_ = blob_path;
  struct stat st {};
  if (stat(blob_path.c_str(), &st) != 0)
    return ErrnoStatus("layer blob " + blob_path, errno);

  raw_ = archive_read_new();
  tar_ = archive_read_new();
  if (raw_ == nullptr || tar_ == nullptr)
    return InternalError("libarchive: out of memory");
  // Only the declared filter: a mislabelled blob must not be guessed at.
  int r = ARCHIVE_OK;
  if (compression == oci::Compression::kGzip)
    r = archive_read_support_filter_gzip(raw_);
  if (compression == oci::Compression::kZstd)
    r = archive_read_support_filter_zstd(raw_);
  if (r != ARCHIVE_OK) {
    return UnimplementedError("libarchive cannot read " +
                              std::string(CompressionName(compression)) +
                              " streams");
  }
  archive_read_support_format_raw(raw_);
  if (archive_read_open_filename(raw_, blob_path.c_str(), sizeof(buffer_)) !=
      ARCHIVE_OK) {
    return DataLossError("layer " + blob_path + ": " + ArchiveErrorText(raw_));
  }
  archive_entry* raw_entry = nullptr;
  r = archive_read_next_header(raw_, &raw_entry);
  if (r == ARCHIVE_EOF)
    return DataLossError("layer " + blob_path + ": empty stream");
  if (r < ARCHIVE_WARN) {
    return DataLossError("layer " + blob_path + ": " + ArchiveErrorText(raw_));
  }
  bool filtered = archive_filter_count(raw_) > 1;
  if (compression != oci::Compression::kNone && !filtered) {
    return DataLossError("layer " + blob_path + ": not a " +
                         std::string(CompressionName(compression)) + " stream");
  }

  archive_read_support_format_tar(tar_);
  if (archive_read_open(tar_, this, nullptr, &LayerStream::ReadCallback,
                        nullptr) != ARCHIVE_OK) {
    return TarError("opening tar stream");
  }
  return Status::Ok();
}

la_ssize_t LayerStream::ReadCallback(struct archive* /*tar*/, void* self,
                                     const void** buffer) {
  auto* s = static_cast<LayerStream*>(self);
  la_ssize_t n = archive_read_data(s->raw_, s->buffer_, sizeof(s->buffer_));
  if (n < 0) {
    s->raw_error_ = DataLossError(
        "layer " + s->path_ + ": decompressing: " + ArchiveErrorText(s->raw_));
    return ARCHIVE_FATAL;
  }
  s->hasher_.Update(std::string_view(s->buffer_, static_cast<size_t>(n)));
  *buffer = s->buffer_;
  return n;
}

Result<archive_entry*> LayerStream::Next() {
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(tar_, &entry);
  if (r == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  if (r == ARCHIVE_RETRY) return TarError("reading tar header");
  if (r < ARCHIVE_WARN) return TarError("reading tar header");
  return entry;
}

Result<Digest> LayerStream::Finish() {
  // The tar reader stops at the end-of-archive marker; the diff_id covers
  // the whole stream, padding and all.
  for (;;) {
    la_ssize_t n = archive_read_data(raw_, buffer_, sizeof(buffer_));
    if (n == 0) break;
    if (n < 0) {
      return DataLossError("layer " + path_ +
                           ": decompressing: " + ArchiveErrorText(raw_));
    }
    hasher_.Update(std::string_view(buffer_, static_cast<size_t>(n)));
  }
  return hasher_.Finish();
}

}  // namespace kiln::solver::internal
