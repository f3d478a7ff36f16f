#include "kiln/solver/content_checksum.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "content_checksum_cache.h"
#include "fs_util.h"
#include "kiln/solver/pattern_matcher.h"
#include "path_util.h"
#include "path_walk.h"
#include "sha256_hasher.h"

namespace kiln::solver {
namespace {

using internal::ErrnoStatus;
using internal::UniqueFd;

constexpr int kMaxLinks = 40;
constexpr int64_t kRacyWindowNs = 100'000'000;  // 100 ms

int64_t Ns(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Ns(ts);
}

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return a + "/" + b;
}

std::string Octal(uint32_t mode) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%o", mode);
  return buf;
}

// `path` resolved inside `root` (symlinks scoped to the root): the
// root-relative path, "" for the root.
Result<std::string> Resolve(const std::string& root, const std::string& path,
                            bool follow_final) {
  KILN_ASSIGN_OR_RETURN(
      internal::InRootWalk walk,
      internal::WalkInRoot(root, internal::SplitPath(path), follow_final));
  if (walk.missing) {
    return NotFoundError("checksumming " + path + " in " + root +
                         ": no such file or directory");
  }
  if (walk.too_many_links) {
    return InvalidArgumentError("checksumming " + path + " in " + root +
                                ": too many levels of symlinks");
  }
  return internal::JoinPath(walk.resolved);
}

class Walker {
 public:
  Walker(std::string root, ContentChecksummer::RootCache& cache,
         ChecksumStats& stats, PatternMatcher include, PatternMatcher exclude)
      : root_(std::move(root)),
        cache_(cache),
        stats_(stats),
        include_(std::move(include)),
        exclude_(std::move(exclude)),
        start_ns_(NowNs()) {}

  // Hex digest of root-relative `rel`; `prel` is relative to the checksummed
  // path (for patterns). nullopt for a directory walked only because
  // something below might be included, when nothing was.
  Result<std::optional<std::string>> Entry(const std::string& rel,
                                           const std::string& prel,
                                           const struct stat& st,
                                           bool only_if_nonempty) {
    uint32_t perm = st.st_mode & 07777;
    if (S_ISREG(st.st_mode)) {
      KILN_ASSIGN_OR_RETURN(std::string hex, FileHash(rel, st));
      KILN_ASSIGN_OR_RETURN(std::string meta, CachedOwnerAndXattrs(rel, st));
      return Hex("f " + Octal(perm) + meta + " " + hex);
    }
    KILN_ASSIGN_OR_RETURN(std::string meta, OwnerAndXattrs(rel, st));
    if (S_ISLNK(st.st_mode)) {
      KILN_ASSIGN_OR_RETURN(std::string target, internal::ReadLink(Full(rel)));
      return Hex("l" + meta + " " + target);
    }
    if (!S_ISDIR(st.st_mode)) {
      return Hex("o " + Octal(st.st_mode) + meta + " " +
                 std::to_string(major(st.st_rdev)) + "," +
                 std::to_string(minor(st.st_rdev)));
    }
    KILN_ASSIGN_OR_RETURN(auto names, internal::ListDir(Full(rel)));
    std::sort(names.begin(), names.end());
    std::string record = "d " + Octal(perm) + meta + "\n";
    bool any = false;
    for (const auto& name : names) {
      std::string crel = Join(rel, name);
      std::string cprel = Join(prel, name);
      struct stat cst {};
      if (lstat(Full(crel).c_str(), &cst) != 0) {
        if (errno == ENOENT) continue;  // removed while walking
        return ErrnoStatus("checksumming " + Full(crel), errno);
      }
      bool dir = S_ISDIR(cst.st_mode);
      WalkChoice choice = ChooseForWalk(include_, exclude_, cprel, dir);
      if (choice == WalkChoice::kSkip) continue;
      bool partial = choice == WalkChoice::kPartial;
      KILN_ASSIGN_OR_RETURN(auto child, Entry(crel, cprel, cst, partial));
      if (!child) continue;
      any = true;
      record += name;
      record += '\0';
      record += *child;
      record += '\n';
    }
    if (only_if_nonempty && !any) return std::optional<std::string>();
    return Hex(record);
  }

  const std::unordered_set<std::string>& visited() const { return visited_; }

 private:
  static std::optional<std::string> Hex(std::string_view data) {
    return std::string(Digest::FromBytes(data).hex());
  }
  std::string Full(const std::string& rel) const {
    if (rel.empty()) return root_.empty() ? "/" : root_;
    return root_ + "/" + rel;
  }

  static CachedFile Key(const struct stat& st) {
    CachedFile f;
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtime_ns = Ns(st.st_mtim);
    f.ctime_ns = Ns(st.st_ctim);
    f.ino = st.st_ino;
    f.dev = st.st_dev;
    f.mode = st.st_mode;
    return f;
  }

  // OwnerAndXattrs for a regular file FileHash has just seen, without the
  // xattr syscalls when its cache entry says it has none (a no-op walk of
  // 10,000 files saves as many llistxattr calls).
  Result<std::string> CachedOwnerAndXattrs(const std::string& rel,
                                           const struct stat& st) {
    auto it = cache_.files.find(rel);
    const bool cached =
        it != cache_.files.end() && it->second.SameFile(Key(st));
    if (cached && it->second.xattrs == CachedFile::Xattrs::kNone) {
      return OwnerOnly(st);
    }
    KILN_ASSIGN_OR_RETURN(std::string meta, OwnerAndXattrs(rel, st));
    if (cached) {
      const auto seen = meta.size() > OwnerOnly(st).size()
                            ? CachedFile::Xattrs::kSome
                            : CachedFile::Xattrs::kNone;
      if (it->second.xattrs != seen) {
        it->second.xattrs = seen;
        cache_.dirty = true;
      }
    }
    return meta;
  }

  static std::string OwnerOnly(const struct stat& st) {
    std::string out(1, ' ');
    out.append(std::to_string(st.st_uid)).append(1, ':');
    out.append(std::to_string(st.st_gid));
    return out;
  }

  // " uid:gid" and the xattrs that travel with a copy and matter to what
  // runs (file capabilities, user.*), as BuildKit's tarsum headers have.
  Result<std::string> OwnerAndXattrs(const std::string& rel,
                                     const struct stat& st) {
    std::string out = OwnerOnly(st);
    const std::string full = Full(rel);
    ssize_t size = llistxattr(full.c_str(), nullptr, 0);
    if (size <= 0) return out;  // none, or not supported here
    std::string names(static_cast<size_t>(size), '\0');
    size = llistxattr(full.c_str(), names.data(), names.size());
    if (size < 0) return ErrnoStatus("listing xattrs of " + full, errno);
    names.resize(static_cast<size_t>(size));
    std::vector<std::string> kept;
    for (size_t pos = 0; pos < names.size();) {
      std::string name(names.c_str() + pos);
      pos += name.size() + 1;
      if (name == "security.capability" || name.starts_with("user.")) {
        kept.push_back(std::move(name));
      }
    }
    std::sort(kept.begin(), kept.end());
    for (const std::string& name : kept) {
      ssize_t len = lgetxattr(full.c_str(), name.c_str(), nullptr, 0);
      if (len < 0) continue;  // removed meanwhile
      std::string value(static_cast<size_t>(len), '\0');
      len = lgetxattr(full.c_str(), name.c_str(), value.data(), value.size());
      if (len < 0) continue;
      value.resize(static_cast<size_t>(len));
      out.append(" x").append(std::to_string(name.size())).append(1, ':');
      out.append(name).append(std::to_string(value.size())).append(1, ':');
      out.append(value);
    }
    return out;
  }

  Result<std::string> FileHash(const std::string& rel, const struct stat& st) {
    visited_.insert(rel);
    CachedFile key = Key(st);
    auto it = cache_.files.find(rel);
    if (it != cache_.files.end() && it->second.SameFile(key)) {
      ++stats_.cache_hits;
      return it->second.hex;
    }
    std::string full = Full(rel);
    UniqueFd fd(open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return ErrnoStatus("opening " + full, errno);
    struct stat fst {};
    if (fstat(fd.get(), &fst) != 0) return ErrnoStatus("stat " + full, errno);
    internal::Sha256Hasher hasher;
    std::string buf(1 << 16, '\0');
    uint64_t total = 0;
    while (true) {
      ssize_t n = read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("reading " + full, errno);
      if (n == 0) break;
      hasher.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
      total += static_cast<uint64_t>(n);
    }
    ++stats_.files_read;
    stats_.bytes_read += total;
    std::string hex(hasher.Finish().hex());
    key = Key(fst);
    bool racy =
        std::max(key.mtime_ns, key.ctime_ns) > start_ns_ - kRacyWindowNs;
    if (racy) {
      if (it != cache_.files.end()) {
        cache_.files.erase(it);
        cache_.dirty = true;
      }
    } else {
      key.hex = hex;
      cache_.files[rel] = std::move(key);
      cache_.dirty = true;
    }
    return hex;
  }

  std::string root_;
  ContentChecksummer::RootCache& cache_;
  ChecksumStats& stats_;
  PatternMatcher include_;
  PatternMatcher exclude_;
  int64_t start_ns_;
  std::unordered_set<std::string> visited_;
};

std::string CacheFile(const std::string& dir, const std::string& root) {
  return dir + "/" + std::string(Digest::FromBytes(root).hex()) +
         ".contenthash";
}

}  // namespace

ContentChecksummer::ContentChecksummer(std::string cache_dir)
    : cache_dir_(std::move(cache_dir)) {}

ContentChecksummer::~ContentChecksummer() = default;

ChecksumStats ContentChecksummer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ContentChecksummer::ResetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = ChecksumStats();
}

Result<Digest> ContentChecksummer::Checksum(const std::string& root_arg,
                                            const std::string& path,
                                            const ChecksumOptions& options) {
  KILN_ASSIGN_OR_RETURN(PatternMatcher include,
                        PatternMatcher::Create(options.include_patterns));
  KILN_ASSIGN_OR_RETURN(PatternMatcher exclude,
                        PatternMatcher::Create(options.exclude_patterns));
  char* real = realpath(root_arg.c_str(), nullptr);
  if (real == nullptr) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFoundError("checksum root " + root_arg + " not found");
    }
    return ErrnoStatus("resolving checksum root " + root_arg, err);
  }
  std::string root = real;
  free(real);
  if (root == "/") root.clear();  // so that Full() yields "/x", not "//x"
  KILN_ASSIGN_OR_RETURN(std::string rel,
                        Resolve(root, path, options.follow_links));

  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<RootCache>& cache = roots_[root];
  if (!cache) cache = std::make_unique<RootCache>();
  if (!cache->loaded && !cache_dir_.empty()) {
    auto data = internal::ReadFile(CacheFile(cache_dir_, root));
    if (data.ok()) cache->files = internal::ParseChecksumCache(*data);
  }
  cache->loaded = true;

  std::string full =
      rel.empty() ? (root.empty() ? "/" : root) : root + "/" + rel;
  struct stat st {};
  if (lstat(full.c_str(), &st) != 0)
    return ErrnoStatus("checksumming " + full, errno);
  Walker walker(root, *cache, stats_, std::move(include), std::move(exclude));
  KILN_ASSIGN_OR_RETURN(auto hex, walker.Entry(rel, "", st, false));

  // Forget files under `rel` that are gone (only when every file was seen).
  if (options.include_patterns.empty() && options.exclude_patterns.empty()) {
    std::string prefix = rel.empty() ? "" : rel + "/";
    if (auto it = cache->files.find(rel);
        it != cache->files.end() && !walker.visited().contains(rel)) {
      cache->files.erase(it);
      cache->dirty = true;
    }
    auto it = cache->files.lower_bound(prefix);
    while (it != cache->files.end() && it->first.starts_with(prefix)) {
      if (!walker.visited().contains(it->first)) {
        it = cache->files.erase(it);
        cache->dirty = true;
      } else {
        ++it;
      }
    }
  }
  if (cache->dirty && !cache_dir_.empty()) {
    Status made = internal::MakeDirs(cache_dir_, "checksum cache directory");
    if (made.ok() && internal::WriteFileAtomic(
                         CacheFile(cache_dir_, root),
                         internal::SerializeChecksumCache(cache->files))
                         .ok()) {
      cache->dirty = false;
      ++stats_.cache_writes;
    }
  }
  return *Digest::Parse("sha256:" + *hex);
}

}  // namespace kiln::solver
