#include "image_store_layout.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <filesystem>

namespace kiln::solver::internal {
namespace {

namespace fs = std::filesystem;

// Writes <dir>/<name> atomically. The caller holds the index lock, so a
// fixed temporary name serves (and a crashed write's leftover is reused).
Status WriteLayoutFile(const std::string& dir, const std::string& name,
                       std::string_view data) {
  return WriteFileAtomic(dir + "/" + name, data, dir + "/." + name + ".tmp");
}

oci::Index EmptyIndex() {
  oci::Index empty;
  empty.media_type = std::string(oci::kMediaTypeImageIndex);
  return empty;
}

// Links dir/blobs to the content store's blobs directory with a relative
// path, so the pair of directories can be moved together.
Status LinkBlobs(const std::string& dir, const ContentStore& content) {
  std::error_code ec;
  fs::path want =
      fs::weakly_canonical(fs::absolute(content.dir() + "/blobs"), ec);
  if (ec)
    return InternalError("resolving " + content.dir() +
                         "/blobs: " + ec.message());
  fs::path here = fs::weakly_canonical(fs::absolute(dir), ec);
  if (ec) return InternalError("resolving " + dir + ": " + ec.message());
  fs::path link = dir + "/blobs";
  auto st = fs::symlink_status(link, ec);
  if (fs::exists(st)) {
    if (!fs::is_symlink(st)) {
      return FailedPreconditionError(
          "image store " + link.string() +
          " is not a link to the content store's blobs");
    }
    if (fs::weakly_canonical(link, ec) == want && !ec) return Status::Ok();
  }
  fs::path tmp = dir + "/.blobs.tmp";
  fs::remove(tmp, ec);
  fs::create_directory_symlink(want.lexically_relative(here), tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec)
    return InternalError("linking " + link.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<IndexLock> IndexLock::Acquire(const std::string& dir) {
  std::string path = dir + "/index.lock";
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("opening", path, errno);
  UniqueFd lock(fd);
  while (flock(lock.get(), LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    return ErrnoError("locking", path, errno);
  }
  return IndexLock(std::move(lock));
}

Result<UniqueFd> LockGc(const std::string& dir, bool exclusive) {
  std::string path = dir + "/gc.lock";
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("opening", path, errno);
  UniqueFd lock(fd);
  int op = exclusive ? (LOCK_EX | LOCK_NB) : LOCK_SH;
  while (flock(lock.get(), op) != 0) {
    if (errno == EINTR) continue;
    if (exclusive && errno == EWOULDBLOCK) return UniqueFd();
    return ErrnoError("locking", path, errno);
  }
  return lock;
}

Status InitLayout(const std::string& dir, const ContentStore& content) {
  KILN_RETURN_IF_ERROR(MakeDirs(dir, "image store " + dir));
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Acquire(dir));
  std::error_code ec;
  if (!fs::exists(dir + "/oci-layout", ec)) {
    KILN_RETURN_IF_ERROR(WriteLayoutFile(dir, "oci-layout",
                                         R"({"imageLayoutVersion":"1.0.0"})"));
  }
  if (!fs::exists(dir + "/index.json", ec)) {
    KILN_RETURN_IF_ERROR(WriteIndex(dir, EmptyIndex()));
  }
  return LinkBlobs(dir, content);
}

Result<oci::Index> ReadIndex(const std::string& dir) {
  auto bytes = ReadFile(dir + "/index.json");
  if (!bytes.ok()) {
    if (bytes.status().code() != StatusCode::kNotFound) return bytes.status();
    return EmptyIndex();
  }
  auto index = oci::ParseIndex(*bytes);
  if (!index.ok()) return index.status().WithContext(dir + "/index.json");
  return index;
}

Status WriteIndex(const std::string& dir, const oci::Index& index) {
  return WriteLayoutFile(dir, "index.json", oci::ToJson(index));
}

}  // namespace kiln::solver::internal
