// Source ops: images, local directories, git and http(s) (solver_internal.h).
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fs_util.h"
#include "kiln/solver/cache_key.h"
#include "kiln/solver/git_source.h"
#include "kiln/solver/http_source.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/local_source.h"
#include "solver_internal.h"

namespace kiln::solver::internal {
namespace {

std::string Attr(const pb::SourceOp& op, const char* key) {
  auto it = op.attrs().find(key);
  return it == op.attrs().end() ? std::string() : it->second;
}

Result<std::vector<std::string>> JsonList(const pb::SourceOp& op,
                                          const char* key) {
  std::string raw = Attr(op, key);
  std::vector<std::string> out;
  if (raw.empty()) return out;
  try {
    nlohmann::json j = nlohmann::json::parse(raw);
    for (const auto& v : j) out.push_back(v.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("attr ") + key +
                                ": not a JSON list of strings: " + e.what());
  }
  return out;
}

// The key of a source: its op (inputs-free) and what it resolved to.
Digest SourceKey(const Vertex& vertex, std::string_view kind,
                 std::string_view resolved) {
  Digest op_key = VertexCacheKey(vertex, {});
  return Digest::FromBytes(std::string(kCacheKeyVersion) + "\nsource " +
                           op_key.str() + "\n" + std::string(kind) + " " +
                           std::string(resolved) + "\n");
}

Result<SourceOutcome> LoadImage(SourceEnv& env, const pb::SourceOp& op) {
  ImageSourceOptions options;
  options.oci_layouts = env.op->request->oci_layouts;
  if (env.op->status) {
    const OpEnv* op = env.op;
    options.pull_progress = [op](const PullProgress& p) {
      op->status(p.digest.str(), p.done, p.total, p.complete);
    };
  }
  ImageSource images(env.images, env.registry, env.op->snapshots,
                     std::move(options));
  KILN_ASSIGN_OR_RETURN(SourceImage image, images.Load(op, env.op->platform));
  // Remember which blobs the layer snapshots came from, so that an export
  // reuses the base image's blobs instead of re-packing them.
  const std::vector<Digest>& diff_ids = image.image.config.diff_ids;
  const auto& layers = image.image.manifest.layers;
  if (diff_ids.size() == layers.size()) {
    std::vector<Digest> chain = ChainIds(diff_ids);
    for (size_t i = 0; i < chain.size(); ++i) {
      if (env.index->GetLayer(chain[i].str()).has_value()) continue;
      env.index->PutLayer(chain[i].str(), LayerBlob{layers[i], diff_ids[i]})
          .IgnoreError();  // a miss only costs a re-pack at export
    }
  }
  if (SourceRecorder* r = env.op->request->resolved_sources) {
    r->Record({op.identifier(), image.image.manifest_descriptor.digest.str(),
               env.op->platform});
  }
  SourceOutcome out;
  out.key = SourceKey(*env.op->vertex, "image",
                      image.image.manifest_descriptor.digest.str());
  out.output.snapshot = image.snapshot;
  out.image_config = image.image.config_bytes;
  return out;
}

Result<LocalSyncOptions> LocalSelection(const pb::SourceOp& op) {
  LocalSyncOptions options;
  KILN_ASSIGN_OR_RETURN(options.include_patterns,
                        JsonList(op, "local.includepattern"));
  if (options.include_patterns.empty()) {
    KILN_ASSIGN_OR_RETURN(options.include_patterns,
                          JsonList(op, "local.includepatterns"));
  }
  KILN_ASSIGN_OR_RETURN(options.exclude_patterns,
                        JsonList(op, "local.excludepatterns"));
  KILN_ASSIGN_OR_RETURN(options.follow_paths,
                        JsonList(op, "local.followpaths"));
  return options;
}

// The tree of a session's local: keyed by the provider's shared key and the
// selection only, never by the session id or local.unique, so another
// session of the same client reuses it and transfers only changes.
std::string SessionTreeId(const std::string& shared_key, const pb::SourceOp& op,
                          const LocalSyncOptions& options) {
  nlohmann::json j = {{"key", shared_key},
                      {"hint", Attr(op, "local.sharedkeyhint")},
                      {"include", options.include_patterns},
                      {"exclude", options.exclude_patterns},
                      {"follow", options.follow_paths}};
  std::string id = "s";
  id.append(
      Digest::FromBytes("session-local\n" + j.dump()).hex().substr(0, 31));
  return id;
}

// The vertex without the attrs that only name a session (local.session,
// local.unique): the content checksum stands for what it holds.
Vertex SessionNeutralVertex(const Vertex& vertex) {
  Vertex v = vertex;
  auto* attrs = v.op.mutable_source()->mutable_attrs();
  attrs->erase("local.session");
  attrs->erase("local.unique");
  return v;
}

Result<SourceOutcome> SyncLocalSource(SourceEnv& env, const pb::SourceOp& op) {
  std::string name = op.identifier().substr(std::string("local://").size());
  const SolveRequest& request = *env.op->request;
  auto it = request.locals.find(name);
  LocalProvider* provider = request.local_provider;
  if (it == request.locals.end() && provider == nullptr) {
    return NotFoundError("local source \"" + name +
                         "\" was not provided (--local " + name + "=DIR)");
  }
  KILN_ASSIGN_OR_RETURN(LocalSyncOptions options, LocalSelection(op));
  const bool from_session = it == request.locals.end();
  const std::string session = Attr(op, "local.session");
  // One synced copy per (directory, selection): a rebuild only copies what
  // changed since the last one.
  const std::string id =
      from_session
          ? SessionTreeId(provider->SharedKey(session, name), op, options)
          : std::string(
                Digest::FromBytes(it->second + "\n" +
                                  VertexCacheKey(*env.op->vertex, {}).str())
                    .hex()
                    .substr(0, 32));
  std::string base = env.op->dirs->locals + "/" + id;
  KILN_RETURN_IF_ERROR(MakeDirs(base, "local source state"));
  // This solve's own synced copy: no other solve changes it meanwhile.
  const std::string tree = env.AcquireTree(base);
  if (Attr(op, "local.differ") != "none") options.state_file = tree + ".state";
  LocalSyncStats stats;
  if (from_session) {
    KILN_ASSIGN_OR_RETURN(
        stats, provider->Sync(session, name, options, tree, env.op->stop));
  } else {
    KILN_ASSIGN_OR_RETURN(stats, SyncLocal(it->second, tree, options));
  }
  if (env.op->status) {
    env.op->status("transferring " + name,
                   static_cast<int64_t>(stats.bytes_copied), 0, true);
  }
  if (env.op->log) {
    env.op->log(2, "transferred " + std::to_string(stats.files_copied) +
                       " files (" + std::to_string(stats.bytes_copied) +
                       " bytes), " + std::to_string(stats.files_unchanged) +
                       " unchanged\n");
  }
  SourceOutcome out;
  out.output.dir = tree;
  ContentChecksummer* sums = env.checksums;
  if (from_session) {
    auto vertex =
        std::make_shared<const Vertex>(SessionNeutralVertex(*env.op->vertex));
    out.lazy_key = [sums, tree, vertex]() -> Result<Digest> {
      KILN_ASSIGN_OR_RETURN(Digest content, sums->Checksum(tree, "/"));
      return SourceKey(*vertex, "local", content.str());
    };
    return out;
  }
  const Vertex* vertex = env.op->vertex;
  out.lazy_key = [sums, tree, vertex]() -> Result<Digest> {
    KILN_ASSIGN_OR_RETURN(Digest content, sums->Checksum(tree, "/"));
    return SourceKey(*vertex, "local", content.str());
  };
  return out;
}

// A source whose content is cached by key in the index: the recorded
// snapshot when there is one, else `fill` into a new snapshot.
Result<SourceOutcome> CachedOrFill(
    SourceEnv& env, const Digest& key,
    const std::function<Status(const std::string& dir)>& fill) {
  SourceOutcome out;
  out.key = key;
  if (auto hit = env.Lookup(key); hit.has_value()) {
    out.output.snapshot = *hit;
    out.cached = true;
    return out;
  }
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<WorkSnapshot> work,
      WorkSnapshot::Prepare(*env.op->snapshots, "", env.op->dirs->mounts));
  KILN_ASSIGN_OR_RETURN(std::string path, work->Path());
  KILN_RETURN_IF_ERROR(fill(path));
  std::string name = OutputSnapshotName(key, 0);
  KILN_RETURN_IF_ERROR(work->Commit(name));
  KILN_RETURN_IF_ERROR(env.index->Record(key, {name}, env.op->vertex->name));
  out.output.snapshot = name;
  return out;
}

Result<SourceOutcome> FetchGitSource(SourceEnv& env, const pb::SourceOp& op) {
  KILN_ASSIGN_OR_RETURN(GitRef ref, ParseGitSource(op));
  GitSourceOptions options;
  options.cache_dir = env.op->dirs->git;
  options.secrets = env.op->request->secrets;
  options.ssh = env.op->request->ssh;
  KILN_ASSIGN_OR_RETURN(std::string commit,
                        ResolveGitCommit(ref, options, env.op->stop));
  if (SourceRecorder* r = env.op->request->resolved_sources) {
    r->Record({op.identifier(), "sha1:" + commit, {}});
  }
  Digest key = SourceKey(*env.op->vertex, "git", commit);
  return CachedOrFill(env, key, [&](const std::string& dir) {
    return CheckoutGit(ref, commit, dir, options, env.op->stop);
  });
}

Result<SourceOutcome> FetchHttpSource(SourceEnv& env, const pb::SourceOp& op) {
  HttpSourceOptions options;
  options.cache_dir = env.op->dirs->http;
  options.secrets = env.op->request->secrets;
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<WorkSnapshot> work,
      WorkSnapshot::Prepare(*env.op->snapshots, "", env.op->dirs->mounts));
  KILN_ASSIGN_OR_RETURN(std::string path, work->Path());
  KILN_ASSIGN_OR_RETURN(HttpFetch fetched,
                        FetchHttp(op, path, options, env.op->stop));
  if (SourceRecorder* r = env.op->request->resolved_sources) {
    r->Record({op.identifier(), fetched.content.str(), {}});
  }
  SourceOutcome out;
  out.key = SourceKey(*env.op->vertex, "http", fetched.content.str());
  if (auto hit = env.Lookup(out.key); hit.has_value()) {
    out.output.snapshot = *hit;
    out.cached = true;
    return out;  // the fresh download is discarded with `work`
  }
  std::string name = OutputSnapshotName(out.key, 0);
  KILN_RETURN_IF_ERROR(work->Commit(name));
  KILN_RETURN_IF_ERROR(
      env.index->Record(out.key, {name}, env.op->vertex->name));
  out.output.snapshot = name;
  return out;
}

}  // namespace

Result<SourceOutcome> RunSourceOp(SourceEnv& env) {
  const pb::SourceOp& op = env.op->vertex->op.source();
  const std::string& id = op.identifier();
  auto scheme = [&](std::string_view prefix) { return id.starts_with(prefix); };
  if (scheme("docker-image://") || scheme("oci-layout://")) {
    return LoadImage(env, op);
  }
  if (scheme("local://")) {
    if (SourceRecorder* r = env.op->request->resolved_sources) {
      r->Record({id, "", {}});
    }
    return SyncLocalSource(env, op);
  }
  if (scheme("git://")) return FetchGitSource(env, op);
  if (scheme("https://") || scheme("http://")) return FetchHttpSource(env, op);
  return InvalidArgumentError("unsupported source \"" + id + "\"");
}

}  // namespace kiln::solver::internal

namespace kiln::solver {

void SourceRecorder::Record(ResolvedSource source) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const ResolvedSource& s : sources_) {
    if (s == source) return;
  }
  sources_.push_back(std::move(source));
}

std::vector<ResolvedSource> SourceRecorder::Sources() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sources_;
}

}  // namespace kiln::solver
