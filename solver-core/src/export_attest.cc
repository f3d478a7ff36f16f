// Attestation manifests as BuildKit's image exporter writes them
// (exporter/containerimage): one application/vnd.in-toto+json layer per
// in-toto Statement v0.1, a config of platform unknown/unknown whose diff_ids
// are the layers, and an index entry pointing at the image it describes.
#include <cctype>
#include <nlohmann/json.hpp>

#include "export_internal.h"

namespace kiln::solver::internal {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kInTotoMediaType = "application/vnd.in-toto+json";
constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v0.1";

// Percent-encoding as Go's url.QueryEscape (package URL qualifier values).
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// distribution's FamiliarName: docker.io and library/ left out.
std::string FamiliarName(const llb::ImageReference& ref) {
  if (ref.domain != "docker.io") return ref.domain + "/" + ref.path;
  if (ref.path.starts_with("library/") &&
      ref.path.find('/', 8) == std::string::npos) {
    return ref.path.substr(8);
  }
  return ref.path;
}

}  // namespace

std::string PackageUrl(const llb::ImageReference& ref,
                       const llb::Platform& platform) {
  std::string name = FamiliarName(ref);
  std::string out = "pkg:docker/";
  out.append(name);
  if (ref.digest.empty() || !ref.tag.empty()) {
    out.append("@").append(ref.tag.empty() ? "latest" : ref.tag);
  }
  std::string qualifiers;
  if (!ref.digest.empty())
    qualifiers.append("digest=").append(QueryEscape(ref.digest));
  if (!qualifiers.empty()) qualifiers.append("&");
  qualifiers.append("platform=")
      .append(
          QueryEscape(llb::FormatPlatform(llb::NormalizePlatform(platform))));
  out.append("?").append(qualifiers);
  return out;
}

Result<oci::Descriptor> WriteAttestationManifest(
    const ExportEnv& env, const oci::Descriptor& image,
    const std::vector<llb::ImageReference>& refs,
    const std::vector<Attestation>& attestations, bool oci_types) {
  llb::Platform platform = image.platform.value_or(llb::Platform{});
  Json subjects = Json::array();
  Json digest = {{"sha256", image.digest.str().substr(7)}};
  for (const auto& ref : refs) {
    subjects.push_back(
        {{"name", PackageUrl(ref, platform)}, {"digest", digest}});
  }
  if (subjects.empty()) subjects.push_back({{"name", "_"}, {"digest", digest}});

  oci::Manifest manifest;
  manifest.media_type = std::string(oci_types ? oci::kMediaTypeImageManifest
                                              : oci::kMediaTypeDockerManifest);
  Json diff_ids = Json::array();
  for (const Attestation& a : attestations) {
    Json predicate = Json::parse(a.predicate_json, nullptr, false);
    if (predicate.is_discarded() || !predicate.is_object()) {
      return InvalidArgumentError("attestation " + a.predicate_type +
                                  ": the predicate is not a JSON object");
    }
    Json statement = {{"_type", kStatementType},
                      {"predicateType", a.predicate_type},
                      {"subject", subjects},
                      {"predicate", std::move(predicate)}};
    std::string bytes =
        statement.dump(-1, ' ', false, Json::error_handler_t::replace);
    KILN_ASSIGN_OR_RETURN(Digest d, env.content->Put(bytes));
    oci::Descriptor layer;
    layer.media_type = std::string(kInTotoMediaType);
    layer.digest = d;
    layer.size = static_cast<int64_t>(bytes.size());
    // Docker schema 2 manifests carry no layer annotations (BuildKit drops
    // them there too).
    if (oci_types) {
      layer.annotations["in-toto.io/predicate-type"] = a.predicate_type;
    }
    manifest.layers.push_back(std::move(layer));
    diff_ids.push_back(d.str());
  }
  Json config = {{"architecture", "unknown"},
                 {"os", "unknown"},
                 {"config", Json::object()},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  std::string config_bytes = config.dump();
  KILN_ASSIGN_OR_RETURN(Digest config_digest, env.content->Put(config_bytes));
  manifest.config.media_type = std::string(
      oci_types ? oci::kMediaTypeImageConfig : oci::kMediaTypeDockerConfig);
  manifest.config.digest = config_digest;
  manifest.config.size = static_cast<int64_t>(config_bytes.size());
  std::string manifest_bytes = oci::ToJson(manifest);
  KILN_ASSIGN_OR_RETURN(Digest manifest_digest,
                        env.content->Put(manifest_bytes));
  oci::Descriptor out;
  out.media_type = manifest.media_type;
  out.digest = manifest_digest;
  out.size = static_cast<int64_t>(manifest_bytes.size());
  out.annotations["vnd.docker.reference.digest"] = image.digest.str();
  out.annotations["vnd.docker.reference.type"] = "attestation-manifest";
  out.platform = llb::Platform{.os = "unknown", .architecture = "unknown"};
  return out;
}

}  // namespace kiln::solver::internal
