#include "provenance.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

namespace kiln::cli {
namespace {

using Json = nlohmann::json;  // std::map objects: keys come out sorted

std::vector<std::string> SplitCsv(const std::string& value) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= value.size()) {
    size_t comma = value.find(',', from);
    if (comma == std::string::npos) comma = value.size();
    if (comma > from) out.push_back(value.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

// RFC 3339 with nanoseconds, as Go's time.RFC3339Nano (trailing zeros cut).
std::string Rfc3339Nano(int64_t ns) {
  time_t seconds = static_cast<time_t>(ns / 1000000000);
  int64_t frac = ns % 1000000000;
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    std::string digits = f;
    while (digits.back() == '0') digits.pop_back();
    out += digits;
  }
  return out + "Z";
}

// A qualifier value as packageurl-go writes it: '/' and ':' escaped.
std::string PercentEncode(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '/') {
      out += "%2F";
    } else if (c == ':') {
      out += "%3A";
    } else {
      out += c;
    }
  }
  return out;
}

// pkg:docker/NAME@TAG?digest=…&platform=… for docker-image://REF, as
// BuildKit's purl.RefToPURL writes it: the familiar name (docker.io/ and
// library/ dropped), the tag as version (latest for a ref with neither tag
// nor digest), a pinned ref's digest as a qualifier, then the platform.
std::string ImagePurl(const solver::ResolvedSource& s) {
  std::string ref = s.identifier.substr(s.identifier.find("://") + 3);
  std::string type =
      s.identifier.starts_with("oci-layout://") ? "oci" : "docker";
  std::string digest;
  if (size_t at = ref.find('@'); at != std::string::npos) {
    digest = ref.substr(at + 1);
    ref = ref.substr(0, at);
  }
  std::string tag;
  size_t slash = ref.rfind('/');
  size_t colon = ref.rfind(':');
  if (colon != std::string::npos &&
      (slash == std::string::npos || colon > slash)) {
    tag = ref.substr(colon + 1);
    ref = ref.substr(0, colon);
  }
  if (tag.empty() && digest.empty()) tag = "latest";
  for (std::string_view prefix : {"docker.io/library/", "docker.io/"}) {
    if (ref.starts_with(prefix)) {
      ref = ref.substr(prefix.size());
      break;
    }
  }
  std::string purl = "pkg:" + type + "/" + ref;
  if (!tag.empty()) purl += "@" + tag;
  std::vector<std::string> qualifiers;
  if (!digest.empty()) qualifiers.push_back("digest=" + PercentEncode(digest));
  if (!s.platform.os.empty()) {
    qualifiers.push_back("platform=" +
                         PercentEncode(llb::FormatPlatform(s.platform)));
  }
  for (size_t i = 0; i < qualifiers.size(); ++i) {
    purl += (i == 0 ? "?" : "&") + qualifiers[i];
  }
  return purl;
}

Json Material(const solver::ResolvedSource& s) {
  Json m;
  std::string uri = s.identifier;
  if (s.identifier.starts_with("docker-image://") ||
      s.identifier.starts_with("oci-layout://")) {
    uri = ImagePurl(s);
  } else if (s.identifier.starts_with("git://")) {
    uri = "https://" + s.identifier.substr(6);
  }
  m["uri"] = uri;
  size_t colon = s.digest.find(':');
  if (colon != std::string::npos) {
    m["digest"] =
        Json::object({{s.digest.substr(0, colon), s.digest.substr(colon + 1)}});
  }
  return m;
}

// BuildKit's filterArgs: host-specific opts and attest:* are not
// parameters. mode=min also drops build-arg:* and label:* (their values may
// be private) and sets *complete to false when it dropped any.
std::map<std::string, std::string> Args(
    const std::map<std::string, std::string>& opts, bool min, bool* complete) {
  static const std::set<std::string> kHostSpecific = {
      "cgroup-parent", "image-resolve-mode", "platform", "cache-imports"};
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : opts) {
    if (kHostSpecific.contains(k) || k.starts_with("attest:")) continue;
    if (min && (k.starts_with("build-arg:") || k.starts_with("label:"))) {
      *complete = false;
      continue;
    }
    out[k] = v;
  }
  return out;
}

}  // namespace

Result<std::optional<ProvenanceRequest>> ParseProvenanceOpt(
    const std::map<std::string, std::string>& opts) {
  auto it = opts.find("attest:provenance");
  if (it == opts.end()) return std::optional<ProvenanceRequest>();
  ProvenanceRequest request;
  for (const std::string& field : SplitCsv(it->second)) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (key == "mode") {
      request.mode = value;
    } else if (key == "builder-id") {
      request.builder_id = value;
    } else if (key == "disabled") {
      if (value == "true" || value.empty()) {
        return std::optional<ProvenanceRequest>();
      }
    } else if (key == "reproducible") {
      if (value != "true" && value != "false") {
        return InvalidArgumentError("attest:provenance: reproducible=" + value +
                                    ": want true or false");
      }
      request.reproducible = value == "true";
    } else if (key == "version") {
      if (value != "v0.2") {
        return InvalidArgumentError("provenance version " + value +
                                    " is not supported by kiln (v0.2 only)");
      }
    } else if (key != "inline-only") {
      return InvalidArgumentError("attest:provenance: unknown field \"" +
                                  field + "\"");
    }
  }
  if (request.mode != "min" && request.mode != "max") {
    return InvalidArgumentError("attest:provenance: mode=" + request.mode +
                                ": want min or max");
  }
  return std::optional<ProvenanceRequest>(request);
}

std::string ProvenancePredicate(const ProvenanceRequest& request,
                                const ProvenanceBuild& build) {
  Json p;
  p["buildType"] = "https://mobyproject.org/buildkit@v1";
  p["builder"] = {{"id", request.builder_id}};
  Json invocation;
  std::string entry;
  if (auto f = build.opts.find("filename"); f != build.opts.end()) {
    entry = f->second;
  } else if (build.frontend == "dockerfile.v0") {
    entry = "Dockerfile";
  }
  invocation["configSource"] = Json::object();
  if (!entry.empty()) invocation["configSource"]["entryPoint"] = entry;
  // The locals the build read (BuildKit lists them by name, sorted).
  std::set<std::string> names(build.locals.begin(), build.locals.end());
  for (const auto& s : build.sources) {
    if (!s.identifier.starts_with("local://")) continue;
    names.insert(s.identifier.substr(8, s.identifier.find('?') - 8));
  }
  Json locals = Json::array();
  for (const std::string& name : names) locals.push_back({{"name", name}});
  bool complete_parameters = true;
  invocation["parameters"] = {
      {"frontend", build.frontend},
      {"args", Args(build.opts, request.mode == "min", &complete_parameters)},
      {"locals", locals}};
  invocation["environment"] = {
      {"platform", llb::FormatPlatform(build.build_platform)}};
  p["invocation"] = invocation;
  Json materials = Json::array();
  for (const auto& s : build.sources) {
    if (!s.identifier.starts_with("local://")) materials.push_back(Material(s));
  }
  p["materials"] = materials;
  if (request.mode == "max" && !build.build_config_json.empty()) {
    p["buildConfig"] = Json::parse(build.build_config_json);
  }
  Json metadata;
  metadata["buildInvocationID"] = build.invocation_id;
  metadata["buildStartedOn"] = Rfc3339Nano(build.started_ns);
  metadata["buildFinishedOn"] = Rfc3339Nano(build.finished_ns);
  metadata["completeness"] = {{"parameters", complete_parameters},
                              {"environment", true},
                              {"materials", false}};
  metadata["reproducible"] = request.reproducible;
  Json buildkit = Json::object();
  auto source = build.opts.find("vcs:source");
  auto revision = build.opts.find("vcs:revision");
  if (source != build.opts.end() || revision != build.opts.end()) {
    Json vcs = Json::object();
    if (source != build.opts.end()) vcs["source"] = source->second;
    if (revision != build.opts.end()) vcs["revision"] = revision->second;
    buildkit["vcs"] = vcs;
  }
  metadata["https://mobyproject.org/buildkit@v1#metadata"] = buildkit;
  p["metadata"] = metadata;
  return p.dump();
}

std::vector<solver::ResolvedSource> SourcesForPlatform(
    const std::vector<solver::ResolvedSource>& sources,
    const llb::Platform& platform, const std::vector<llb::Platform>& targets) {
  const llb::Platform want = llb::NormalizePlatform(platform);
  std::vector<llb::Platform> others;
  for (const llb::Platform& t : targets) {
    llb::Platform n = llb::NormalizePlatform(t);
    if (n != want) others.push_back(std::move(n));
  }
  std::vector<solver::ResolvedSource> out;
  for (const solver::ResolvedSource& s : sources) {
    if (!s.platform.os.empty()) {
      llb::Platform p = llb::NormalizePlatform(s.platform);
      if (std::find(others.begin(), others.end(), p) != others.end()) continue;
    }
    out.push_back(s);
  }
  return out;
}

solver::Attestation ProvenanceAttestation(const ProvenanceRequest& request,
                                          const ProvenanceBuild& build) {
  return solver::Attestation{
      .predicate_type = kSlsaProvenanceV02,
      .predicate_json = ProvenancePredicate(request, build)};
}

}  // namespace kiln::cli
