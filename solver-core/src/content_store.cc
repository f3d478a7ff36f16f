#include "kiln/solver/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "fs_util.h"
#include "sha256_hasher.h"

namespace kiln::solver {
namespace {

using internal::ErrnoError;
using internal::FsyncDir;
using internal::RandomNonce;
using internal::WriteFull;

// Moves `from` to `to` unless `to` exists; *existed tells which happened.
// renameat2(RENAME_NOREPLACE) makes the first writer win; file systems without
// it fall back to link + unlink, which is just as exclusive.
Status RenameNoReplace(const std::string& from, const std::string& to,
                       bool* existed) {
  *existed = false;
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                RENAME_NOREPLACE) == 0) {
    return Status::Ok();
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS || err == ENOTSUP) {
    if (link(from.c_str(), to.c_str()) != 0)
      err = errno;
    else
      err = 0;
    unlink(from.c_str());
    if (err == 0) return Status::Ok();
  }
  if (err == EEXIST) {
    *existed = true;
    unlink(from.c_str());
    return Status::Ok();
  }
  return ErrnoError("renaming " + from + " to", to, err);
}

class FileContentWriter : public ContentWriter {
 public:
  FileContentWriter(std::string blobs_dir, Digest expected,
                    int64_t expected_size, int fd, std::string ingest_path,
                    WriteFaultHook hook)
      : blobs_dir_(std::move(blobs_dir)),
        expected_(std::move(expected)),
        expected_size_(expected_size),
        fd_(fd),
        ingest_path_(std::move(ingest_path)),
        hook_(std::move(hook)) {}

  ~FileContentWriter() override {
    if (fd_ < 0) return;
    // A simulated crash leaves its ingest file for the next Open() to clean.
    if (!crashed_) unlink(ingest_path_.c_str());
    close(fd_);
  }

  Status Write(std::string_view data) override {
    if (fd_ < 0 || crashed_)
      return FailedPreconditionError(Name() + ": writer is closed");
    if (expected_size_ >= 0 &&
        written_ + static_cast<int64_t>(data.size()) > expected_size_) {
      return DataLossError(Name() + ": more than the expected " +
                           std::to_string(expected_size_) + " bytes written");
    }
    KILN_RETURN_IF_ERROR(WriteFull(fd_, data, ingest_path_));
    hasher_.Update(data);
    written_ += static_cast<int64_t>(data.size());
    if (hook_ && !hook_(expected_, written_)) {
      crashed_ = true;
      return InternalError(Name() + ": write fault injected after " +
                           std::to_string(written_) + " bytes");
    }
    return Status::Ok();
  }

  int64_t written() const override { return written_; }

  Status Commit() override {
    if (fd_ < 0 || crashed_)
      return FailedPreconditionError(Name() + ": writer is closed");
    if (expected_size_ >= 0 && written_ != expected_size_) {
      Discard();
      return DataLossError(Name() + ": size mismatch: expected " +
                           std::to_string(expected_size_) + " bytes, got " +
                           std::to_string(written_));
    }
    Digest actual = hasher_.Finish();
    if (expected_.valid() && actual != expected_) {
      Discard();
      return DataLossError(Name() + ": digest mismatch: got " + actual.str());
    }
    if (fchmod(fd_, 0444) != 0 || fsync(fd_) != 0) {
      int err = errno;
      Discard();
      return ErrnoError("syncing", ingest_path_, err);
    }
    // The lock is held until the rename, so Open() never takes the file.
    std::string target = blobs_dir_ + "/" + std::string(actual.hex());
    bool existed = false;
    Status renamed = RenameNoReplace(ingest_path_, target, &existed);
    if (!renamed.ok()) {
      Discard();
      return renamed.WithContext("committing " + actual.str());
    }
    close(fd_);
    fd_ = -1;
    committed_ = actual;
    if (existed) return Status::Ok();
    return FsyncDir(blobs_dir_);
  }

  const Digest& committed() const { return committed_; }

 private:
  std::string Name() const {
    return "blob " + (expected_.valid() ? expected_.str()
                                        : std::string("of unknown digest"));
  }

  void Discard() {
    unlink(ingest_path_.c_str());
    close(fd_);
    fd_ = -1;
  }

  std::string blobs_dir_;
  Digest expected_;
  int64_t expected_size_;
  int fd_;
  std::string ingest_path_;
  WriteFaultHook hook_;
  internal::Sha256Hasher hasher_;
  int64_t written_ = 0;
  bool crashed_ = false;
  Digest committed_;
};

// Removes `path` if no writer holds its lock (and it is still the file that
// was locked).
void RemoveIfStale(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
    struct stat held {
    }, named{};
    if (fstat(fd, &held) == 0 && lstat(path.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      unlink(path.c_str());
    }
  }
  close(fd);
}

}  // namespace

Result<std::unique_ptr<ContentStore>> ContentStore::Open(
    const std::string& dir) {
  for (const char* sub : {"blobs/sha256", "ingest"}) {
    std::string path = dir + "/" + sub;
    KILN_RETURN_IF_ERROR(internal::MakeDirs(path, "content store " + path));
  }
  std::string ingest = dir + "/ingest";
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        internal::ListDir(ingest));
  for (const auto& name : names) RemoveIfStale(ingest + "/" + name);
  return std::unique_ptr<ContentStore>(new ContentStore(dir));
}

std::string ContentStore::BlobPath(const Digest& digest) const {
  return dir_ + "/blobs/" + std::string(digest.algorithm()) + "/" +
         std::string(digest.hex());
}

bool ContentStore::Has(const Digest& digest) const {
  if (!digest.valid()) return false;
  struct stat st {};
  return stat(BlobPath(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<BlobInfo> ContentStore::Info(const Digest& digest) const {
  struct stat st {};
  if (!digest.valid() || stat(BlobPath(digest).c_str(), &st) != 0) {
    return NotFoundError("blob " + digest.str() +
                         " not found in content store " + dir_);
  }
  return BlobInfo{digest, static_cast<int64_t>(st.st_size)};
}

Result<std::string> ContentStore::ReadAll(const Digest& digest,
                                          int64_t max_size) const {
  std::string path = BlobPath(digest);
  int fd = digest.valid() ? open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0) {
    if (!digest.valid() || errno == ENOENT) {
      return NotFoundError("blob " + digest.str() +
                           " not found in content store " + dir_);
    }
    return ErrnoError("opening", path, errno);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoError("stat", path, err);
  }
  if (st.st_size > max_size) {
    close(fd);
    return FailedPreconditionError(
        "blob " + digest.str() + " is " + std::to_string(st.st_size) +
        " bytes, more than " + std::to_string(max_size) + " allowed in memory");
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      return ErrnoError("reading", path, err);
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  return out;
}

Result<Digest> ContentStore::Put(std::string_view data,
                                 const Digest* expected) {
  Digest digest = Digest::FromBytes(data);
  if (expected != nullptr && *expected != digest) {
    return DataLossError("blob " + expected->str() + ": digest mismatch: got " +
                         digest.str());
  }
  if (Has(digest)) return digest;
  KILN_ASSIGN_OR_RETURN(auto writer,
                        Writer(digest, static_cast<int64_t>(data.size())));
  KILN_RETURN_IF_ERROR(writer->Write(data));
  KILN_RETURN_IF_ERROR(writer->Commit());
  return digest;
}

namespace {

// Creates and locks a fresh ingest file. A cleaner may unlink a file between
// its creation and our flock; then it has no links left and we try again.
Result<std::pair<int, std::string>> CreateIngest(const std::string& dir,
                                                 std::string_view stem) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string path =
        dir + "/ingest/" + std::string(stem) + "." + RandomNonce();
    int fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return ErrnoError("creating ingest file", path, errno);
    }
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(path.c_str());
      return ErrnoError("locking ingest file", path, err);
    }
    struct stat st {};
    if (fstat(fd, &st) == 0 && st.st_nlink > 0) return std::make_pair(fd, path);
    close(fd);
  }
  return InternalError("creating ingest file in " + dir +
                       "/ingest: kept being removed");
}

}  // namespace

Result<std::unique_ptr<ContentWriter>> ContentStore::Writer(
    const Digest& expected, int64_t expected_size) {
  if (!expected.valid() || expected.algorithm() != "sha256") {
    return InvalidArgumentError("content store: cannot verify digest \"" +
                                expected.str() +
                                "\": only sha256 is supported");
  }
  KILN_ASSIGN_OR_RETURN(auto ingest, CreateIngest(dir_, expected.hex()));
  return std::unique_ptr<ContentWriter>(
      new FileContentWriter(dir_ + "/blobs/sha256", expected, expected_size,
                            ingest.first, ingest.second, fault_hook_));
}

Result<std::unique_ptr<ContentWriter>> ContentStore::WriterForUnknown() {
  KILN_ASSIGN_OR_RETURN(auto ingest, CreateIngest(dir_, "unknown"));
  return std::unique_ptr<ContentWriter>(
      new FileContentWriter(dir_ + "/blobs/sha256", Digest(), -1, ingest.first,
                            ingest.second, fault_hook_));
}

Digest ContentStore::CommittedDigest(const ContentWriter& writer) {
  const auto* w = dynamic_cast<const FileContentWriter*>(&writer);
  return w != nullptr ? w->committed() : Digest();
}

Status ContentStore::Delete(const Digest& digest) {
  std::string path = BlobPath(digest);
  if (!digest.valid() || unlink(path.c_str()) != 0) {
    if (!digest.valid() || errno == ENOENT) {
      return NotFoundError("blob " + digest.str() +
                           " not found in content store " + dir_);
    }
    return ErrnoError("deleting", path, errno);
  }
  return FsyncDir(dir_ + "/blobs/" + std::string(digest.algorithm()));
}

Result<std::vector<BlobInfo>> ContentStore::List() const {
  std::string blobs = dir_ + "/blobs/sha256";
  DIR* d = opendir(blobs.c_str());
  if (d == nullptr) return ErrnoError("listing", blobs, errno);
  std::vector<BlobInfo> out;
  while (dirent* e = readdir(d)) {
    auto digest = Digest::Parse(std::string("sha256:") + e->d_name);
    if (!digest.ok()) continue;  // not a blob (e.g. a foreign tool's temp file)
    struct stat st {};
    if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
      continue;
    out.push_back(BlobInfo{*digest, static_cast<int64_t>(st.st_size)});
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const BlobInfo& a, const BlobInfo& b) {
    return a.digest < b.digest;
  });
  return out;
}

}  // namespace kiln::solver
