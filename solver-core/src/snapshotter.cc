// SnapshotterBase: records, parent checks and persistence shared by the
// overlay and copy snapshotters.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "snapshot_base.h"

namespace kiln::solver::internal {
namespace {

constexpr size_t kMaxNameLength = 1024;

Status ValidateName(const std::string& name, std::string_view role) {
  if (name.empty())
    return InvalidArgumentError(std::string(role) + " name is empty");
  if (name.size() > kMaxNameLength) {
    return InvalidArgumentError(std::string(role) + " name is longer than " +
                                std::to_string(kMaxNameLength) + " bytes");
  }
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgumentError(std::string(role) + " name \"" + name +
                                  "\" has a character outside printable ASCII");
    }
  }
  return Status::Ok();
}

SnapshotInfo InfoOf(const SnapshotRecord& rec) {
  return SnapshotInfo{.name = rec.name, .parent = rec.parent, .kind = rec.kind};
}

}  // namespace

SnapshotterBase::SnapshotterBase(std::string root, UniqueFd lock,
                                 SnapshotMetadata metadata)
    : root_(std::move(root)),
      lock_(std::move(lock)),
      metadata_(std::move(metadata)) {}

std::string ShortLinkName(int64_t id) {
  constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[id % 36]);
    id /= 36;
  } while (id > 0);
  return out;
}

std::string ShortLinkTarget(int64_t id) {
  return "../snapshots/" + std::to_string(id) + "/fs";
}

std::string SnapshotterBase::SnapshotDir(int64_t id) const {
  return root_ + "/snapshots/" + std::to_string(id);
}

std::string SnapshotterBase::LinkPath(int64_t id) const {
  return root_ + "/" + kLinkDir + "/" + ShortLinkName(id);
}

Status SnapshotterBase::RemoveSnapshotFiles(int64_t id) const {
  std::string link = LinkPath(id);
  if (unlink(link.c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus("removing " + link, errno);
  return RemoveTree(SnapshotDir(id), true);
}

Status SnapshotterBase::SaveLocked() {
  return SaveSnapshotMetadata(root_ + "/metadata.json", metadata_);
}

Status SnapshotterBase::CheckNewLocked(const std::string& key,
                                       const std::string& parent) const {
  if (metadata_.snapshots.contains(key)) {
    return AlreadyExistsError("snapshot \"" + key + "\" already exists");
  }
  if (parent.empty()) return Status::Ok();
  auto it = metadata_.snapshots.find(parent);
  if (it == metadata_.snapshots.end() || it->second.pending) {
    return NotFoundError("parent snapshot \"" + parent + "\" not found");
  }
  if (it->second.kind != SnapshotKind::kCommitted) {
    return FailedPreconditionError("parent snapshot \"" + parent +
                                   "\" is not committed");
  }
  return Status::Ok();
}

std::vector<int64_t> SnapshotterBase::ChainLocked(
    const std::string& from) const {
  std::vector<int64_t> chain;
  for (std::string name = from; !name.empty();) {
    const SnapshotRecord& rec = metadata_.snapshots.at(name);
    chain.push_back(rec.id);
    name = rec.parent;
  }
  return chain;
}

Result<std::string> SnapshotterBase::Create(const std::string& key,
                                            const std::string& parent,
                                            SnapshotKind kind) {
  KILN_RETURN_IF_ERROR(ValidateName(key, "snapshot"));
  if (!parent.empty())
    KILN_RETURN_IF_ERROR(ValidateName(parent, "parent snapshot"));
  int64_t id = 0;
  std::string dir;
  std::string parent_fs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    KILN_RETURN_IF_ERROR(CheckNewLocked(key, parent));
    SnapshotRecord rec{
        .name = key, .id = 0, .parent = parent, .kind = kind, .pending = true};
    if (kind == SnapshotKind::kView) {
      rec.pending = false;
      metadata_.snapshots.emplace(key, rec);
      Status saved = SaveLocked();
      if (!saved.ok()) metadata_.snapshots.erase(key);
      KILN_RETURN_IF_ERROR(saved);
      return std::string();
    }
    rec.id = metadata_.next_id++;
    id = rec.id;
    dir = SnapshotDir(rec.id);
    if (!parent.empty())
      parent_fs = FsDir(SnapshotDir(metadata_.snapshots.at(parent).id));
    metadata_.snapshots.emplace(key, rec);
  }
  // Filled outside the lock: a copy of a large parent takes a while. The
  // pending record reserves the key and keeps the parent from removal.
  Status filled = mkdir(dir.c_str(), 0700) == 0
                      ? Status::Ok()
                      : ErrnoStatus("creating " + dir, errno);
  if (filled.ok()) filled = FillNew(id, parent.empty() ? nullptr : &parent_fs);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (filled.ok()) {
      metadata_.snapshots.at(key).pending = false;
      filled = SaveLocked();
    }
    if (!filled.ok()) metadata_.snapshots.erase(key);
  }
  if (!filled.ok()) {
    RemoveSnapshotFiles(id)
        .IgnoreError();  // else an orphan, removed at next open
    return filled.WithContext("preparing snapshot \"" + key + "\"");
  }
  return FsDir(dir);
}

Result<std::string> SnapshotterBase::Prepare(const std::string& key,
                                             const std::string& parent) {
  return Create(key, parent, SnapshotKind::kActive);
}

Result<std::vector<Mount>> SnapshotterBase::View(const std::string& key,
                                                 const std::string& parent) {
  if (parent.empty())
    return InvalidArgumentError("a view needs a committed parent snapshot");
  KILN_RETURN_IF_ERROR(Create(key, parent, SnapshotKind::kView));
  return Mounts(key);
}

Result<std::vector<Mount>> SnapshotterBase::Mounts(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = metadata_.snapshots.find(name);
  if (it == metadata_.snapshots.end() || it->second.pending) {
    return NotFoundError("snapshot \"" + name + "\" not found");
  }
  const SnapshotRecord& rec = it->second;
  if (rec.kind == SnapshotKind::kView) {
    return MountsFor(ChainLocked(rec.parent), false);
  }
  return MountsFor(ChainLocked(name), rec.kind == SnapshotKind::kActive);
}

Status SnapshotterBase::Commit(const std::string& name,
                               const std::string& key) {
  KILN_RETURN_IF_ERROR(ValidateName(name, "snapshot"));
  auto check = [&]() -> Result<int64_t> {
    auto it = metadata_.snapshots.find(key);
    if (it == metadata_.snapshots.end() || it->second.pending) {
      return NotFoundError("snapshot \"" + key + "\" not found");
    }
    if (it->second.kind != SnapshotKind::kActive) {
      return FailedPreconditionError("snapshot \"" + key + "\" is not active");
    }
    if (metadata_.snapshots.contains(name)) {
      return AlreadyExistsError("snapshot \"" + name + "\" already exists");
    }
    return it->second.id;
  };
  int64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    KILN_ASSIGN_OR_RETURN(id, check());
  }
  // A committed snapshot must be whole on disk before its record says so.
  std::string fs = FsDir(SnapshotDir(id));
  KILN_ASSIGN_OR_RETURN(UniqueFd fd, OpenDir(fs));
  if (syncfs(fd.get()) != 0) return ErrnoStatus("syncing " + fs, errno);

  std::lock_guard<std::mutex> lock(mu_);
  KILN_ASSIGN_OR_RETURN(int64_t id_now, check());
  if (id_now != id) {
    return Status(StatusCode::kAborted,
                  "snapshot \"" + key + "\" changed while committing");
  }
  SnapshotRecord rec = metadata_.snapshots.at(key);
  metadata_.snapshots.erase(key);
  rec.name = name;
  rec.kind = SnapshotKind::kCommitted;
  metadata_.snapshots.emplace(name, rec);
  Status saved = SaveLocked();
  if (!saved.ok()) {
    metadata_.snapshots.erase(name);
    rec.name = key;
    rec.kind = SnapshotKind::kActive;
    metadata_.snapshots.emplace(key, rec);
  }
  return saved;
}

Result<SnapshotInfo> SnapshotterBase::Stat(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = metadata_.snapshots.find(name);
  if (it == metadata_.snapshots.end() || it->second.pending) {
    return NotFoundError("snapshot \"" + name + "\" not found");
  }
  return InfoOf(it->second);
}

Result<std::string> SnapshotterBase::OwnDir(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = metadata_.snapshots.find(name);
  if (it == metadata_.snapshots.end() || it->second.pending) {
    return NotFoundError("snapshot \"" + name + "\" not found");
  }
  if (it->second.id == 0) {
    return FailedPreconditionError("snapshot \"" + name +
                                   "\" is a view and owns no tree");
  }
  return FsDir(SnapshotDir(it->second.id));
}

Status SnapshotterBase::Remove(const std::string& name) {
  int64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = metadata_.snapshots.find(name);
    if (it == metadata_.snapshots.end() || it->second.pending) {
      return NotFoundError("snapshot \"" + name + "\" not found");
    }
    int children = 0;
    for (const auto& [other, rec] : metadata_.snapshots)
      children += rec.parent == name ? 1 : 0;
    if (children > 0) {
      return FailedPreconditionError("snapshot \"" + name +
                                     "\" is the parent of " +
                                     std::to_string(children) + " snapshot(s)");
    }
    SnapshotRecord rec = it->second;
    id = rec.id;
    metadata_.snapshots.erase(it);
    Status saved = SaveLocked();
    if (!saved.ok()) {
      metadata_.snapshots.emplace(name, rec);
      return saved;
    }
  }
  if (id == 0) return Status::Ok();
  return RemoveSnapshotFiles(id).WithContext("removing snapshot \"" + name +
                                             "\"");
}

Result<std::vector<SnapshotInfo>> SnapshotterBase::List() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SnapshotInfo> out;
  for (const auto& [name, rec] : metadata_.snapshots) {
    if (!rec.pending) out.push_back(InfoOf(rec));
  }
  return out;
}

}  // namespace kiln::solver::internal
