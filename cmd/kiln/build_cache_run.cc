// Cache import and export around a build (build_cache_run.h).
#include "build_cache_run.h"

namespace kiln::cli {
namespace {

// A vertex of the cache step `name`, started now; Done() completes it.
class CacheVertex {
 public:
  CacheVertex(solver::ProgressSink* sink, const std::string& name)
      : sink_(sink) {
    p_.digest = Digest::FromBytes("kiln cache step\n" + name);
    p_.name = name;
    p_.started = solver::ProgressClock::now();
    if (sink_ != nullptr) sink_->OnVertex(p_);
  }
  // Completes the vertex: failed with `error`, or done with `warning` in
  // its log (a cache that could not be read fails no build).
  void Done(const std::string& error, const std::string& warning = "") {
    p_.completed = solver::ProgressClock::now();
    p_.error = error;
    if (sink_ == nullptr) return;
    if (!warning.empty()) {
      sink_->OnLog(solver::VertexLogEntry{p_.digest, 2,
                                          "warning: " + warning + "\n",
                                          solver::ProgressClock::now()});
    }
    sink_->OnVertex(p_);
  }

 private:
  solver::ProgressSink* sink_;
  solver::VertexProgress p_;
};

}  // namespace

Result<CacheSpecs> ParseCacheSpecs(const std::vector<std::string>& exports,
                                   const std::vector<std::string>& imports) {
  CacheSpecs out;
  for (const std::string& v : exports) {
    KILN_ASSIGN_OR_RETURN(solver::CacheSpec spec, solver::ParseCacheSpec(v));
    KILN_RETURN_IF_ERROR(solver::ValidateCacheExport(spec));
    out.exports.push_back(std::move(spec));
  }
  for (const std::string& v : imports) {
    KILN_ASSIGN_OR_RETURN(solver::CacheSpec spec, solver::ParseCacheSpec(v));
    KILN_RETURN_IF_ERROR(solver::ValidateCacheImport(spec));
    out.imports.push_back(std::move(spec));
  }
  return out;
}

std::vector<const solver::ImportedCache*> LoadedCaches::Pointers() const {
  std::vector<const solver::ImportedCache*> out;
  for (const auto& c : caches) out.push_back(c.get());
  return out;
}

LoadedCaches LoadCacheImports(Root& root,
                              const std::vector<solver::CacheSpec>& imports,
                              solver::ProgressSink* progress) {
  LoadedCaches out;
  for (const solver::CacheSpec& spec : imports) {
    const std::string name = solver::CacheSpecName(spec);
    CacheVertex vertex(progress, "importing cache manifest from " + name);
    auto content = root.Content();
    auto registry = root.Registry();
    Status status = !content.ok() ? content.status() : registry.status();
    if (status.ok()) {
      solver::CacheServices services{.snapshots = nullptr,
                                     .content = *content,
                                     .layers = nullptr,
                                     .registry = *registry};
      auto loaded = solver::ImportedCache::Load(spec, services);
      status = loaded.status();
      if (loaded.ok()) out.caches.push_back(*std::move(loaded));
    }
    if (!status.ok()) {
      out.warnings.push_back(status.message() +
                             " (building without this cache)");
    }
    vertex.Done("", status.ok() ? "" : status.message());
  }
  return out;
}

Result<const solver::ExportRequest*> CheckInlineCache(
    const std::vector<solver::CacheSpec>& exports,
    const std::vector<solver::ExportRequest>& outputs) {
  bool inline_cache = false;
  for (const solver::CacheSpec& spec : exports) {
    inline_cache |= spec.type == "inline";
  }
  if (!inline_cache) return nullptr;
  const solver::ExportRequest* image = nullptr;
  for (const solver::ExportRequest& o : outputs) {
    if (o.type == "image" || o.type == "oci" || o.type == "docker") {
      image = &o;
      break;
    }
  }
  if (image == nullptr) {
    return InvalidArgumentError(
        "--export-cache type=inline needs an image output (-t NAME, or -o "
        "type=image|oci|docker)");
  }
  auto rewrite = image->attrs.find("rewrite-timestamp");
  if (rewrite != image->attrs.end() && rewrite->second == "true") {
    return InvalidArgumentError(
        "--export-cache type=inline cannot be combined with "
        "rewrite-timestamp=true (the image's layers would not be the "
        "cache's)");
  }
  return image;
}

Status PrepareInlineCache(Root& root,
                          const std::vector<solver::CacheSpec>& exports,
                          const solver::CacheRecorder& recorded,
                          const std::vector<solver::ExportRequest>& outputs,
                          BuildOutput& output) {
  KILN_ASSIGN_OR_RETURN(const solver::ExportRequest* image,
                        CheckInlineCache(exports, outputs));
  if (image == nullptr) return Status::Ok();
  solver::oci::Compression compression = solver::oci::Compression::kGzip;
  auto c = image->attrs.find("compression");
  if (c != image->attrs.end() && c->second == "zstd") {
    compression = solver::oci::Compression::kZstd;
  }
  if (c != image->attrs.end() && c->second == "uncompressed") {
    compression = solver::oci::Compression::kNone;
  }
  KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root.Solver());
  KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, root.Content());
  KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, root.Snapshots());
  solver::CacheServices services{.snapshots = snapshots,
                                 .content = content,
                                 .layers = &solver->layers(),
                                 .registry = nullptr};
  for (PlatformOutput& p : output.platforms) {
    std::shared_ptr<void> hold;
    if (!p.snapshot.empty()) {
      KILN_ASSIGN_OR_RETURN(hold, solver->Hold(p.snapshot));
    }
    KILN_ASSIGN_OR_RETURN(
        p.inline_cache,
        solver::InlineCacheConfig(recorded, p.snapshot, services, compression));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ExportCaches(
    Root& root, const std::vector<solver::CacheSpec>& exports,
    const solver::CacheRecorder& recorded, const BuildOutput& output,
    solver::ProgressSink* progress, std::vector<std::string>* warnings) {
  std::vector<std::string> digests;
  if (exports.empty()) return digests;
  KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root.Solver());
  KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, root.Content());
  KILN_ASSIGN_OR_RETURN(solver::RegistryClient * registry, root.Registry());
  KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, root.Snapshots());
  std::vector<std::shared_ptr<void>> holds;
  std::vector<std::string> results;
  for (const PlatformOutput& p : output.platforms) {
    results.push_back(p.snapshot);
    if (p.snapshot.empty()) continue;
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<void> hold, solver->Hold(p.snapshot));
    holds.push_back(std::move(hold));
  }
  // mode=max exports intermediate results too: GC must not take them while
  // their layers are read (one already gone fails that export, clearly).
  for (const solver::CacheRecorder::Entry& e : recorded.Entries()) {
    for (const std::string& snapshot : e.outputs) {
      if (snapshot.empty()) continue;
      if (auto hold = solver->Hold(snapshot); hold.ok()) {
        holds.push_back(*std::move(hold));
      }
    }
  }
  solver::CacheServices services{.snapshots = snapshots,
                                 .content = content,
                                 .layers = &solver->layers(),
                                 .registry = registry};
  for (const solver::CacheSpec& spec : exports) {
    if (spec.type == "inline") continue;  // in the image (PrepareInlineCache)
    const std::string name = solver::CacheSpecName(spec);
    CacheVertex vertex(progress, "exporting cache to " + name);
    auto desc = solver::ExportCache(spec, recorded, results, services);
    if (desc.ok()) {
      vertex.Done("");
      digests.push_back(desc->digest.str());
      continue;
    }
    auto ignore = spec.attrs.find("ignore-error");
    if (ignore != spec.attrs.end() && ignore->second == "true") {
      vertex.Done("", desc.status().message());
      if (warnings != nullptr) warnings->push_back(desc.status().message());
      digests.emplace_back();
      continue;
    }
    vertex.Done(desc.status().message());
    return desc.status();
  }
  return digests;
}

}  // namespace kiln::cli
