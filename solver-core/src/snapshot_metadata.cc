#include "snapshot_metadata.h"

#include <nlohmann/json.hpp>

#include "fs_util.h"

namespace kiln::solver::internal {
namespace {

using nlohmann::json;

constexpr int kVersion = 1;

std::string_view KindName(SnapshotKind kind) {
  switch (kind) {
    case SnapshotKind::kActive:
      return "active";
    case SnapshotKind::kCommitted:
      return "committed";
    case SnapshotKind::kView:
      return "view";
  }
  return "active";
}

std::optional<SnapshotKind> ParseKind(const std::string& name) {
  if (name == "active") return SnapshotKind::kActive;
  if (name == "committed") return SnapshotKind::kCommitted;
  if (name == "view") return SnapshotKind::kView;
  return std::nullopt;
}

Result<SnapshotMetadata> FromJson(const json& doc) {
  if (doc.at("version").get<int>() != kVersion) {
    return DataLossError("unsupported version " + doc.at("version").dump());
  }
  SnapshotMetadata meta;
  std::string kind = doc.at("kind").get<std::string>();
  if (kind == "overlay") {
    meta.kind = SnapshotterKind::kOverlay;
  } else if (kind == "copy") {
    meta.kind = SnapshotterKind::kCopy;
  } else {
    return DataLossError("unknown snapshotter kind \"" + kind + "\"");
  }
  meta.next_id = doc.at("next_id").get<int64_t>();
  for (const json& item : doc.at("snapshots")) {
    SnapshotRecord rec;
    rec.name = item.at("name").get<std::string>();
    rec.id = item.at("id").get<int64_t>();
    rec.parent = item.at("parent").get<std::string>();
    auto k = ParseKind(item.at("kind").get<std::string>());
    if (!k) return DataLossError("snapshot \"" + rec.name + "\": unknown kind");
    rec.kind = *k;
    if (rec.id < 0 || rec.id >= meta.next_id ||
        (rec.id == 0) != (rec.kind == SnapshotKind::kView)) {
      return DataLossError("snapshot \"" + rec.name + "\": bad id " +
                           std::to_string(rec.id));
    }
    std::string name = rec.name;
    if (!meta.snapshots.emplace(name, std::move(rec)).second) {
      return DataLossError("snapshot \"" + name + "\" is listed twice");
    }
  }
  for (const auto& [name, rec] : meta.snapshots) {
    if (rec.parent.empty()) continue;
    auto parent = meta.snapshots.find(rec.parent);
    if (parent == meta.snapshots.end() ||
        parent->second.kind != SnapshotKind::kCommitted) {
      return DataLossError("snapshot \"" + name + "\": parent \"" + rec.parent +
                           "\" is not a committed snapshot");
    }
  }
  return meta;
}

}  // namespace

Result<std::optional<SnapshotMetadata>> LoadSnapshotMetadata(
    const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return std::optional<SnapshotMetadata>();
    return text.status();
  }
  try {
    auto meta = FromJson(json::parse(*text));
    if (!meta.ok())
      return meta.status().WithContext("snapshot metadata " + path);
    return std::optional<SnapshotMetadata>(std::move(*meta));
  } catch (const json::exception& e) {
    return DataLossError("snapshot metadata " + path + ": " + e.what());
  }
}

Status SaveSnapshotMetadata(const std::string& path,
                            const SnapshotMetadata& metadata) {
  json snapshots = json::array();
  for (const auto& [name, rec] : metadata.snapshots) {
    if (rec.pending) continue;
    snapshots.push_back({{"name", rec.name},
                         {"id", rec.id},
                         {"parent", rec.parent},
                         {"kind", KindName(rec.kind)}});
  }
  json doc = {{"version", kVersion},
              {"kind", SnapshotterKindName(metadata.kind)},
              {"next_id", metadata.next_id},
              {"snapshots", std::move(snapshots)}};
  std::string text;
  try {
    // Names are caller strings; replace invalid UTF-8 rather than throw.
    text = doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  } catch (const json::exception& e) {
    return InternalError(std::string("serializing snapshot metadata: ") +
                         e.what());
  }
  return WriteFileAtomic(path, text);
}

}  // namespace kiln::solver::internal
