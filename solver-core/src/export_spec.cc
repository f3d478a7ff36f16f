// ParseOutputSpec, attr helpers and the Export dispatch.
#include <exception>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "export_internal.h"
#include "kiln/solver/exporter.h"

namespace kiln::solver {
namespace {

constexpr const char* kKnownTypes = "local, tar, oci, docker, image, registry";

bool KnownType(const std::string& type) {
  return type == "local" || type == "tar" || type == "oci" ||
         type == "docker" || type == "image";
}

}  // namespace

Result<ExportRequest> ParseOutputSpec(std::string_view spec) {
  std::string what = "parsing output \"" + std::string(spec) + "\"";
  auto fields = internal::SplitCsvFields(spec);
  if (!fields.ok()) return fields.status().WithContext(what);
  ExportRequest req;
  bool have_type = false;
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (key.empty()) return InvalidArgumentError(what + ": empty key");
    if (key == "type") {
      if (have_type) return InvalidArgumentError(what + ": type given twice");
      have_type = true;
      req.type = value;
      continue;
    }
    if (!req.attrs.emplace(key, value).second)
      return InvalidArgumentError(what + ": " + key + " given twice");
  }
  if (!have_type) {
    return InvalidArgumentError(what +
                                ": no type (known types: " + kKnownTypes + ")");
  }
  if (req.type == "registry") {
    req.type = "image";
    req.attrs["push"] = "true";
  }
  if (!KnownType(req.type)) {
    return InvalidArgumentError(what + ": unknown type \"" + req.type +
                                "\" (known types: " + kKnownTypes + ")");
  }
  return req;
}

Result<std::map<std::string, std::string>> Export(const ExportRequest& request,
                                                  const ExportSource& source,
                                                  const ExportEnv& env) {
  return ExportPlatforms(request, std::span<const ExportSource>(&source, 1),
                         env);
}

Result<std::map<std::string, std::string>> ExportPlatforms(
    const ExportRequest& request, std::span<const ExportSource> sources,
    const ExportEnv& env) {
  std::string what = "exporting " + request.type;
  if (sources.empty()) return InvalidArgumentError(what + ": no result");
  // Platforms, and their split directory names, which must differ too:
  // linux/arm/v7 and linux/arm_v7 would share linux_arm_v7.
  std::set<std::string> platforms;
  std::map<std::string, std::string> dirs;  // name -> platform ID
  bool attested = false;
  for (const ExportSource& source : sources) {
    if (!source.snapshot.empty() && env.snapshots == nullptr)
      return FailedPreconditionError(what + ": no snapshotter");
    if (sources.size() == 1) {
      attested |= !source.attestations.empty();
      continue;
    }
    std::string platform = llb::FormatPlatform(source.platform);
    if (!platforms.insert(platform).second) {
      return InvalidArgumentError(what + ": platform " + platform +
                                  " given twice");
    }
    auto dir = internal::PlatformDirName(source);
    if (!dir.ok()) return dir.status().WithContext(what);
    auto [seen, added] = dirs.emplace(*dir, internal::PlatformId(source));
    if (!added) {
      return InvalidArgumentError(what + ": platforms " + seen->second +
                                  " and " + internal::PlatformId(source) +
                                  " would share the output name " +
                                  seen->first);
    }
    attested |= !source.attestations.empty();
  }
  if (request.type == "local" || request.type == "tar") {
    if (attested) {
      return InvalidArgumentError(what + ": the " + request.type +
                                  " exporter cannot carry attestations; use "
                                  "type=oci or type=image");
    }
    Status s = request.type == "local"
                   ? internal::ExportLocal(request, sources, env)
                   : internal::ExportTar(request, sources, env);
    if (!s.ok()) return s.WithContext(what);
    return std::map<std::string, std::string>{};
  }
  if (request.type == "oci" || request.type == "docker" ||
      request.type == "image") {
    auto out = internal::ExportImage(request, sources, env);
    if (!out.ok()) return out.status().WithContext(what);
    return out;
  }
  return InvalidArgumentError(what + ": unknown type \"" + request.type +
                              "\" (known types: " + kKnownTypes + ")");
}

namespace internal {

Result<bool> AttrBool(const std::map<std::string, std::string>& attrs,
                      const std::string& key, bool fallback) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  const std::string& v = it->second;
  if (v == "true" || v == "1" || v.empty()) return true;
  if (v == "false" || v == "0") return false;
  return InvalidArgumentError(key + "=" + v + ": not a boolean");
}

Result<int64_t> AttrEpoch(const std::map<std::string, std::string>& attrs) {
  auto it = attrs.find("source-date-epoch");
  if (it == attrs.end() || it->second.empty()) return -1;
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used == it->second.size() && v >= 0) return static_cast<int64_t>(v);
  } catch (const std::exception&) {
  }
  return InvalidArgumentError("source-date-epoch=" + it->second +
                              ": not a number of seconds");
}

std::vector<std::string> AttrList(
    const std::map<std::string, std::string>& attrs, const std::string& key) {
  std::vector<std::string> out;
  auto it = attrs.find(key);
  if (it == attrs.end()) return out;
  size_t start = 0;
  const std::string& v = it->second;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string part = v.substr(start, comma - start);
    if (!part.empty()) out.push_back(part);
    start = comma + 1;
  }
  return out;
}

}  // namespace internal
namespace internal {

Result<std::vector<std::string>> SplitCsvFields(std::string_view spec) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c == '"') {
      if (quoted && i + 1 < spec.size() && spec[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
      continue;
    }
    if (c == ',' && !quoted) {
      fields.push_back(std::move(field));
      field.clear();
      continue;
    }
    field += c;
  }
  if (quoted) return InvalidArgumentError("unterminated quote");
  fields.push_back(std::move(field));
  return fields;
}

}  // namespace internal
}  // namespace kiln::solver
