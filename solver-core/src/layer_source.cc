#include "layer_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <unordered_map>
#include <utility>

#include "archive_error.h"
#include "fs_util.h"
#include "path_util.h"

namespace kiln::solver::internal {
namespace {

constexpr size_t kChunk = 1 << 20;

int64_t Clamp(int64_t mtime, std::optional<int64_t> clamp) {
  return clamp.has_value() && mtime > *clamp ? *clamp : mtime;
}

// Extended attributes of `path` (not following a symlink), filtered and
// sorted. File systems without xattr support have none.
Result<std::vector<std::pair<std::string, std::string>>> ReadXattrs(
    const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t len = llistxattr(path.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return out;
    return ErrnoError("listing xattrs of", path, errno);
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0) return ErrnoError("listing xattrs of", path, errno);
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    if (name.empty() || !KeepXattr(name)) continue;
    ssize_t vlen = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) {
      if (errno == ENODATA) continue;
      return ErrnoError("reading xattr " + name + " of", path, errno);
    }
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0)
      return ErrnoError("reading xattr " + name + " of", path, errno);
    value.resize(static_cast<size_t>(vlen));
    out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class DirectorySource : public LayerSource {
 public:
  DirectorySource(std::string root, std::optional<int64_t> clamp)
      : root_(std::move(root)), clamp_(clamp) {}

  Status Walk(const std::string& rel) {
    std::string abs = rel.empty() ? root_ : root_ + "/" + rel;
    auto listed = ListDir(abs);
    // I/O errors below the root are Internal (see ScanDirectory).
    if (!listed.ok()) return InternalError(listed.status().message());
    std::vector<std::string> names = std::move(*listed);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      KILN_RETURN_IF_ERROR(Add(child));
    }
    return Status::Ok();
  }

  Status Read(const LayerEntry& entry, const DataSink& sink) override {
    const std::string& path = paths_.at(static_cast<size_t>(entry.data_id));
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening", path, errno);
    std::string buf(kChunk, '\0');
    int64_t left = entry.size;
    Status status;
    while (left > 0 && status.ok()) {
      ssize_t n = read(fd, buf.data(),
                       static_cast<size_t>(std::min<int64_t>(left, kChunk)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) status = ErrnoError("reading", path, errno);
      if (n <= 0) break;
      left -= n;
      status = sink(std::string_view(buf.data(), static_cast<size_t>(n)));
    }
    close(fd);
    return status;
  }

 private:
  Status Add(const std::string& rel) {
    std::string abs = root_ + "/" + rel;
    struct stat st {};
    if (lstat(abs.c_str(), &st) != 0) return ErrnoError("stat", abs, errno);
    if (S_ISSOCK(st.st_mode)) return Status::Ok();
    LayerEntry e;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime = Clamp(st.st_mtim.tv_sec, clamp_);
    KILN_ASSIGN_OR_RETURN(e.xattrs, ReadXattrs(abs));
    if (S_ISDIR(st.st_mode)) {
      e.type = EntryType::kDir;
      entries_.push_back(std::move(e));
      return Walk(rel);
    }
    if (S_ISREG(st.st_mode)) {
      e.type = EntryType::kFile;
      e.size = st.st_size;
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = inodes_.find(key);
      if (it != inodes_.end()) {
        e.data_id = it->second;
      } else {
        e.data_id = static_cast<int64_t>(paths_.size());
        paths_.push_back(abs);
        if (st.st_nlink > 1) inodes_.emplace(key, e.data_id);
      }
    } else if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::kSymlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(abs.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError("reading link", abs, errno);
      target.resize(static_cast<size_t>(n));
      e.link = std::move(target);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      e.type = S_ISCHR(st.st_mode) ? EntryType::kCharDevice
                                   : EntryType::kBlockDevice;
      e.dev_major = major(st.st_rdev);
      e.dev_minor = minor(st.st_rdev);
    } else if (S_ISFIFO(st.st_mode)) {
      e.type = EntryType::kFifo;
    } else {
      return Status::Ok();
    }
    entries_.push_back(std::move(e));
    return Status::Ok();
  }

  std::string root_;
  std::optional<int64_t> clamp_;
  std::vector<std::string> paths_;  // by data_id
  std::map<std::pair<dev_t, ino_t>, int64_t> inodes_;
};

// `path` relative to the tarball's root; InvalidArgument for any "..".
Result<std::string> EntryPath(std::string_view path,
                              const std::string& tarball) {
  std::optional<std::string> clean = CleanPathWithoutDotDot(path);
  if (!clean) {
    return InvalidArgumentError(tarball + ": entry \"" + std::string(path) +
                                "\" leaves the root with \"..\"");
  }
  return *std::move(clean);
}

class TarballSource : public LayerSource {
 public:
  TarballSource(std::string path, int spool_fd, std::optional<int64_t> clamp)
      : path_(std::move(path)), spool_fd_(spool_fd), clamp_(clamp) {}
  ~TarballSource() override { close(spool_fd_); }

  Status Scan(archive* a) {
    std::unordered_map<std::string, size_t> by_path;
    archive_entry* ae = nullptr;
    for (;;) {
      int rc = archive_read_next_header(a, &ae);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return Error(a, "reading");
      const char* raw = archive_entry_pathname(ae);
      KILN_ASSIGN_OR_RETURN(std::string path,
                            EntryPath(raw != nullptr ? raw : "", path_));
      if (path.empty()) continue;  // the root directory itself
      LayerEntry e;
      e.path = path;
      e.mode = archive_entry_perm(ae) & 07777;
      e.uid = archive_entry_uid(ae);
      e.gid = archive_entry_gid(ae);
      e.mtime = Clamp(archive_entry_mtime(ae), clamp_);
      const char *name = nullptr, *value = nullptr;
      size_t size = 0;
      archive_entry_xattr_reset(ae);
      while (archive_entry_xattr_next(ae, &name,
                                      reinterpret_cast<const void**>(&value),
                                      &size) == ARCHIVE_OK) {
        if (KeepXattr(name))
          e.xattrs.emplace_back(name, std::string(value, size));
      }
      std::sort(e.xattrs.begin(), e.xattrs.end());
      if (const char* hardlink = archive_entry_hardlink(ae);
          hardlink != nullptr) {
        KILN_ASSIGN_OR_RETURN(std::string target, EntryPath(hardlink, path_));
        auto it = by_path.find(target);
        if (it == by_path.end()) {
          return InvalidArgumentError(
              path_ + ": hardlink \"" + path + "\" to \"" + target +
              "\", which the tarball does not hold before it");
        }
        LayerEntry linked = entries_[it->second];  // same inode: same metadata
        linked.path = path;
        e = std::move(linked);
      } else {
        switch (archive_entry_filetype(ae)) {
          case AE_IFREG:
            e.type = EntryType::kFile;
            KILN_RETURN_IF_ERROR(Spool(a, ae, &e));
            break;
          case AE_IFDIR:
            e.type = EntryType::kDir;
            break;
          case AE_IFLNK: {
            e.type = EntryType::kSymlink;
            const char* target = archive_entry_symlink(ae);
            e.link = target != nullptr ? target : "";
            break;
          }
          case AE_IFCHR:
          case AE_IFBLK:
            e.type = archive_entry_filetype(ae) == AE_IFCHR
                         ? EntryType::kCharDevice
                         : EntryType::kBlockDevice;
            e.dev_major = archive_entry_rdevmajor(ae);
            e.dev_minor = archive_entry_rdevminor(ae);
            break;
          case AE_IFIFO:
            e.type = EntryType::kFifo;
            break;
          default:
            continue;  // sockets and unknown types
        }
      }
      auto [it, inserted] = by_path.emplace(path, entries_.size());
      if (inserted) {
        entries_.push_back(std::move(e));
      } else {
        entries_[it->second] = std::move(e);  // a later entry replaces
      }
    }
    return Status::Ok();
  }

  Status Read(const LayerEntry& entry, const DataSink& sink) override {
    auto [offset, size] = spans_.at(static_cast<size_t>(entry.data_id));
    std::string buf(kChunk, '\0');
    while (size > 0) {
      ssize_t n =
          pread(spool_fd_, buf.data(),
                static_cast<size_t>(std::min<int64_t>(size, kChunk)), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return ErrnoError("reading spool of", path_, n < 0 ? errno : EIO);
      offset += n;
      size -= n;
      KILN_RETURN_IF_ERROR(
          sink(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
    return Status::Ok();
  }

 private:
  Status Error(archive* a, std::string_view what) {
    return InternalError(std::string(what) + " " + path_ + ": " +
                         ArchiveErrorText(a));
  }

  Status Spool(archive* a, archive_entry* ae, LayerEntry* e) {
    int64_t start = spool_end_;
    int64_t size = std::max<int64_t>(archive_entry_size(ae), 0);
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    for (;;) {
      int rc = archive_read_data_block(a, &buf, &len, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return Error(a, "reading " + e->path + " from");
      // Sparse files come as blocks with holes between them.
      int64_t at = start + offset;
      const char* p = static_cast<const char*>(buf);
      while (len > 0) {
        ssize_t n = pwrite(spool_fd_, p, len, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoError("spooling", path_, errno);
        p += n;
        at += n;
        len -= static_cast<size_t>(n);
      }
      if (at > start + size) {
        return InternalError(path_ + ": " + e->path +
                             " holds more data than its size");
      }
    }
    // A trailing hole (sparse file) must read back as zeros.
    spool_end_ = start + size;
    if (ftruncate(spool_fd_, spool_end_) != 0)
      return ErrnoError("spooling", path_, errno);
    e->size = size;
    e->data_id = static_cast<int64_t>(spans_.size());
    spans_.emplace_back(start, size);
    return Status::Ok();
  }

  std::string path_;
  int spool_fd_;
  std::optional<int64_t> clamp_;
  int64_t spool_end_ = 0;
  std::vector<std::pair<int64_t, int64_t>> spans_;  // by data_id: offset, size
};

}  // namespace

Result<std::unique_ptr<LayerSource>> ScanDirectory(
    const std::string& root, std::optional<int64_t> clamp_mtime) {
  struct stat st {};
  if (stat(root.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return NotFoundError("import source " + root + " not found");
    return ErrnoError("stat", root, errno);
  }
  if (!S_ISDIR(st.st_mode))
    return InvalidArgumentError(root + " is not a directory");
  auto source = std::make_unique<DirectorySource>(root, clamp_mtime);
  KILN_RETURN_IF_ERROR(source->Walk(""));
  return std::unique_ptr<LayerSource>(std::move(source));
}

Result<std::unique_ptr<LayerSource>> ScanTarball(
    const std::string& path, const std::string& spool_dir,
    std::optional<int64_t> clamp_mtime) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return NotFoundError("import source " + path + " not found");
    return ErrnoError("stat", path, errno);
  }
  std::string spool = spool_dir + "/spool.XXXXXX";
  int fd = mkostemp(spool.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("creating spool file", spool, errno);
  unlink(spool.c_str());  // anonymous: gone when closed, even after a crash
  auto source = std::make_unique<TarballSource>(path, fd, clamp_mtime);

  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  Status status;
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    status = InvalidArgumentError("reading tarball " + path + ": " +
                                  ArchiveErrorText(a));
  } else {
    status = source->Scan(a);
  }
  archive_read_free(a);
  KILN_RETURN_IF_ERROR(status);
  return std::unique_ptr<LayerSource>(std::move(source));
}

}  // namespace kiln::solver::internal
