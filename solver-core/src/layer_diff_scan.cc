#include "layer_diff_scan.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <vector>

#include "fs_util.h"

namespace kiln::solver::internal {
namespace {

constexpr size_t kChunk = 1 << 20;

bool KeepLayerXattr(std::string_view name) {
  return KeepXattr(name) && name.substr(0, 16) != "trusted.overlay.";
}

Status ReadXattrs(const std::string& path, FileMeta* meta) {
  ssize_t n = llistxattr(path.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return Status::Ok();
    return ErrnoError("listing xattrs of", path, errno);
  }
  std::string names(static_cast<size_t>(n), '\0');
  n = llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return ErrnoError("listing xattrs of", path, errno);
  names.resize(static_cast<size_t>(n));
  size_t start = 0;
  while (start < names.size()) {
    size_t end = names.find('\0', start);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(start, end - start);
    start = end + 1;
    if (name.empty() || !KeepLayerXattr(name)) continue;
    ssize_t len = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) {
      if (errno == ENODATA) continue;
      return ErrnoError("reading xattr " + name + " of", path, errno);
    }
    std::string value(static_cast<size_t>(len), '\0');
    len = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0)
      return ErrnoError("reading xattr " + name + " of", path, errno);
    value.resize(static_cast<size_t>(len));
    meta->xattrs.emplace_back(std::move(name), std::move(value));
  }
  std::sort(meta->xattrs.begin(), meta->xattrs.end());
  return Status::Ok();
}

// Calls `fn` with successive chunks of the file at `path`.
Status ReadChunks(const std::string& path,
                  const std::function<Status(std::string_view)>& fn) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return ErrnoError("opening", path, errno);
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading", path, errno);
    }
    if (n == 0) return Status::Ok();
    KILN_RETURN_IF_ERROR(fn(std::string_view(buf.data(), n)));
  }
}

Result<bool> SameContent(const std::string& a, const std::string& b) {
  UniqueFd fb(open(b.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fb.valid()) return ErrnoError("opening", b, errno);
  std::vector<char> other(kChunk);
  bool same = true;
  Status s = ReadChunks(a, [&](std::string_view chunk) -> Status {
    size_t got = 0;
    while (got < chunk.size()) {
      ssize_t n = read(fb.get(), other.data(), chunk.size() - got);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("reading", b, errno);
      }
      if (n == 0 || chunk.substr(got, n) != std::string_view(other.data(), n)) {
        same = false;
        return CancelledError("differs");
      }
      got += static_cast<size_t>(n);
    }
    return Status::Ok();
  });
  if (!same) return false;
  KILN_RETURN_IF_ERROR(s);
  return true;
}

}  // namespace

Result<FileMeta> ScanPath(const std::string& path) {
  FileMeta meta;
  if (lstat(path.c_str(), &meta.st) != 0)
    return ErrnoError("reading metadata of", path, errno);
  if (S_ISLNK(meta.st.st_mode)) {
    KILN_ASSIGN_OR_RETURN(meta.link, ReadLink(path));
  }
  KILN_RETURN_IF_ERROR(ReadXattrs(path, &meta));
  return meta;
}

Result<std::vector<std::string>> SortedNames(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto names, ListDir(path));
  std::sort(names.begin(), names.end());
  return names;
}

Result<bool> SameFile(const FileMeta& a, const std::string& a_path,
                      const FileMeta& b, const std::string& b_path) {
  const struct stat& x = a.st;
  const struct stat& y = b.st;
  if ((x.st_mode & S_IFMT) != (y.st_mode & S_IFMT) ||
      (x.st_mode & 07777) != (y.st_mode & 07777) || x.st_uid != y.st_uid ||
      x.st_gid != y.st_gid || a.xattrs != b.xattrs) {
    return false;
  }
  if (S_ISDIR(x.st_mode)) return true;
  if (S_ISCHR(x.st_mode) || S_ISBLK(x.st_mode)) {
    if (x.st_rdev != y.st_rdev) return false;
  }
  if (S_ISLNK(x.st_mode) && a.link != b.link) return false;
  if (x.st_size != y.st_size || x.st_mtim.tv_sec != y.st_mtim.tv_sec ||
      x.st_mtim.tv_nsec != y.st_mtim.tv_nsec) {
    return false;
  }
  // Both times possibly truncated (unpacked from a tar): look at the bytes.
  if (S_ISREG(x.st_mode) && x.st_mtim.tv_nsec == 0 && x.st_size > 0 &&
      !(x.st_dev == y.st_dev && x.st_ino == y.st_ino)) {
    return SameContent(a_path, b_path);
  }
  return true;
}

std::optional<LayerEntry> EntryMaker::Make(const std::string& rel,
                                           const FileMeta& meta) {
  const struct stat& st = meta.st;
  LayerEntry e;
  e.path = rel;
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime = st.st_mtim.tv_sec;
  e.xattrs = meta.xattrs;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      e.type = EntryType::kFile;
      e.size = st.st_size;
      if (st.st_nlink > 1) {
        auto [it, inserted] =
            inodes_.emplace(std::make_pair(st.st_dev, st.st_ino),
                            static_cast<int64_t>(inodes_.size()));
        e.data_id = it->second;
      }
      break;
    case S_IFDIR:
      e.type = EntryType::kDir;
      break;
    case S_IFLNK:
      e.type = EntryType::kSymlink;
      e.link = meta.link;
      break;
    case S_IFCHR:
    case S_IFBLK:
      e.type = S_ISCHR(st.st_mode) ? EntryType::kCharDevice
                                   : EntryType::kBlockDevice;
      e.dev_major = major(st.st_rdev);
      e.dev_minor = minor(st.st_rdev);
      break;
    case S_IFIFO:
      e.type = EntryType::kFifo;
      break;
    default:
      return std::nullopt;  // sockets
  }
  return e;
}

LayerEntry WhiteoutEntry(const std::string& rel) {
  LayerEntry e;
  e.path = rel;
  e.type = EntryType::kFile;
  return e;
}

DataSource FileDataSource(const std::string& root) {
  return [root](const LayerEntry& entry, const DataSink& sink) {
    return ReadChunks(root + "/" + entry.path, sink);
  };
}

namespace {

Status ScanInto(const std::string& root, const std::string& rel,
                EntryMaker& maker, std::vector<LayerEntry>* out) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  KILN_ASSIGN_OR_RETURN(auto names, SortedNames(dir));
  for (const auto& name : names) {
    std::string path = rel.empty() ? name : rel + "/" + name;
    KILN_ASSIGN_OR_RETURN(FileMeta meta, ScanPath(root + "/" + path));
    auto entry = maker.Make(path, meta);
    if (!entry) continue;
    out->push_back(std::move(*entry));
    if (S_ISDIR(meta.st.st_mode))
      KILN_RETURN_IF_ERROR(ScanInto(root, path, maker, out));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<LayerEntry>> ScanTree(const std::string& root) {
  std::vector<LayerEntry> entries;
  EntryMaker maker;
  KILN_RETURN_IF_ERROR(ScanInto(root, "", maker, &entries));
  FinalizeEntries(&entries);
  return entries;
}

}  // namespace kiln::solver::internal
