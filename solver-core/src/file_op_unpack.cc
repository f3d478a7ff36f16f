// ADD archive extraction for the FileOp copy action (MaybeUnpack).
#include <archive.h>
#include <sys/stat.h>

#include <optional>

#include "file_op_internal.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {
namespace {

struct ArchiveProbe {
  bool is_tar = false;
  int filter = ARCHIVE_FILTER_NONE;
};

// Whether the file at `path` starts a tar stream (through any compression
// libarchive knows), and its outermost compression filter.
ArchiveProbe Probe(const std::string& path) {
  ArchiveProbe probe;
  struct archive* a = archive_read_new();
  if (a == nullptr) return probe;
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(a, &entry);
    probe.is_tar = r == ARCHIVE_OK || r == ARCHIVE_WARN;
    probe.filter = archive_filter_code(a, 0);
  }
  archive_read_free(a);
  return probe;
}

}  // namespace

Status MaybeUnpack(const std::string& src_full, const std::string& dst_root,
                   const std::string& dest, const std::optional<Owner>& owner,
                   int64_t ns, bool* unpacked) {
  *unpacked = false;
  struct stat st;
  if (lstat(src_full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Ok();
  }
  const ArchiveProbe probe = Probe(src_full);
  if (!probe.is_tar) return Status::Ok();
  oci::Compression compression;
  switch (probe.filter) {
    case ARCHIVE_FILTER_NONE:
      compression = oci::Compression::kNone;
      break;
    case ARCHIVE_FILTER_GZIP:
      compression = oci::Compression::kGzip;
      break;
    case ARCHIVE_FILTER_ZSTD:
      compression = oci::Compression::kZstd;
      break;
    default:
      return UnimplementedError(
          std::string("unpacking archives compressed with ") +
          (probe.filter == ARCHIVE_FILTER_BZIP2 ? "bzip2"
           : probe.filter == ARCHIVE_FILTER_XZ  ? "xz"
                                                : "this filter") +
          " is not implemented");
  }
  KILN_ASSIGN_OR_RETURN(std::string rel, ResolveInRoot(dst_root, dest, true));
  KILN_RETURN_IF_ERROR(
      MakeDirsInRoot(dst_root, rel, 0755, owner, ns, Rooted(rel)));
  auto stats = ApplyLayer(src_full, compression, UnderRoot(dst_root, rel),
                          ApplyOptions{});
  if (!stats.ok()) return stats.status();
  *unpacked = true;
  return Status::Ok();
}

}  // namespace kiln::solver::internal
