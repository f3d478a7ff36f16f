// Cache specs (--export-cache/--import-cache) and the CacheRecorder
// (kiln/solver/build_cache.h).
#include "kiln/solver/build_cache.h"

#include <set>

#include "export_internal.h"

namespace kiln::solver {
namespace {

constexpr const char* kSupported = "registry, local, inline";

Status CheckAttrs(const CacheSpec& spec, const std::set<std::string>& known,
                  const char* required) {
  for (const auto& [key, value] : spec.attrs) {
    if (!known.contains(key)) {
      std::string list;
      for (const std::string& k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return InvalidArgumentError("cache type " + spec.type +
                                  ": unknown attribute \"" + key +
                                  "\" (known: " + list + ")");
    }
  }
  auto it = spec.attrs.find(required);
  if (it == spec.attrs.end() || it->second.empty()) {
    return InvalidArgumentError("cache type " + spec.type + " needs " +
                                required + "=");
  }
  if (spec.type == "registry") {
    auto ref = llb::ParseImageReference(it->second);
    if (!ref.ok()) return ref.status().WithContext("cache ref");
  }
  return Status::Ok();
}

Status CheckValue(const CacheSpec& spec, const std::string& key,
                  const std::set<std::string>& values) {
  auto it = spec.attrs.find(key);
  if (it == spec.attrs.end() || values.contains(it->second)) {
    return Status::Ok();
  }
  std::string list;
  for (const std::string& v : values) {
    if (!list.empty()) list += ", ";
    list += v;
  }
  return InvalidArgumentError("cache " + key + "=" + it->second + ": want " +
                              list);
}

Status Unsupported(const CacheSpec& spec) {
  return InvalidArgumentError(
      "cache type " + spec.type +
      " is not supported by kiln (supported: " + kSupported + ")");
}

}  // namespace

Result<CacheSpec> ParseCacheSpec(std::string_view spec) {
  const std::string what = "cache spec \"" + std::string(spec) + "\"";
  if (spec.empty()) return InvalidArgumentError("empty cache spec");
  CacheSpec out;
  if (spec.find('=') == std::string_view::npos) {
    out.type = "registry";
    out.attrs["ref"] = std::string(spec);
    return out;
  }
  auto fields = internal::SplitCsvFields(spec);
  if (!fields.ok()) return fields.status().WithContext(what);
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError(what + ": \"" + field +
                                  "\" is not KEY=VALUE");
    }
    std::string key = field.substr(0, eq);
    std::string value = field.substr(eq + 1);
    if (key.empty()) return InvalidArgumentError(what + ": empty key");
    if (key == "type") {
      if (!out.type.empty()) return InvalidArgumentError(what + ": type twice");
      out.type = value;
      continue;
    }
    if (!out.attrs.emplace(key, value).second) {
      return InvalidArgumentError(what + ": " + key + " given twice");
    }
  }
  if (out.type.empty()) return InvalidArgumentError(what + ": missing type=");
  return out;
}

Status ValidateCacheExport(const CacheSpec& spec) {
  Status s;
  if (spec.type == "registry") {
    s = CheckAttrs(spec,
                   {"ref", "mode", "compression", "oci-mediatypes",
                    "image-manifest", "ignore-error"},
                   "ref");
  } else if (spec.type == "local") {
    s = CheckAttrs(spec,
                   {"dest", "tag", "mode", "compression", "oci-mediatypes",
                    "image-manifest", "ignore-error"},
                   "dest");
  } else if (spec.type == "inline") {
    // The image's own layers, from the result's chain: min only.
    for (const auto& [key, value] : spec.attrs) {
      if (key != "mode") {
        return InvalidArgumentError("cache type inline: unknown attribute \"" +
                                    key + "\" (known: mode)");
      }
    }
    return CheckValue(spec, "mode", {"min"});
  } else {
    return Unsupported(spec);
  }
  KILN_RETURN_IF_ERROR(s);
  KILN_RETURN_IF_ERROR(CheckValue(spec, "mode", {"min", "max"}));
  KILN_RETURN_IF_ERROR(
      CheckValue(spec, "compression", {"gzip", "zstd", "uncompressed"}));
  // kiln always writes OCI media types and an image manifest (BuildKit's
  // image-manifest=true layout).
  KILN_RETURN_IF_ERROR(CheckValue(spec, "oci-mediatypes", {"true"}));
  KILN_RETURN_IF_ERROR(CheckValue(spec, "image-manifest", {"true"}));
  return CheckValue(spec, "ignore-error", {"true", "false"});
}

Status ValidateCacheImport(const CacheSpec& spec) {
  if (spec.type == "inline") {
    return InvalidArgumentError(
        "cache type inline is for exports: import an inline cache with "
        "type=registry,ref=IMAGE");
  }
  if (spec.type == "registry") return CheckAttrs(spec, {"ref"}, "ref");
  if (spec.type == "local") {
    return CheckAttrs(spec, {"src", "tag", "digest"}, "src");
  }
  return Unsupported(spec);
}

std::string CacheSpecName(const CacheSpec& spec) {
  for (const char* key : {"ref", "dest", "src"}) {
    auto it = spec.attrs.find(key);
    if (it != spec.attrs.end()) return it->second;
  }
  return spec.type;
}

void CacheRecorder::Add(const Digest& key, std::vector<std::string> outputs) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_[key] = std::move(outputs);
}

std::vector<CacheRecorder::Entry> CacheRecorder::Entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> out;
  for (const auto& [key, outputs] : entries_) out.push_back({key, outputs});
  return out;
}

}  // namespace kiln::solver
