#include "kiln/solver/image_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "kiln/llb/reference.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxNesting = 8;  // index → index → … depth we follow

Status ErrnoError(std::string_view what, const std::string& path, int err) {
  return InternalError(std::string(what) + " " + path + ": " +
                       std::strerror(err));
}

Result<std::string> NormalizeName(std::string_view name) {
  auto ref = llb::ParseImageReference(name);
  if (!ref.ok()) return ref.status().WithContext("image store");
  return llb::TagNameOnly(*ref).String();
}

// Holds an exclusive flock on images/index.lock for its lifetime.
class IndexLock {
 public:
  static Result<IndexLock> Acquire(const std::string& dir) {
    std::string path = dir + "/index.lock";
    int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError("opening", path, errno);
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return ErrnoError("locking", path, err);
    }
    return IndexLock(fd);
  }
  IndexLock(IndexLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  IndexLock& operator=(IndexLock&&) = delete;
  ~IndexLock() {
    if (fd_ >= 0) close(fd_);  // closing releases the flock
  }

 private:
  explicit IndexLock(int fd) : fd_(fd) {}
  int fd_;
};

// Writes `path` atomically: temp file, fsync, rename, fsync of the directory.
// The caller holds the index lock, so the temp name needs no nonce.
Status WriteFileAtomic(const std::string& dir, const std::string& name,
                       std::string_view data) {
  std::string path = dir + "/" + name;
  std::string tmp = dir + "/." + name + ".tmp";
  int fd = open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating", tmp, errno);
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoError("writing", tmp, err);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) {
    int err = errno;
    close(fd);
    return ErrnoError("syncing", tmp, err);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0)
    return ErrnoError("renaming", tmp, errno);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoError("opening", dir, errno);
  int rc = fsync(dfd);
  int err = errno;
  close(dfd);
  if (rc != 0) return ErrnoError("syncing", dir, err);
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError(path + " not found");
    return ErrnoError("opening", path, errno);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoError("reading", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

const std::string* RefName(const oci::Descriptor& d) {
  auto it = d.annotations.find(std::string(oci::kAnnotationRefName));
  return it == d.annotations.end() ? nullptr : &it->second;
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

Result<std::string> MediaTypeOf(const ContentStore& content,
                                const oci::Descriptor& d) {
  if (!d.media_type.empty()) return d.media_type;
  KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(d.digest));
  return oci::SniffMediaType(bytes);
}

// FailedPrecondition unless `d` and everything it needs is in the store.
Status CheckComplete(const ContentStore& content, const oci::Descriptor& d,
                     int depth) {
  if (depth > kMaxNesting)
    return InvalidArgumentError("indexes nested too deeply");
  if (!content.Has(d.digest)) {
    return FailedPreconditionError("blob " + d.digest.str() +
                                   " is not in the content store");
  }
  KILN_ASSIGN_OR_RETURN(std::string media_type, MediaTypeOf(content, d));
  KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(d.digest));
  if (oci::IsManifestMediaType(media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(bytes));
    std::vector<const oci::Descriptor*> needed = {&m.config};
    for (const auto& layer : m.layers) needed.push_back(&layer);
    for (const auto* blob : needed) {
      if (!content.Has(blob->digest)) {
        return FailedPreconditionError("manifest " + d.digest.str() +
                                       ": blob " + blob->digest.str() +
                                       " is not in the content store");
      }
    }
    return Status::Ok();
  }
  if (!oci::IsIndexMediaType(media_type)) {
    return InvalidArgumentError("blob " + d.digest.str() +
                                " has media type \"" + media_type +
                                "\", not an image manifest or index");
  }
  KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
  int usable = 0;
  for (const auto& child : index.manifests) {
    if (!content.Has(child.digest)) continue;
    if (!oci::IsManifestMediaType(child.media_type) &&
        !oci::IsIndexMediaType(child.media_type)) {
      continue;  // attestations and other artifacts are not images
    }
    Status s = CheckComplete(content, child, depth + 1);
    if (!s.ok()) return s.WithContext("index " + d.digest.str());
    ++usable;
  }
  if (usable == 0) {
    return FailedPreconditionError(
        "index " + d.digest.str() +
        ": none of its manifests is in the content store");
  }
  return Status::Ok();
}

Status ClosureInto(const ContentStore& content, const oci::Descriptor& d,
                   int depth, std::set<Digest>* seen, std::vector<Digest>* out,
                   std::vector<Digest>* missing) {
  if (!seen->insert(d.digest).second) return Status::Ok();
  out->push_back(d.digest);
  if (!content.Has(d.digest)) {
    if (missing != nullptr) missing->push_back(d.digest);
    return Status::Ok();
  }
  if (depth > kMaxNesting)
    return InvalidArgumentError("indexes nested too deeply");
  std::string media_type = d.media_type;
  bool maybe_document = media_type.empty() ||
                        oci::IsManifestMediaType(media_type) ||
                        oci::IsIndexMediaType(media_type);
  if (!maybe_document) return Status::Ok();  // a layer, config or other leaf
  KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(d.digest));
  if (media_type.empty()) {
    KILN_ASSIGN_OR_RETURN(media_type, oci::SniffMediaType(bytes));
  }
  if (oci::IsManifestMediaType(media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(bytes));
    KILN_RETURN_IF_ERROR(
        ClosureInto(content, m.config, depth + 1, seen, out, missing));
    for (const auto& layer : m.layers) {
      KILN_RETURN_IF_ERROR(
          ClosureInto(content, layer, depth + 1, seen, out, missing));
    }
  } else if (oci::IsIndexMediaType(media_type)) {
    KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    for (const auto& child : index.manifests) {
      KILN_RETURN_IF_ERROR(
          ClosureInto(content, child, depth + 1, seen, out, missing));
    }
  }
  return Status::Ok();
}

Result<oci::Index> ReadIndex(const std::string& dir) {
  auto bytes = ReadSmallFile(dir + "/index.json");
  if (!bytes.ok()) {
    if (bytes.status().code() != StatusCode::kNotFound) return bytes.status();
    oci::Index empty;
    empty.media_type = std::string(oci::kMediaTypeImageIndex);
    return empty;
  }
  auto index = oci::ParseIndex(*bytes);
  if (!index.ok()) return index.status().WithContext(dir + "/index.json");
  return index;
}

Status WriteIndex(const std::string& dir, const oci::Index& index) {
  return WriteFileAtomic(dir, "index.json", oci::ToJson(index));
}

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::Open(const std::string& dir,
                                                     ContentStore* content) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return InternalError("creating image store " + dir + ": " + ec.message());
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Acquire(dir));
  if (!fs::exists(dir + "/oci-layout", ec)) {
    KILN_RETURN_IF_ERROR(WriteFileAtomic(dir, "oci-layout",
                                         R"({"imageLayoutVersion":"1.0.0"})"));
  }
  if (!fs::exists(dir + "/index.json", ec)) {
    oci::Index empty;
    empty.media_type = std::string(oci::kMediaTypeImageIndex);
    KILN_RETURN_IF_ERROR(WriteIndex(dir, empty));
  }
  KILN_RETURN_IF_ERROR(LinkBlobs(dir, *content));
  return std::unique_ptr<ImageStore>(new ImageStore(dir, content));
}

Result<std::vector<ImageRecord>> ImageStore::List() const {
  KILN_ASSIGN_OR_RETURN(oci::Index index, ReadIndex(dir_));
  std::vector<ImageRecord> out;
  for (const auto& d : index.manifests) {
    const std::string* name = RefName(d);
    if (name != nullptr) out.push_back(ImageRecord{*name, d});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ImageRecord& a, const ImageRecord& b) {
                     return a.name < b.name;
                   });
  return out;
}

Result<ImageRecord> ImageStore::Get(std::string_view name) const {
  KILN_ASSIGN_OR_RETURN(std::string full, NormalizeName(name));
  KILN_ASSIGN_OR_RETURN(auto records, List());
  for (auto& r : records) {
    if (r.name == full) return std::move(r);
  }
  return NotFoundError("image \"" + full + "\" not found");
}

Status ImageStore::Put(std::string_view name, const oci::Descriptor& target) {
  KILN_ASSIGN_OR_RETURN(std::string full, NormalizeName(name));
  oci::Descriptor entry = target;
  entry.annotations[std::string(oci::kAnnotationRefName)] = full;
  entry.annotations[std::string(oci::kAnnotationImageName)] = full;
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Acquire(dir_));
  // Checked under the lock: a concurrent Remove() cannot delete what we name.
  Status complete = CheckComplete(*content_, target, 0);
  if (!complete.ok()) return complete.WithContext("tagging " + full);
  KILN_ASSIGN_OR_RETURN(oci::Index index, ReadIndex(dir_));
  bool replaced = false;
  std::vector<oci::Descriptor> kept;
  for (auto& d : index.manifests) {
    const std::string* ref = RefName(d);
    if (ref == nullptr || *ref != full) {
      kept.push_back(std::move(d));
    } else if (!replaced) {
      kept.push_back(entry);
      replaced = true;
    }
  }
  if (!replaced) kept.push_back(entry);
  index.manifests = std::move(kept);
  if (index.media_type.empty())
    index.media_type = std::string(oci::kMediaTypeImageIndex);
  return WriteIndex(dir_, index);
}

Status ImageStore::Remove(std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::string full, NormalizeName(name));
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Acquire(dir_));
  KILN_ASSIGN_OR_RETURN(oci::Index index, ReadIndex(dir_));
  std::vector<oci::Descriptor> kept, removed;
  for (auto& d : index.manifests) {
    const std::string* ref = RefName(d);
    (ref != nullptr && *ref == full ? removed : kept).push_back(std::move(d));
  }
  if (removed.empty()) return NotFoundError("image \"" + full + "\" not found");
  index.manifests = std::move(kept);
  KILN_RETURN_IF_ERROR(WriteIndex(dir_, index));

  // Garbage: blobs of the removed image that no remaining entry reaches.
  // Blobs that no image ever named (build cache, ingest) are not ours to drop.
  std::set<Digest> live;
  for (const auto& d : index.manifests) {
    KILN_ASSIGN_OR_RETURN(auto closure, Closure(d));
    live.insert(closure.begin(), closure.end());
  }
  for (const auto& d : removed) {
    KILN_ASSIGN_OR_RETURN(auto closure, Closure(d));
    for (const auto& digest : closure) {
      if (live.count(digest) != 0 || !content_->Has(digest)) continue;
      Status s = content_->Delete(digest);
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        return s.WithContext("removing " + full);
      }
    }
  }
  return Status::Ok();
}

Result<ResolvedImage> ImageStore::Resolve(const oci::Descriptor& target,
                                          const llb::Platform& platform) const {
  oci::Descriptor current = target;
  for (int depth = 0; depth <= kMaxNesting; ++depth) {
    KILN_ASSIGN_OR_RETURN(std::string bytes, content_->ReadAll(current.digest));
    std::string media_type = current.media_type;
    if (media_type.empty()) {
      KILN_ASSIGN_OR_RETURN(media_type, oci::SniffMediaType(bytes));
    }
    if (oci::IsIndexMediaType(media_type)) {
      KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
      KILN_ASSIGN_OR_RETURN(current, oci::SelectManifest(index, platform));
      continue;
    }
    if (!oci::IsManifestMediaType(media_type)) {
      return InvalidArgumentError("blob " + current.digest.str() +
                                  " has media type \"" + media_type +
                                  "\", not an image manifest or index");
    }
    ResolvedImage out;
    KILN_ASSIGN_OR_RETURN(out.manifest, oci::ParseManifest(bytes));
    KILN_ASSIGN_OR_RETURN(out.config_bytes,
                          content_->ReadAll(out.manifest.config.digest));
    KILN_ASSIGN_OR_RETURN(out.config, oci::ParseImageConfig(out.config_bytes));
    out.manifest_descriptor = std::move(current);
    return out;
  }
  return InvalidArgumentError("image " + target.digest.str() +
                              ": indexes nested too deeply");
}

Result<std::vector<Digest>> ImageStore::Closure(
    const oci::Descriptor& target, std::vector<Digest>* missing) const {
  std::set<Digest> seen;
  std::vector<Digest> out;
  KILN_RETURN_IF_ERROR(ClosureInto(*content_, target, 0, &seen, &out, missing));
  return out;
}

}  // namespace kiln::solver
