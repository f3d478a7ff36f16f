// Image configs: parsing both families and writing the OCI Image struct's
// key order.
#include "kiln/solver/oci.h"
#include "oci_json.h"

namespace kiln::solver::oci {

using internal::Dump;
using internal::Json;
using internal::ParseJson;
using internal::PutIf;
using internal::PutKeySet;
using internal::Reader;

llb::Platform ImageConfig::platform() const {
  return llb::NormalizePlatform(
      {os, architecture, variant, os_version, os_features});
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

}  // namespace kiln::solver::oci
