// The local and tar exporters over one or several platforms: BuildKit's
// platform-split (a directory per platform) or, for local, merged trees.
#include <time.h>

#include <algorithm>
#include <map>

#include "export_internal.h"
#include "fs_util.h"
#include "image_archive_io.h"
#include "layer_diff_scan.h"
#include "tar_writer.h"

namespace kiln::solver::internal {
namespace {

// The request's "dest" attribute, which the local and tar exporters require.
Result<std::string> RequiredDest(const ExportRequest& request) {
  auto it = request.attrs.find("dest");
  if (it == request.attrs.end() || it->second.empty())
    return InvalidArgumentError("dest is required");
  return it->second;
}

// platform-split: explicit, else true with several platforms (BuildKit
// splits a platform map, which its frontends return for several).
Result<bool> Split(const ExportRequest& request, size_t platforms) {
  return AttrBool(request.attrs, "platform-split", platforms > 1);
}

// Without a split, two platforms must not both hold a file at one path
// (BuildKit: "cannot overwrite … when split option is disabled").
Status CheckDisjoint(const ExportEnv& env,
                     std::span<const ExportSource> sources) {
  std::map<std::string, std::string> owner;  // path -> platform
  for (const ExportSource& source : sources) {
    std::string platform = llb::FormatPlatform(source.platform);
    KILN_ASSIGN_OR_RETURN(auto view, TreeView::Open(env, source.snapshot));
    KILN_ASSIGN_OR_RETURN(auto entries, ScanTree(view->path()));
    for (const LayerEntry& e : entries) {
      if (e.type == EntryType::kDir) continue;
      auto [it, added] = owner.emplace(e.path, platform);
      if (!added) {
        return InvalidArgumentError("cannot overwrite " + e.path + " from " +
                                    it->second + " with " + platform +
                                    " when platform-split=false");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string PlatformDirName(const llb::Platform& platform) {
  std::string name = llb::FormatPlatform(platform);
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

Status ExportLocal(const ExportRequest& request,
                   std::span<const ExportSource> sources,
                   const ExportEnv& env) {
  KILN_ASSIGN_OR_RETURN(std::string dest, RequiredDest(request));
  KILN_ASSIGN_OR_RETURN(bool split, Split(request, sources.size()));
  if (!split && sources.size() > 1) {
    KILN_RETURN_IF_ERROR(CheckDisjoint(env, sources));
  }
  for (const ExportSource& source : sources) {
    std::string target = dest;
    if (split) target.append("/").append(PlatformDirName(source.platform));
    KILN_RETURN_IF_ERROR(CopyResultTo(env, source.snapshot, target));
  }
  return Status::Ok();
}

Status ExportTar(const ExportRequest& request,
                 std::span<const ExportSource> sources, const ExportEnv& env) {
  KILN_ASSIGN_OR_RETURN(std::string dest, RequiredDest(request));
  KILN_ASSIGN_OR_RETURN(bool split, Split(request, sources.size()));
  if (!split && sources.size() > 1) {
    return InvalidArgumentError(
        "platform-split=false: the tar exporter writes several platforms "
        "only split (use type=local to merge them)");
  }
  // Each tree under its prefix ("" unsplit); data ids kept apart per tree.
  std::vector<std::unique_ptr<TreeView>> views;
  std::map<std::string, std::string> roots;  // prefix -> tree
  std::vector<LayerEntry> all;
  int64_t id_base = 0;
  for (const ExportSource& source : sources) {
    KILN_ASSIGN_OR_RETURN(auto view, TreeView::Open(env, source.snapshot));
    KILN_ASSIGN_OR_RETURN(auto entries, ScanTree(view->path()));
    std::string prefix = split ? PlatformDirName(source.platform) : "";
    roots[prefix] = view->path();
    views.push_back(std::move(view));
    if (!prefix.empty()) {
      LayerEntry dir;
      dir.path = prefix;
      dir.type = EntryType::kDir;
      dir.mode = 0755;
      dir.mtime = time(nullptr);
      all.push_back(std::move(dir));
    }
    int64_t next = id_base;
    for (LayerEntry& e : entries) {
      if (!prefix.empty()) {
        e.path = std::string(prefix).append("/").append(e.path);
        if (e.type == EntryType::kHardlink)
          e.link = std::string(prefix).append("/").append(e.link);
      }
      if (e.data_id >= 0) {
        e.data_id += id_base;
        next = std::max(next, e.data_id + 1);
      }
      all.push_back(std::move(e));
    }
    id_base = next;
  }
  FinalizeEntries(&all);
  DataSource data = [&roots](const LayerEntry& entry, const DataSink& sink) {
    size_t slash = entry.path.find('/');
    auto it = slash == std::string::npos
                  ? roots.end()
                  : roots.find(entry.path.substr(0, slash));
    if (it == roots.end()) return FileDataSource(roots[""])(entry, sink);
    LayerEntry inner = entry;
    inner.path = entry.path.substr(slash + 1);
    return FileDataSource(it->second)(inner, sink);
  };
  KILN_ASSIGN_OR_RETURN(auto out, ArchiveOutput::Create(dest));
  std::string label = dest == "-" ? "standard output" : dest;
  DataSink sink = [&](std::string_view chunk) {
    return WriteFull(out->fd(), chunk, label);
  };
  KILN_RETURN_IF_ERROR(
      WriteTarStream(all, data, oci::Compression::kNone, sink, nullptr));
  return out->Commit();
}

}  // namespace kiln::solver::internal
