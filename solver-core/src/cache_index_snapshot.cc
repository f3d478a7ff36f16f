// CacheIndex: facts about committed snapshots (content checksums, layer
// blobs).
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cache_index_impl.h"
#include "kiln/solver/cache_index.h"
#include "sqlite_db.h"

namespace kiln::solver {
namespace {

using internal::Query;
using internal::SqliteDb;

// Annotations and urls are stored as JSON text. dump() throws on invalid
// UTF-8, which callers report as InvalidArgument.
Result<std::string> ToJson(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(e.what());
  }
}

template <typename T>
std::optional<T> FromJson(std::string_view text) {
  try {
    return nlohmann::json::parse(text).get<T>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

Result<std::optional<Digest>> CacheIndex::GetChecksum(
    const std::string& snapshot, const std::string& spec) {
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  Query query(
      db, "SELECT checksum FROM checksums WHERE snapshot = ?1 AND spec = ?2",
      "reading a checksum of " + snapshot);
  query.Bind(1, snapshot).Bind(2, spec);
  KILN_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::optional<Digest>();
  Result<Digest> digest = Digest::Parse(query.Text(0));
  if (!digest.ok()) {
    return db.Error(StatusCode::kDataLoss, "checksum of " + snapshot + ": " +
                                               digest.status().message());
  }
  return std::optional<Digest>(*std::move(digest));
}

Status CacheIndex::PutChecksum(const std::string& snapshot,
                               const std::string& spec,
                               const Digest& checksum) {
  if (!checksum.valid()) {
    return InvalidArgumentError("cache index: invalid checksum for " +
                                snapshot);
  }
  std::lock_guard lock(impl_->mu);
  Query query(*impl_->db,
              "INSERT OR REPLACE INTO checksums (snapshot, spec, checksum) "
              "VALUES (?1, ?2, ?3)",
              "recording a checksum of " + snapshot);
  return query.Bind(1, snapshot).Bind(2, spec).Bind(3, checksum.str()).Run();
}

std::optional<LayerBlob> CacheIndex::GetLayer(const std::string& snapshot) {
  std::lock_guard lock(impl_->mu);
  Query query(*impl_->db,
              "SELECT media_type, digest, size, diff_id, annotations, urls, "
              "artifact_type FROM layers WHERE snapshot = ?1",
              "reading the layer of " + snapshot);
  query.Bind(1, snapshot);
  Result<bool> row = query.Step();
  if (!row.ok() || !*row) return std::nullopt;
  Result<Digest> digest = Digest::Parse(query.Text(1));
  Result<Digest> diff_id = Digest::Parse(query.Text(3));
  auto annotations =
      FromJson<std::map<std::string, std::string>>(query.Text(4));
  auto urls = FromJson<std::vector<std::string>>(query.Text(5));
  if (!digest.ok() || !diff_id.ok() || !annotations || !urls) {
    return std::nullopt;
  }
  LayerBlob layer;
  layer.descriptor.media_type = std::string(query.Text(0));
  layer.descriptor.digest = *std::move(digest);
  layer.descriptor.size = query.Int(2);
  layer.descriptor.annotations = *std::move(annotations);
  layer.descriptor.urls = *std::move(urls);
  layer.descriptor.artifact_type = std::string(query.Text(6));
  layer.diff_id = *std::move(diff_id);
  return layer;
}

Status CacheIndex::PutLayer(const std::string& snapshot,
                            const LayerBlob& layer) {
  const std::string what = "recording the layer of " + snapshot;
  const oci::Descriptor& desc = layer.descriptor;
  if (!desc.digest.valid() || !layer.diff_id.valid()) {
    return InvalidArgumentError("cache index: " + what +
                                ": invalid digest or diff_id");
  }
  Result<std::string> annotations = ToJson(desc.annotations);
  Result<std::string> urls = ToJson(desc.urls);
  if (!annotations.ok() || !urls.ok()) {
    const Status& bad = annotations.ok() ? urls.status() : annotations.status();
    return bad.WithContext("cache index: " + what);
  }
  std::lock_guard lock(impl_->mu);
  Query query(*impl_->db,
              "INSERT OR REPLACE INTO layers (snapshot, media_type, digest, "
              "size, diff_id, annotations, urls, artifact_type) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
              what);
  query.Bind(1, snapshot)
      .Bind(2, desc.media_type)
      .Bind(3, desc.digest.str())
      .Bind(4, desc.size)
      .Bind(5, layer.diff_id.str())
      .Bind(6, *annotations)
      .Bind(7, *urls)
      .Bind(8, desc.artifact_type);
  return query.Run();
}

}  // namespace kiln::solver
