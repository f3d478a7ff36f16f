// ImportedHit (solver_impl.h): a vertex answered from an imported cache.
#include <mutex>
#include <shared_mutex>
#include <string>

#include "kiln/solver/layer_unpack.h"
#include "solver_impl.h"

namespace kiln::solver::internal {
namespace {

// One output's layer chain as committed snapshots named by chain ID; only
// the blobs above the highest chain snapshot already here are fetched.
Result<std::string> Materialize(SolverImpl& solver, const OpEnv& env,
                                const ImportedCache& cache,
                                const std::vector<LayerBlob>& chain,
                                SolveHolds& holds) {
  if (chain.empty()) return std::string();
  Snapshotter& snapshots = *solver.options().snapshots;
  ContentStore& content = solver.options().images->content();
  oci::Manifest manifest;
  oci::ImageConfig config;
  for (const LayerBlob& layer : chain) {
    manifest.layers.push_back(layer.descriptor);
    config.diff_ids.push_back(layer.diff_id);
  }
  const std::vector<Digest> ids = ChainIds(config.diff_ids);
  size_t have = 0;
  for (size_t i = ids.size(); i > 0; --i) {
    auto info = snapshots.Stat(ids[i - 1].str());
    if (info.ok() && info->kind == SnapshotKind::kCommitted) {
      have = i;
      break;
    }
  }
  for (size_t i = have; i < chain.size(); ++i) {
    const oci::Descriptor& blob = chain[i].descriptor;
    if (content.Has(blob.digest)) continue;
    if (env.status) env.status(blob.digest.str(), 0, blob.size, false);
    KILN_RETURN_IF_ERROR(cache.Fetch(blob, content));
    if (env.status) env.status(blob.digest.str(), blob.size, blob.size, true);
  }
  std::string top;
  {
    // Found (or made) and held in one section: GC cannot take it between.
    std::shared_lock<std::shared_mutex> section(solver.gc().lock());
    KILN_ASSIGN_OR_RETURN(top,
                          UnpackImage(snapshots, content, manifest, config));
    holds.Add(top);
  }
  // An image export of this result reuses the cache's blobs: only those
  // unpacked (and so checked against their diff_id) here, and nothing of
  // the cache's descriptor but what names the blob (its urls and
  // annotations must not reach the user's manifests).
  for (size_t i = have; i < ids.size(); ++i) {
    if (solver.index().GetLayer(ids[i].str()).has_value()) continue;
    const oci::Descriptor& d = chain[i].descriptor;
    LayerBlob blob{.descriptor = {.media_type = d.media_type,
                                  .digest = d.digest,
                                  .size = d.size},
                   .diff_id = chain[i].diff_id};
    solver.index().PutLayer(ids[i].str(), blob).IgnoreError();
  }
  return top;
}

}  // namespace

std::optional<std::vector<OutputRef>> ImportedHit(SolverImpl& solver,
                                                  const OpEnv& env,
                                                  const Digest& key,
                                                  SolveHolds& holds) {
  for (const ImportedCache* cache : env.request->cache_imports) {
    if (cache == nullptr) continue;
    auto chains = cache->Find(key);
    if (!chains.has_value()) continue;
    // A record is untrusted input: one that does not give every output of
    // the op is no answer (and must never reach the local index).
    if (chains->size() != static_cast<size_t>(env.vertex->num_outputs)) {
      if (env.log) {
        env.log(2, "cache " + cache->name() + " has a record of this step " +
                       "with " + std::to_string(chains->size()) +
                       " results for " +
                       std::to_string(env.vertex->num_outputs) +
                       " outputs; running it\n");
      }
      continue;
    }
    std::vector<OutputRef> outputs;
    std::vector<std::string> names;
    Status status;
    for (const std::vector<LayerBlob>& chain : *chains) {
      auto made = Materialize(solver, env, *cache, chain, holds);
      if (!made.ok()) {
        status = made.status();
        break;
      }
      outputs.push_back(OutputRef{.snapshot = *made, .dir = ""});
      names.push_back(*made);
    }
    if (status.ok()) {
      status = solver.index().Record(key, names, env.vertex->name);
    }
    if (status.ok()) {
      for (const std::string& name : names) {
        if (!name.empty()) solver.Describe(name, env.vertex->name);
      }
      return outputs;
    }
    if (env.log) {
      env.log(2, "cache " + cache->name() + " has this step but it could " +
                     "not be used (" + status.message() + "); running it\n");
    }
  }
  return std::nullopt;
}

}  // namespace kiln::solver::internal
