#include "kiln/solver/oci.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kiln::solver::oci {

using Json = nlohmann::ordered_json;

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

llb::Platform ImageConfig::platform() const {
  return llb::NormalizePlatform(
      {os, architecture, variant, os_version, os_features});
}

namespace {

// --- reading -----------------------------------------------------------------

// Reads typed fields out of a JSON object, remembering the first error with
// the path of the field ("manifest: layers[2]: digest: …").
class Reader {
 public:
  Reader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  bool IsObject() {
    if (j_.is_object()) return true;
    Fail(path_, "not a JSON object");
    return false;
  }
  const Json* Field(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  void String(const char* key, std::string* out) {
    if (const Json* v = Field(key)) {
      if (v->is_string())
        *out = v->get<std::string>();
      else
        Fail(Path(key), "not a string");
    }
  }
  template <typename Int>
  void Integer(const char* key, Int* out) {
    if (const Json* v = Field(key)) {
      if (v->is_number_integer())
        *out = v->get<Int>();
      else
        Fail(Path(key), "not an integer");
    }
  }
  void Bool(const char* key, bool* out) {
    if (const Json* v = Field(key)) {
      if (v->is_boolean())
        *out = v->get<bool>();
      else
        Fail(Path(key), "not a boolean");
    }
  }
  void Strings(const char* key, std::vector<std::string>* out) {
    const Json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_array()) return Fail(Path(key), "not an array");
    for (const Json& e : *v) {
      if (!e.is_string()) return Fail(Path(key), "holds a non-string");
      out->push_back(e.get<std::string>());
    }
  }
  void OptionalStrings(const char* key,
                       std::optional<std::vector<std::string>>* out) {
    if (Field(key) == nullptr) return;
    out->emplace();
    Strings(key, &**out);
  }
  // A JSON object used as a set ({"80/tcp":{}}): its keys, sorted.
  void KeySet(const char* key, std::vector<std::string>* out) {
    const Json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_object()) return Fail(Path(key), "not an object");
    for (auto it = v->begin(); it != v->end(); ++it) out->push_back(it.key());
    std::sort(out->begin(), out->end());
  }
  void StringMap(const char* key, std::map<std::string, std::string>* out) {
    const Json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_object()) return Fail(Path(key), "not an object");
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string())
        return Fail(Path(key) + "." + it.key(), "not a string");
      (*out)[it.key()] = it->get<std::string>();
    }
  }
  void DigestField(const char* key, Digest* out, bool required) {
    std::string text;
    String(key, &text);
    if (text.empty()) {
      if (required && status_.ok()) Fail(Path(key), "missing");
      return;
    }
    auto d = Digest::Parse(text);
    if (!d.ok()) return Fail(Path(key), d.status().message());
    *out = *d;
  }

  std::string Path(const char* key) const { return path_ + "." + key; }
  void Fail(const std::string& where, std::string_view what) {
    if (status_.ok())
      status_ = InvalidArgumentError(where + ": " + std::string(what));
  }
  void Merge(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  const Status& status() const { return status_; }

 private:
  const Json& j_;
  std::string path_;
  Status status_;
};

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return InvalidArgumentError(std::string(what) + ": not valid JSON");
  return j;
}

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

void PutIf(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
void PutIf(Json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}
void PutIf(Json& j, const char* key,
           const std::map<std::string, std::string>& v) {
  if (!v.empty()) j[key] = v;
}
void PutKeySet(Json& j, const char* key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  Json set = Json::object();
  for (const auto& k : v) set[k] = Json::object();
  j[key] = std::move(set);
}

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

std::string Dump(const Json& j) {
  // Go's encoding/json escapes <, > and & in strings; nlohmann does not, so
  // kiln-made documents differ from Go-made ones only there. Both are valid.
  // Invalid UTF-8 (which Go would also replace) becomes U+FFFD.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
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

Result<ImageConfig> ParseImageConfig(std::string_view json) {
  KILN_ASSIGN_OR_RETURN(Json j, ParseJson(json, "image config"));
  ImageConfig c;
  Reader r(j, "config");
  if (!r.IsObject()) return r.status();
  r.String("created", &c.created);
  r.String("author", &c.author);
  r.String("architecture", &c.architecture);
  r.String("os", &c.os);
  r.String("os.version", &c.os_version);
  r.Strings("os.features", &c.os_features);
  r.String("variant", &c.variant);
  if (const Json* cc = r.Field("config")) {
    Reader k(*cc, "config.config");
    if (k.IsObject()) {
      ContainerConfig& o = c.config;
      k.String("User", &o.user);
      k.KeySet("ExposedPorts", &o.exposed_ports);
      k.Strings("Env", &o.env);
      k.OptionalStrings("Entrypoint", &o.entrypoint);
      k.OptionalStrings("Cmd", &o.cmd);
      k.KeySet("Volumes", &o.volumes);
      k.String("WorkingDir", &o.working_dir);
      k.StringMap("Labels", &o.labels);
      k.String("StopSignal", &o.stop_signal);
      k.Strings("OnBuild", &o.on_build);
      k.Strings("Shell", &o.shell);
      k.Bool("ArgsEscaped", &o.args_escaped);
      if (const Json* h = k.Field("Healthcheck")) {
        Reader hr(*h, "config.config.Healthcheck");
        HealthConfig& hc = o.healthcheck.emplace();
        if (hr.IsObject()) {
          hr.Strings("Test", &hc.test);
          hr.Integer("Interval", &hc.interval_ns);
          hr.Integer("Timeout", &hc.timeout_ns);
          hr.Integer("StartPeriod", &hc.start_period_ns);
          hr.Integer("StartInterval", &hc.start_interval_ns);
          hr.Integer("Retries", &hc.retries);
        }
        k.Merge(hr.status());
      }
    }
    r.Merge(k.status());
  }
  if (const Json* rootfs = r.Field("rootfs")) {
    Reader rr(*rootfs, "config.rootfs");
    std::vector<std::string> ids;
    if (rr.IsObject()) rr.Strings("diff_ids", &ids);
    for (size_t i = 0; i < ids.size() && rr.status().ok(); ++i) {
      auto d = Digest::Parse(ids[i]);
      if (!d.ok())
        rr.Fail("config.rootfs.diff_ids[" + std::to_string(i) + "]",
                d.status().message());
      else
        c.diff_ids.push_back(*d);
    }
    r.Merge(rr.status());
  }
  if (const Json* h = r.Field("history")) {
    if (!h->is_array()) {
      r.Fail("config.history", "not an array");
    } else {
      for (size_t i = 0; i < h->size(); ++i) {
        Reader hr((*h)[i], "config.history[" + std::to_string(i) + "]");
        History e;
        if (hr.IsObject()) {
          hr.String("created", &e.created);
          hr.String("created_by", &e.created_by);
          hr.String("author", &e.author);
          hr.String("comment", &e.comment);
          hr.Bool("empty_layer", &e.empty_layer);
        }
        r.Merge(hr.status());
        c.history.push_back(std::move(e));
      }
    }
  }
  KILN_RETURN_IF_ERROR(r.status());
  return c;
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

std::string ToJson(const ImageConfig& c) {
  // Key order of the OCI Image struct (and containerd/BuildKit output).
  Json j = Json::object();
  PutIf(j, "created", c.created);
  PutIf(j, "author", c.author);
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  PutIf(j, "os.version", c.os_version);
  PutIf(j, "os.features", c.os_features);
  PutIf(j, "variant", c.variant);
  Json cc = Json::object();
  const ContainerConfig& o = c.config;
  PutIf(cc, "User", o.user);
  PutKeySet(cc, "ExposedPorts", o.exposed_ports);
  PutIf(cc, "Env", o.env);
  if (o.entrypoint) cc["Entrypoint"] = *o.entrypoint;
  if (o.cmd) cc["Cmd"] = *o.cmd;
  PutKeySet(cc, "Volumes", o.volumes);
  PutIf(cc, "WorkingDir", o.working_dir);
  PutIf(cc, "Labels", o.labels);
  PutIf(cc, "StopSignal", o.stop_signal);
  if (o.args_escaped) cc["ArgsEscaped"] = true;
  if (o.healthcheck) {
    const HealthConfig& h = *o.healthcheck;
    Json hj = Json::object();
    PutIf(hj, "Test", h.test);
    if (h.interval_ns) hj["Interval"] = h.interval_ns;
    if (h.timeout_ns) hj["Timeout"] = h.timeout_ns;
    if (h.start_period_ns) hj["StartPeriod"] = h.start_period_ns;
    if (h.start_interval_ns) hj["StartInterval"] = h.start_interval_ns;
    if (h.retries) hj["Retries"] = h.retries;
    cc["Healthcheck"] = std::move(hj);
  }
  PutIf(cc, "OnBuild", o.on_build);
  PutIf(cc, "Shell", o.shell);
  j["config"] = std::move(cc);
  Json rootfs = Json::object();
  rootfs["type"] = "layers";
  Json ids = Json::array();
  for (const Digest& d : c.diff_ids) ids.push_back(d.str());
  rootfs["diff_ids"] = std::move(ids);
  j["rootfs"] = std::move(rootfs);
  if (!c.history.empty()) {
    Json hs = Json::array();
    for (const History& h : c.history) {
      Json hj = Json::object();
      PutIf(hj, "created", h.created);
      PutIf(hj, "created_by", h.created_by);
      PutIf(hj, "author", h.author);
      PutIf(hj, "comment", h.comment);
      if (h.empty_layer) hj["empty_layer"] = true;
      hs.push_back(std::move(hj));
    }
    j["history"] = std::move(hs);
  }
  return Dump(j);
}

namespace {

// arm variants from newest to oldest; a CPU runs its own and older ones.
int ArmVariantRank(std::string_view arch, std::string_view variant) {
  if (arch == "arm64") {
    if (variant.empty() || variant == "v8") return 8;
    if (variant.size() > 1 && variant[0] == 'v') return 8 + (variant[1] - '8');
    return -1;
  }
  if (variant == "v5") return 5;
  if (variant == "v6") return 6;
  if (variant == "v7" || variant.empty()) return 7;
  if (variant == "v8") return 8;
  return -1;
}

}  // namespace

bool PlatformMatches(const llb::Platform& want_in,
                     const llb::Platform& have_in) {
  llb::Platform want = llb::NormalizePlatform(want_in);
  llb::Platform have = llb::NormalizePlatform(have_in);
  if (want.os != have.os || want.architecture != have.architecture)
    return false;
  if (want.variant == have.variant) return true;
  if (want.architecture == "arm" || want.architecture == "arm64") {
    int w = ArmVariantRank(want.architecture, want.variant);
    int h = ArmVariantRank(have.architecture, have.variant);
    return w >= 0 && h >= 0 && h <= w;
  }
  return false;
}

Result<Descriptor> SelectManifest(const Index& index,
                                  const llb::Platform& want) {
  const Descriptor* best = nullptr;
  int best_rank = -1;
  llb::Platform norm = llb::NormalizePlatform(want);
  for (const Descriptor& d : index.manifests) {
    if (!d.platform ||
        !IsManifestMediaType(d.media_type.empty()
                                 ? std::string(kMediaTypeImageManifest)
                                 : d.media_type)) {
      continue;
    }
    if (!PlatformMatches(want, *d.platform)) continue;
    llb::Platform have = llb::NormalizePlatform(*d.platform);
    int rank = have.variant == norm.variant
                   ? 1000
                   : ArmVariantRank(have.architecture, have.variant);
    if (best == nullptr || rank > best_rank) {
      best = &d;
      best_rank = rank;
    }
  }
  if (best != nullptr) return *best;
  std::string offered;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform) continue;
    if (!offered.empty()) offered += ", ";
    offered += llb::FormatPlatform(*d.platform);
  }
  return NotFoundError("no image for platform " + llb::FormatPlatform(norm) +
                       (offered.empty()
                            ? " (the index lists no platforms)"
                            : " (the index offers " + offered + ")"));
}

}  // namespace kiln::solver::oci
