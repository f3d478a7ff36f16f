// The usage records of a Solver's cache, sizes measured on disk (gc.h).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fs_util.h"
#include "http_source_cache.h"
#include "kiln/llb/digest.h"
#include "solver_gc_internal.h"
#include "solver_impl.h"

namespace kiln::solver::internal {
namespace {

using InodeSet = std::set<std::pair<uint64_t, uint64_t>>;

int64_t Ns(const struct timespec& t) {
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// st_blocks of everything under the open directory `fd`.
int64_t DirBytes(int fd, InodeSet& seen, bool& shared) {
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return 0;
  }
  int64_t total = 0;
  while (struct dirent* e = readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;  // removed meanwhile
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
        !seen.insert({st.st_dev, st.st_ino}).second) {
      shared = true;
      continue;
    }
    total += int64_t{st.st_blocks} * 512;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(dir), e->d_name,
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) total += DirBytes(sub, seen, shared);
    }
  }
  closedir(dir);
  return total;
}

// The directory holding a snapshot's files: snapshots/<id> (its fs and,
// for overlay, work dirs) when OwnDir is snapshots/<id>/fs.
std::string SnapshotStorage(Snapshotter& snapshots, const std::string& name) {
  auto own = snapshots.OwnDir(name);
  if (!own.ok()) return "";
  std::string dir = *own;
  if (dir.ends_with("/fs")) dir.resize(dir.size() - 3);
  return dir;
}

std::string Describe(const SnapshotInfo& info, const std::string& recorded,
                     const std::string& remembered,
                     const std::string& image_name) {
  if (!recorded.empty()) return recorded;
  if (!remembered.empty()) return remembered;
  if (info.kind != SnapshotKind::kCommitted) return "work in progress";
  if (info.name.starts_with("kiln-dir/")) return "local source snapshot";
  if (info.name.starts_with("sha256:")) {
    return image_name.empty() ? "image layer" : "pulled from " + image_name;
  }
  return "snapshot " + info.name;
}

// The remote a git mirror fetches from (its config's url), or "".
std::string GitRemote(const std::string& mirror) {
  auto config = ReadFile(mirror + "/config");
  if (!config.ok()) return "";
  size_t at = config->find("url = ");
  if (at == std::string::npos) return "";
  size_t end = config->find('\n', at);
  return config->substr(at + 6, end == std::string::npos ? end : end - at - 6);
}

// Whether the flock at `path` is held by someone (a probe).
bool Locked(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return false;
  return flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

}  // namespace

int64_t DiskBytes(const std::string& path, InodeSet* seen, bool* shared) {
  InodeSet local;
  bool dummy = false;
  InodeSet& inodes = seen != nullptr ? *seen : local;
  bool& sh = shared != nullptr ? *shared : dummy;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) {
    if (st.st_nlink > 1 && !inodes.insert({st.st_dev, st.st_ino}).second) {
      sh = true;
      return 0;
    }
    return int64_t{st.st_blocks} * 512;
  }
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return int64_t{st.st_blocks} * 512;
  return int64_t{st.st_blocks} * 512 + DirBytes(fd, inodes, sh);
}

int64_t FreeBytes(const std::string& path) {
  struct statvfs vfs {};
  if (statvfs(path.c_str(), &vfs) != 0) return -1;
  return static_cast<int64_t>(vfs.f_bavail) *
         static_cast<int64_t>(vfs.f_frsize);
}

std::string GcRecordId(GcKind kind, const std::string& name) {
  Digest d =
      Digest::FromBytes(std::to_string(static_cast<int>(kind)) + "\n" + name);
  constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id;
  std::string_view hex = d.hex();
  for (size_t i = 0; id.size() < 25 && i + 1 < hex.size(); i += 2) {
    int byte = std::stoi(std::string(hex.substr(i, 2)), nullptr, 16);
    id.push_back(kDigits[static_cast<size_t>(byte) % 36]);
  }
  return id;
}

Result<std::vector<GcRecord>> ScanGc(SolverImpl& solver) {
  Snapshotter& snapshots = *solver.options().snapshots;
  CacheIndex& index = solver.index();
  const SolverDirs& dirs = solver.dirs();
  KILN_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> infos, snapshots.List());
  KILN_ASSIGN_OR_RETURN(std::vector<CacheRecord> cache_records, index.List());
  KILN_ASSIGN_OR_RETURN(auto usage, index.Usage());
  KILN_ASSIGN_OR_RETURN(auto layers, index.LayerDigests());
  KILN_ASSIGN_OR_RETURN(auto image_blobs,
                        ImageBlobNames(*solver.options().images));
  const std::set<std::string> held = solver.gc().Held();
  ContentStore& content = solver.options().images->content();

  std::map<std::string, const CacheRecord*> recorded;
  for (const CacheRecord& r : cache_records) {
    for (const std::string& out : r.outputs) recorded[out] = &r;
  }
  std::map<Digest, int> blob_refs;  // layer rows per unnamed blob
  for (const auto& [snapshot, digest] : layers) {
    if (!image_blobs.contains(digest)) ++blob_refs[digest];
  }
  std::map<Digest, std::string> digest_to_image;  // a chain's base image
  std::vector<GcRecord> out;
  InodeSet seen;
  std::set<Digest> counted_blobs;
  std::map<std::string, size_t> by_name;
  for (const SnapshotInfo& info : infos) {
    GcRecord r;
    r.kind = GcKind::kSnapshot;
    r.name = info.name;
    r.parent = info.parent;
    UsageRecord& u = r.usage;
    u.id = GcRecordId(r.kind, info.name);
    u.type = info.name.starts_with("kiln-dir/") ? "source.local" : "regular";
    const bool committed = info.kind == SnapshotKind::kCommitted;
    auto rec = recorded.find(info.name);
    const bool unrecorded_output =
        info.name.starts_with(kOutputPrefix) && rec == recorded.end();
    u.is_mutable = info.kind == SnapshotKind::kActive;
    u.in_use = !committed || held.contains(info.name) || unrecorded_output;
    r.removable = committed && !unrecorded_output;
    std::string image_name;
    auto layer = layers.find(info.name);
    if (layer != layers.end()) {
      auto named = image_blobs.find(layer->second);
      if (named != image_blobs.end()) image_name = named->second;
    }
    u.description =
        Describe(info, rec != recorded.end() ? rec->second->description : "",
                 solver.DescriptionOf(info.name), image_name);
    const std::string storage = SnapshotStorage(snapshots, info.name);
    bool shared = false;
    u.size = storage.empty() ? 0 : DiskBytes(storage, &seen, &shared);
    if (layer != layers.end() && blob_refs.contains(layer->second) &&
        content.Has(layer->second)) {
      r.blob = layer->second;
      if (blob_refs[layer->second] > 1) shared = true;
      if (counted_blobs.insert(layer->second).second) {
        u.size += DiskBytes(content.BlobPath(layer->second), &seen, &shared);
      }
    }
    u.shared = shared;
    if (auto it = usage.find(info.name); it != usage.end()) {
      u.created_at_ns = it->second.created_unix_ms * 1'000'000;
      u.last_used_at_ns = it->second.last_used_unix_ms * 1'000'000;
      u.usage_count = it->second.count;
    } else if (rec != recorded.end()) {
      u.created_at_ns = rec->second->created_unix_ms * 1'000'000;
      u.last_used_at_ns = rec->second->last_used_unix_ms * 1'000'000;
    } else if (struct stat st{};
               !storage.empty() && stat(storage.c_str(), &st) == 0) {
      u.created_at_ns = Ns(st.st_mtim);
    }
    by_name[info.name] = out.size();
    out.push_back(std::move(r));
  }
  // Parents, and the ancestors of what is in use are in use.
  for (GcRecord& r : out) {
    auto parent = by_name.find(r.parent);
    if (parent != by_name.end())
      r.usage.parents = {out[parent->second].usage.id};
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].usage.in_use) continue;
    for (auto p = by_name.find(out[i].parent); p != by_name.end();
         p = by_name.find(out[p->second].parent)) {
      out[p->second].usage.in_use = true;
    }
  }

  // Cache mounts.
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        solver.cache_mounts().List());
  for (const std::string& id : ids) {
    auto info = solver.cache_mounts().Info(id);
    if (!info.ok()) continue;  // removed meanwhile
    GcRecord r;
    r.kind = GcKind::kCacheMount;
    r.name = id;
    r.removable = true;
    UsageRecord& u = r.usage;
    u.id = GcRecordId(r.kind, id);
    u.type = "exec.cachemount";
    u.description = "cached mount with id \"" + id + "\"";
    u.is_mutable = true;
    u.in_use = info->in_use;
    u.size = DiskBytes(info->dir, &seen, &u.shared);
    u.created_at_ns = info->created_unix_ns;
    u.last_used_at_ns = info->last_used_unix_ns;
    u.usage_count = info->usage_count;
    out.push_back(std::move(r));
  }

  // Synced local sources.
  if (auto names = ListDir(dirs.locals); names.ok()) {
    for (const std::string& name : *names) {
      const std::string base = dirs.locals + "/" + name;
      GcRecord r;
      r.kind = GcKind::kLocal;
      r.name = base;
      r.removable = true;
      UsageRecord& u = r.usage;
      u.id = GcRecordId(r.kind, base);
      u.type = "source.local";
      u.description = "local source " + name;
      u.is_mutable = true;
      u.in_use = solver.LocalBaseBusy(base);
      u.size = DiskBytes(base, &seen, &u.shared);
      if (auto it = usage.find(LocalUsageName(base)); it != usage.end()) {
        u.created_at_ns = it->second.created_unix_ms * 1'000'000;
        u.last_used_at_ns = it->second.last_used_unix_ms * 1'000'000;
        u.usage_count = it->second.count;
      }
      out.push_back(std::move(r));
    }
  }

  // Git mirrors.
  const std::string git = dirs.git + "/git";
  if (auto names = ListDir(git); names.ok()) {
    for (const std::string& name : *names) {
      const std::string mirror = git + "/" + name;
      struct stat st {};
      if (lstat(mirror.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      GcRecord r;
      r.kind = GcKind::kGit;
      r.name = mirror;
      r.removable = true;
      UsageRecord& u = r.usage;
      u.id = GcRecordId(r.kind, mirror);
      u.type = "source.git.checkout";
      std::string remote = GitRemote(mirror);
      u.description = "git mirror " + (remote.empty() ? name : remote);
      u.is_mutable = true;
      u.in_use = Locked(mirror + ".lock");
      u.size = DiskBytes(mirror, &seen, &u.shared);
      u.created_at_ns = Ns(st.st_ctim);
      u.last_used_at_ns = Ns(st.st_mtim);
      out.push_back(std::move(r));
    }
  }

  // HTTP downloads.
  const std::string http = dirs.http + "/http";
  if (auto names = ListDir(http + "/blobs"); names.ok()) {
    std::map<std::string, std::string> filenames;  // hex → filename
    if (auto urls = ListDir(http + "/urls"); urls.ok()) {
      for (const std::string& url : *urls) {
        auto record = LoadHttpCacheRecord(http + "/urls/" + url);
        if (record && !record->disposition_filename.empty()) {
          filenames[std::string(record->content.hex())] =
              record->disposition_filename;
        }
      }
    }
    for (const std::string& name : *names) {
      const std::string blob = http + "/blobs/" + name;
      struct stat st {};
      if (lstat(blob.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      GcRecord r;
      r.kind = GcKind::kHttp;
      r.name = blob;
      r.removable = true;
      UsageRecord& u = r.usage;
      u.id = GcRecordId(r.kind, blob);
      u.type = "regular";
      auto fname = filenames.find(name);
      u.description =
          "http download " + (fname != filenames.end() ? fname->second : name);
      u.size = DiskBytes(blob, &seen, &u.shared);
      u.created_at_ns = Ns(st.st_mtim);
      u.last_used_at_ns = std::max(Ns(st.st_atim), Ns(st.st_mtim));
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace kiln::solver::internal
