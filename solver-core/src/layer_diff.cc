// CreateLayer: the overlay upper-dir walk and the copy snapshotter's
// double walk (see layer_diff.h), both producing tar_writer.h entries.
#include "kiln/solver/layer_diff.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "fs_util.h"
#include "layer_diff_scan.h"
#include "tar_writer.h"

namespace kiln::solver {
namespace {

using internal::EntryMaker;
using internal::FileMeta;
using internal::LayerEntry;
using internal::ScanPath;
using internal::SortedNames;
using internal::WhiteoutEntry;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

std::string Join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

std::string WhiteoutPath(const std::string& rel, const std::string& name) {
  return Join(rel, std::string(kWhiteoutPrefix) + name);
}

bool IsOpaque(const std::string& path) {
  char value[2];
  ssize_t n =
      lgetxattr(path.c_str(), "trusted.overlay.opaque", value, sizeof(value));
  return n == 1 && value[0] == 'y';
}

// The overlay upper dir `upper` as layer entries.
Status WalkUpper(const std::string& upper, const std::string& rel,
                 EntryMaker& maker, std::vector<LayerEntry>* out) {
  KILN_ASSIGN_OR_RETURN(auto names,
                        SortedNames(rel.empty() ? upper : upper + "/" + rel));
  for (const auto& name : names) {
    std::string path = Join(rel, name);
    std::string full = upper + "/" + path;
    KILN_ASSIGN_OR_RETURN(FileMeta meta, ScanPath(full));
    if (S_ISCHR(meta.st.st_mode) && meta.st.st_rdev == 0) {
      out->push_back(WhiteoutEntry(WhiteoutPath(rel, name)));
      continue;
    }
    auto entry = maker.Make(path, meta);
    if (!entry) continue;
    out->push_back(std::move(*entry));
    if (!S_ISDIR(meta.st.st_mode)) continue;
    if (IsOpaque(full))
      out->push_back(WhiteoutEntry(Join(path, std::string(kOpaqueMarker))));
    KILN_RETURN_IF_ERROR(WalkUpper(upper, path, maker, out));
  }
  return Status::Ok();
}

// Everything under `root`/`rel` (entries for added subtrees).
Status AddSubtree(const std::string& root, const std::string& rel,
                  EntryMaker& maker, std::vector<LayerEntry>* out) {
  KILN_ASSIGN_OR_RETURN(auto names, SortedNames(root + "/" + rel));
  for (const auto& name : names) {
    std::string path = Join(rel, name);
    KILN_ASSIGN_OR_RETURN(FileMeta meta, ScanPath(root + "/" + path));
    auto entry = maker.Make(path, meta);
    if (!entry) continue;
    out->push_back(std::move(*entry));
    if (S_ISDIR(meta.st.st_mode))
      KILN_RETURN_IF_ERROR(AddSubtree(root, path, maker, out));
  }
  return Status::Ok();
}

// The double walk: `rel` is a directory in both trees.
Status DiffTrees(const std::string& child, const std::string& parent,
                 const std::string& rel, EntryMaker& maker,
                 std::vector<LayerEntry>* out) {
  std::string cdir = rel.empty() ? child : child + "/" + rel;
  std::string pdir = rel.empty() ? parent : parent + "/" + rel;
  KILN_ASSIGN_OR_RETURN(auto cnames, SortedNames(cdir));
  KILN_ASSIGN_OR_RETURN(auto pnames, SortedNames(pdir));
  size_t i = 0;
  size_t j = 0;
  while (i < cnames.size() || j < pnames.size()) {
    if (i == cnames.size() || (j < pnames.size() && pnames[j] < cnames[i])) {
      out->push_back(WhiteoutEntry(WhiteoutPath(rel, pnames[j++])));
      continue;
    }
    const std::string& name = cnames[i++];
    bool in_parent = j < pnames.size() && pnames[j] == name;
    if (in_parent) ++j;
    std::string path = Join(rel, name);
    std::string cpath = child + "/" + path;
    KILN_ASSIGN_OR_RETURN(FileMeta cmeta, ScanPath(cpath));
    bool both_dirs = false;
    if (in_parent) {
      std::string ppath = parent + "/" + path;
      KILN_ASSIGN_OR_RETURN(FileMeta pmeta, ScanPath(ppath));
      both_dirs = S_ISDIR(cmeta.st.st_mode) && S_ISDIR(pmeta.st.st_mode);
      KILN_ASSIGN_OR_RETURN(bool same,
                            internal::SameFile(cmeta, cpath, pmeta, ppath));
      if (same && !both_dirs) continue;
      if (!same) {
        auto entry = maker.Make(path, cmeta);
        if (entry) out->push_back(std::move(*entry));
      }
    } else {
      auto entry = maker.Make(path, cmeta);
      if (entry) out->push_back(std::move(*entry));
    }
    if (!S_ISDIR(cmeta.st.st_mode)) continue;
    if (both_dirs) {
      KILN_RETURN_IF_ERROR(DiffTrees(child, parent, path, maker, out));
    } else {
      KILN_RETURN_IF_ERROR(AddSubtree(child, path, maker, out));
    }
  }
  return Status::Ok();
}

// Adds the directory entries of `root` that are ancestors of an entry but
// not entries themselves (containerd's changeWriter includes parents).
Status IncludeParents(const std::string& root, EntryMaker& maker,
                      std::vector<LayerEntry>* entries) {
  std::set<std::string> have;
  for (const auto& e : *entries) have.insert(e.path);
  std::vector<LayerEntry> parents;
  for (const auto& e : *entries) {
    for (size_t slash = e.path.find('/'); slash != std::string::npos;
         slash = e.path.find('/', slash + 1)) {
      std::string dir = e.path.substr(0, slash);
      if (!have.insert(dir).second) continue;
      KILN_ASSIGN_OR_RETURN(FileMeta meta, ScanPath(root + "/" + dir));
      auto entry = maker.Make(dir, meta);
      if (entry) parents.push_back(std::move(*entry));
    }
  }
  for (auto& p : parents) entries->push_back(std::move(p));
  return Status::Ok();
}

}  // namespace

std::string_view LayerMediaType(oci::Compression compression) {
  switch (compression) {
    case oci::Compression::kNone:
      return oci::kMediaTypeLayer;
    case oci::Compression::kZstd:
      return oci::kMediaTypeLayerZstd;
    case oci::Compression::kGzip:
      break;
  }
  return oci::kMediaTypeLayerGzip;
}

const Digest& EmptyLayerDiffId() {
  static const Digest kEmpty = Digest::FromBytes(std::string(1024, '\0'));
  return kEmpty;
}

Result<std::vector<std::string>> SnapshotChain(Snapshotter& snapshots,
                                               const std::string& top) {
  std::vector<std::string> chain;
  for (std::string name = top; !name.empty();) {
    KILN_ASSIGN_OR_RETURN(SnapshotInfo info, snapshots.Stat(name));
    chain.push_back(name);
    name = info.parent;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

Result<LayerBlob> CreateLayer(Snapshotter& snapshots,
                              const std::string& snapshot,
                              ContentStore& content,
                              const LayerOptions& options) {
  std::string what = "creating layer of snapshot \"" + snapshot + "\"";
  auto info = snapshots.Stat(snapshot);
  if (!info.ok()) return info.status().WithContext(what);
  if (info->kind != SnapshotKind::kCommitted) {
    return FailedPreconditionError(what + ": snapshot is not committed");
  }
  auto own = snapshots.OwnDir(snapshot);
  if (!own.ok()) return own.status().WithContext(what);

  std::vector<LayerEntry> entries;
  EntryMaker maker;
  Status walked;
  if (snapshots.kind() == SnapshotterKind::kOverlay) {
    walked = WalkUpper(*own, "", maker, &entries);
  } else if (info->parent.empty()) {
    walked = AddSubtree(*own, "", maker, &entries);
  } else {
    auto parent = snapshots.OwnDir(info->parent);
    if (!parent.ok()) return parent.status().WithContext(what);
    walked = DiffTrees(*own, *parent, "", maker, &entries);
    if (walked.ok()) walked = IncludeParents(*own, maker, &entries);
  }
  if (!walked.ok()) return walked.WithContext(what);
  if (options.rewrite_timestamp >= 0) {
    for (auto& e : entries)
      e.mtime = std::min(e.mtime, options.rewrite_timestamp);
  }
  internal::FinalizeEntries(&entries);

  auto blob = internal::WriteLayer(
      content, entries, internal::FileDataSource(*own), options.compression);
  if (!blob.ok()) return blob.status().WithContext(what);
  LayerBlob out;
  out.descriptor.media_type = std::string(LayerMediaType(options.compression));
  out.descriptor.digest = blob->digest;
  out.descriptor.size = blob->size;
  out.diff_id = blob->diff_id;
  return out;
}

}  // namespace kiln::solver
