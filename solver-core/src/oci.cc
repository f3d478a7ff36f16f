#include "kiln/solver/oci.h"

#include <algorithm>

#include "oci_json.h"

namespace kiln::solver::oci {

using internal::Dump;
using internal::Json;
using internal::ParseJson;
using internal::PutIf;
using internal::Reader;

bool IsIndexMediaType(std::string_view media_type) {
  return media_type == kMediaTypeImageIndex ||
         media_type == kMediaTypeDockerManifestList;
}

bool IsManifestMediaType(std::string_view media_type) {
  return media_type == kMediaTypeImageManifest ||
         media_type == kMediaTypeDockerManifest;
}

bool IsLayerMediaType(std::string_view media_type) {
  return LayerCompression(media_type).ok();
}

Result<Compression> LayerCompression(std::string_view media_type) {
  if (media_type == kMediaTypeLayer || media_type == kMediaTypeDockerLayer ||
      media_type == "application/vnd.oci.image.layer.nondistributable.v1.tar") {
    return Compression::kNone;
  }
  if (media_type == kMediaTypeLayerGzip ||
      media_type == kMediaTypeLayerNonDistributableGzip ||
      media_type == kMediaTypeDockerLayerGzip ||
      media_type == kMediaTypeDockerLayerForeignGzip) {
    return Compression::kGzip;
  }
  if (media_type == kMediaTypeLayerZstd ||
      media_type ==
          "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return Compression::kZstd;
  }
  return InvalidArgumentError("not a layer media type: \"" +
                              std::string(media_type) + "\"");
}

namespace {

// --- reading -----------------------------------------------------------------

Status ReadPlatform(const Json& j, const std::string& path,
                    llb::Platform* out) {
  Reader r(j, path);
  if (!r.IsObject()) return r.status();
  r.String("os", &out->os);
  r.String("architecture", &out->architecture);
  r.String("variant", &out->variant);
  r.String("os.version", &out->os_version);
  r.Strings("os.features", &out->os_features);
  return r.status();
}

Status ReadDescriptor(const Json& j, const std::string& path, Descriptor* out) {
  Reader r(j, path);
  if (!r.IsObject()) return r.status();
  r.String("mediaType", &out->media_type);
  r.DigestField("digest", &out->digest, /*required=*/true);
  r.Integer("size", &out->size);
  if (out->size < 0) r.Fail(r.Path("size"), "negative");
  r.Strings("urls", &out->urls);
  r.StringMap("annotations", &out->annotations);
  r.String("artifactType", &out->artifact_type);
  if (const Json* p = r.Field("platform")) {
    out->platform.emplace();
    r.Merge(ReadPlatform(*p, r.Path("platform"), &*out->platform));
  }
  return r.status();
}

Status ReadDescriptors(Reader& r, const Json& j, const char* key,
                       const std::string& path, std::vector<Descriptor>* out) {
  const Json* v = r.Field(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array())
    return InvalidArgumentError(path + "." + key + ": not an array");
  for (size_t i = 0; i < v->size(); ++i) {
    Descriptor d;
    KILN_RETURN_IF_ERROR(ReadDescriptor(
        (*v)[i], path + "." + key + "[" + std::to_string(i) + "]", &d));
    out->push_back(std::move(d));
  }
  (void)j;
  return Status::Ok();
}

// --- writing -----------------------------------------------------------------

Json PlatformJson(const llb::Platform& p) {
  Json j = Json::object();
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  PutIf(j, "os.version", p.os_version);
  PutIf(j, "os.features", p.os_features);
  PutIf(j, "variant", p.variant);
  return j;
}

Json DescriptorJson(const Descriptor& d) {
  Json j = Json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  PutIf(j, "urls", d.urls);
  PutIf(j, "annotations", d.annotations);
  if (d.platform) j["platform"] = PlatformJson(*d.platform);
  PutIf(j, "artifactType", d.artifact_type);
  return j;
}

Json DescriptorsJson(const std::vector<Descriptor>& ds) {
  Json a = Json::array();
  for (const auto& d : ds) a.push_back(DescriptorJson(d));
  return a;
}

}  // namespace

Result<Descriptor> ParseDescriptor(std::string_view json) {
  KILN_ASSIGN_OR_RETURN(Json j, ParseJson(json, "descriptor"));
  Descriptor d;
  KILN_RETURN_IF_ERROR(ReadDescriptor(j, "descriptor", &d));
  return d;
}

Result<Manifest> ParseManifest(std::string_view json) {
  KILN_ASSIGN_OR_RETURN(Json j, ParseJson(json, "manifest"));
  Manifest m;
  Reader r(j, "manifest");
  if (!r.IsObject()) return r.status();
  r.Integer("schemaVersion", &m.schema_version);
  r.String("mediaType", &m.media_type);
  r.String("artifactType", &m.artifact_type);
  r.StringMap("annotations", &m.annotations);
  KILN_RETURN_IF_ERROR(r.status());
  if (m.schema_version != 2) {
    return InvalidArgumentError("manifest: schemaVersion " +
                                std::to_string(m.schema_version) +
                                " is not supported (only 2)");
  }
  if (!m.media_type.empty() && !IsManifestMediaType(m.media_type)) {
    return InvalidArgumentError("manifest: mediaType \"" + m.media_type +
                                "\" is not an image manifest");
  }
  const Json* config = r.Field("config");
  if (config == nullptr)
    return InvalidArgumentError("manifest: config: missing");
  KILN_RETURN_IF_ERROR(ReadDescriptor(*config, "manifest.config", &m.config));
  KILN_RETURN_IF_ERROR(ReadDescriptors(r, j, "layers", "manifest", &m.layers));
  if (const Json* s = r.Field("subject")) {
    m.subject.emplace();
    KILN_RETURN_IF_ERROR(ReadDescriptor(*s, "manifest.subject", &*m.subject));
  }
  return m;
}

Result<Index> ParseIndex(std::string_view json) {
  KILN_ASSIGN_OR_RETURN(Json j, ParseJson(json, "index"));
  Index x;
  Reader r(j, "index");
  if (!r.IsObject()) return r.status();
  r.Integer("schemaVersion", &x.schema_version);
  r.String("mediaType", &x.media_type);
  r.String("artifactType", &x.artifact_type);
  r.StringMap("annotations", &x.annotations);
  KILN_RETURN_IF_ERROR(r.status());
  if (x.schema_version != 2) {
    return InvalidArgumentError("index: schemaVersion " +
                                std::to_string(x.schema_version) +
                                " is not supported (only 2)");
  }
  if (!x.media_type.empty() && !IsIndexMediaType(x.media_type)) {
    return InvalidArgumentError("index: mediaType \"" + x.media_type +
                                "\" is not an image index");
  }
  KILN_RETURN_IF_ERROR(
      ReadDescriptors(r, j, "manifests", "index", &x.manifests));
  if (const Json* s = r.Field("subject")) {
    x.subject.emplace();
    KILN_RETURN_IF_ERROR(ReadDescriptor(*s, "index.subject", &*x.subject));
  }
  return x;
}

Result<std::string> SniffMediaType(std::string_view json) {
  KILN_ASSIGN_OR_RETURN(Json j, ParseJson(json, "document"));
  if (!j.is_object())
    return InvalidArgumentError("document: not a JSON object");
  auto it = j.find("mediaType");
  if (it == j.end() || !it->is_string()) {
    // OCI allows documents without mediaType: tell them apart by shape.
    if (j.contains("manifests")) return std::string(kMediaTypeImageIndex);
    if (j.contains("config") && j.contains("layers"))
      return std::string(kMediaTypeImageManifest);
    return std::string();
  }
  return it->get<std::string>();
}

std::string ToJson(const Descriptor& d) { return Dump(DescriptorJson(d)); }

std::string ToJson(const Manifest& m) {
  Json j = Json::object();
  j["schemaVersion"] = m.schema_version;
  PutIf(j, "mediaType", m.media_type);
  PutIf(j, "artifactType", m.artifact_type);
  j["config"] = DescriptorJson(m.config);
  j["layers"] = DescriptorsJson(m.layers);
  if (m.subject) j["subject"] = DescriptorJson(*m.subject);
  PutIf(j, "annotations", m.annotations);
  return Dump(j);
}

std::string ToJson(const Index& x) {
  Json j = Json::object();
  j["schemaVersion"] = x.schema_version;
  PutIf(j, "mediaType", x.media_type);
  PutIf(j, "artifactType", x.artifact_type);
  j["manifests"] = DescriptorsJson(x.manifests);
  if (x.subject) j["subject"] = DescriptorJson(*x.subject);
  PutIf(j, "annotations", x.annotations);
  return Dump(j);
}

}  // namespace kiln::solver::oci
