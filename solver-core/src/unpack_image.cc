// UnpackImage and ChainIds (declared in kiln/solver/layer_unpack.h): image
// layers into a chain of committed snapshots, as containerd's unpacker.
#include <string>
#include <vector>

#include "fs_util.h"
#include "kiln/solver/layer_unpack.h"

namespace kiln::solver {
namespace {

struct ApplyTarget {
  std::string dir;
  ApplyOptions options;
};

// Where and how to apply a layer, from the mounts of its active snapshot
// (as containerd's applier reads them): an overlay mount means "write the
// diff into the upper dir", a bind mount "change the full tree in place".
Result<ApplyTarget> TargetFromMounts(const std::vector<Mount>& mounts) {
  if (mounts.size() != 1) {
    return InternalError("unexpected mounts for an active snapshot: " +
                         std::to_string(mounts.size()));
  }
  const Mount& m = mounts[0];
  ApplyTarget target;
  if (m.type == "bind") {
    target.dir = m.source;
    target.options.mode = LayerApplyMode::kApplyInPlace;
    return target;
  }
  if (m.type != "overlay")
    return InternalError("unexpected mount type \"" + m.type + "\"");
  target.options.mode = LayerApplyMode::kOverlay;
  for (const std::string& opt : m.options) {
    if (opt.starts_with("upperdir=")) target.dir = opt.substr(9);
    if (!opt.starts_with("lowerdir=")) continue;
    std::string lowers = opt.substr(9);
    size_t start = 0;
    while (start <= lowers.size()) {
      size_t end = lowers.find(':', start);
      if (end == std::string::npos) end = lowers.size();
      if (end > start)
        target.options.lower_dirs.push_back(lowers.substr(start, end - start));
      start = end + 1;
    }
  }
  if (target.dir.empty())
    return InternalError("overlay mount of an active snapshot has no upperdir");
  return target;
}

// Applies one layer into a fresh active snapshot on `parent` and commits it
// as `chain_id`. Removes the active snapshot on failure.
Status UnpackLayer(Snapshotter& snapshotter, ContentStore& content,
                   const oci::Descriptor& layer, const Digest& diff_id,
                   const std::string& chain_id, const std::string& parent) {
  KILN_ASSIGN_OR_RETURN(oci::Compression compression,
                        oci::LayerCompression(layer.media_type));
  if (!content.Has(layer.digest)) {
    return NotFoundError("blob " + layer.digest.str() +
                         " is not in the content store");
  }
  std::string key = "extract-" + internal::RandomNonce() + "-" + chain_id;
  KILN_RETURN_IF_ERROR(snapshotter.Prepare(key, parent));
  auto applied = [&]() -> Status {
    KILN_ASSIGN_OR_RETURN(std::vector<Mount> mounts, snapshotter.Mounts(key));
    KILN_ASSIGN_OR_RETURN(ApplyTarget target, TargetFromMounts(mounts));
    KILN_ASSIGN_OR_RETURN(UnpackStats stats,
                          ApplyLayer(content.BlobPath(layer.digest),
                                     compression, target.dir, target.options));
    if (stats.diff_id != diff_id) {
      return DataLossError("uncompressed content has digest " +
                           stats.diff_id.str() +
                           ", the image config's diff_id is " + diff_id.str());
    }
    return Status::Ok();
  }();
  if (!applied.ok()) {
    snapshotter.Remove(key).IgnoreError();
    return applied;
  }
  Status committed = snapshotter.Commit(chain_id, key);
  if (committed.code() == StatusCode::kAlreadyExists) {
    // Another unpack of the same chain committed first: keep theirs.
    snapshotter.Remove(key).IgnoreError();
    KILN_ASSIGN_OR_RETURN(SnapshotInfo info, snapshotter.Stat(chain_id));
    if (info.kind != SnapshotKind::kCommitted) {
      return FailedPreconditionError("snapshot \"" + chain_id +
                                     "\" exists but is not committed");
    }
    return Status::Ok();
  }
  if (!committed.ok()) snapshotter.Remove(key).IgnoreError();
  return committed;
}

}  // namespace

std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const Digest& diff_id : diff_ids) {
    out.push_back(out.empty() ? diff_id
                              : Digest::FromBytes(out.back().str() + " " +
                                                  diff_id.str()));
  }
  return out;
}

Result<std::string> UnpackImage(Snapshotter& snapshotter, ContentStore& content,
                                const oci::Manifest& manifest,
                                const oci::ImageConfig& config) {
  if (manifest.layers.size() != config.diff_ids.size()) {
    return InvalidArgumentError("unpacking image: the manifest has " +
                                std::to_string(manifest.layers.size()) +
                                " layers but the config lists " +
                                std::to_string(config.diff_ids.size()) +
                                " diff_ids");
  }
  std::vector<Digest> chain = ChainIds(config.diff_ids);
  std::string parent;
  for (size_t i = 0; i < chain.size(); ++i) {
    const std::string chain_id = chain[i].str();
    std::string context = "unpacking layer " + std::to_string(i) + " (" +
                          manifest.layers[i].digest.str() + ")";
    auto info = snapshotter.Stat(chain_id);
    if (info.ok() && info->kind != SnapshotKind::kCommitted) {
      return FailedPreconditionError(context + ": snapshot \"" + chain_id +
                                     "\" exists but is not committed");
    }
    if (!info.ok() && info.status().code() != StatusCode::kNotFound) {
      return info.status().WithContext(context);
    }
    if (!info.ok()) {
      KILN_RETURN_IF_ERROR(UnpackLayer(snapshotter, content, manifest.layers[i],
                                       config.diff_ids[i], chain_id, parent)
                               .WithContext(context));
    }
    parent = chain_id;
  }
  return parent;
}

}  // namespace kiln::solver
