// Instructions that only change the image config or the process context
// (ARG, ENV, LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL, MAINTAINER, HEALTHCHECK,
// CMD, ENTRYPOINT, SHELL, ONBUILD), and the per-instruction dispatch.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "convert_internal.h"
#include "go_text.h"

namespace kiln::dockerfile::convert {
namespace {

// Go's time.Duration.String for whole/fractional seconds and smaller units.
std::string GoDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  auto frac = [](int64_t v, int64_t unit) {
    std::string s = std::to_string(v / unit);
    int64_t rem = v % unit;
    if (rem) {
      std::string f = std::to_string(rem);
      std::string digits = std::to_string(unit).substr(1);
      f = std::string(digits.size() - f.size(), '0') + f;
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return s;
  };
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) return frac(ns, 1000) + "µs";
  if (ns < 1000000000) return frac(ns, 1000000) + "ms";
  int64_t secs = ns / 1000000000, rem = ns % 1000000000;
  std::string out;
  if (secs >= 3600) out += std::to_string(secs / 3600) + "h";
  if (secs >= 60) out += std::to_string((secs / 60) % 60) + "m";
  return out + frac((secs % 60) * 1000000000 + rem, 1000000000) + "s";
}

// Go's %q of an int: a quoted character literal.
std::string GoQuoteRune(int r) {
  char buf[16];
  if (r >= 32 && r < 127 && r != '\'' && r != '\\') {
    std::snprintf(buf, sizeof buf, "'%c'", r);
  } else {
    std::snprintf(buf, sizeof buf, "'\\x%02x'", r & 0xff);
  }
  return buf;
}

// Sets or replaces (in place) KEY in config.Env.
void SetConfigEnv(Json& cfg, const std::string& key, const std::string& value) {
  if (!cfg.contains("Env") || !cfg["Env"].is_array())
    cfg["Env"] = Json::array();
  for (auto& e : cfg["Env"]) {
    if (!e.is_string()) continue;
    std::string kv = e.get<std::string>();
    if (kv.substr(0, kv.find('=')) == key) {
      e = key + "=" + value;
      return;
    }
  }
  cfg["Env"].push_back(key + "=" + value);
}

Json StringArray(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// "8080" → "8080/tcp"; "8000-8001/udp" → both ports.
Result<std::vector<std::string>> ExpandPort(const std::string& spec) {
  std::string port = spec, proto = "tcp";
  size_t slash = spec.find('/');
  if (slash != std::string::npos) {
    port = spec.substr(0, slash);
    proto = gotext::AsciiLower(spec.substr(slash + 1));
  }
  size_t dash = port.find('-');
  auto num = [](const std::string& s) -> std::optional<int> {
    if (s.empty() || s.size() > 5 ||
        s.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoi(s);
  };
  auto lo = num(port.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : num(port.substr(dash + 1));
  if (!lo || !hi || *hi < *lo)
    return InvalidArgumentError("invalid port " + spec);
  std::vector<std::string> out;
  for (int p = *lo; p <= *hi; ++p)
    out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

}  // namespace

Status Converter::Dispatch(StageState& s, const Command& cmd) {
  if (const auto* run = std::get_if<RunCommand>(&cmd))
    return DispatchRun(s, *run);
  if (const auto* c = std::get_if<CopyCommand>(&cmd)) {
    return DispatchCopy(s, *c, c->files, c->from, c->chown, c->chmod, c->link,
                        c->excludes, false, false, "", false, c->parents);
  }
  if (const auto* c = std::get_if<AddCommand>(&cmd)) {
    return DispatchCopy(s, *c, c->files, "", c->chown, c->chmod, c->link,
                        c->excludes, true, c->unpack.value_or(true),
                        c->checksum, c->keep_git_dir);
  }
  if (const auto* c = std::get_if<WorkdirCommand>(&cmd))
    return DispatchWorkdir(s, *c);
  return DispatchConfig(s, cmd);
}

Status Converter::DispatchConfig(StageState& s, const Command& cmd) {
  Json& cfg = s.image["config"];
  const CommandBase& base = BaseOf(cmd);
  auto expand = [&](const std::string& w) -> Result<std::string> {
    auto r = Expand(s, w);
    if (!r.ok()) return r.status().WithRange(base.range);
    return r;
  };
  if (const auto* c = std::get_if<ArgCommand>(&cmd)) {
    std::vector<std::string> commit;
    for (const ArgDefinition& a : c->args) {
      KILN_ASSIGN_OR_RETURN(std::string key, expand(a.key));
      std::optional<std::string> value;
      if (a.value) {
        KILN_ASSIGN_OR_RETURN(value, expand(*a.value));
      }
      commit.push_back(value ? key + "=" + *value : key);
      auto ba = options->build_args.find(key);
      if (ba != options->build_args.end()) {
        value = ba->second;
      } else if (!value) {
        for (const auto& [k, v] : meta_args) {
          if (k == key) value = v;
        }
      }
      if (value) s.state = s.state.AddEnv(key, *value);
      s.build_args.push_back({key, value});
    }
    std::string msg = "ARG";
    for (const auto& x : commit) msg += " " + x;
    AddHistory(s.image, msg, false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<EnvCommand>(&cmd)) {
    std::vector<std::pair<std::string, std::string>> kvs;
    for (const KeyValuePair& kv : c->env) {
      KILN_ASSIGN_OR_RETURN(std::string k, expand(kv.key));
      KILN_ASSIGN_OR_RETURN(std::string v, expand(kv.value));
      kvs.emplace_back(k, v);
    }
    std::string msg = "ENV";
    for (const auto& [k, v] : kvs) {
      msg += " " + k + "=" + v;
      SetConfigEnv(cfg, k, v);
      s.state = s.state.AddEnv(k, v);
    }
    AddHistory(s.image, msg, false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<LabelCommand>(&cmd)) {
    std::string msg = "LABEL";
    if (!cfg.contains("Labels") || !cfg["Labels"].is_object())
      cfg["Labels"] = Json::object();
    for (const KeyValuePair& kv : c->labels) {
      KILN_ASSIGN_OR_RETURN(std::string k, expand(kv.key));
      KILN_ASSIGN_OR_RETURN(std::string v, expand(kv.value));
      cfg["Labels"][k] = v;
      msg += " " + k + "=" + v;
    }
    AddHistory(s.image, msg, false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<ExposeCommand>(&cmd)) {
    std::map<std::string, int> ports;  // sorted as Go prints maps
    for (const std::string& p : c->ports) {
      auto words = ProcessWords(p, Lookup(s), {.escape = escape});
      if (!words.ok()) return words.status().WithRange(c->range);
      for (const std::string& w : *words) {
        auto expanded = ExpandPort(w);
        if (!expanded.ok()) return Invalid(*c, expanded.status().message());
        for (const auto& e : *expanded) ports[e] = 1;
      }
    }
    if (!cfg.contains("ExposedPorts") || !cfg["ExposedPorts"].is_object()) {
      cfg["ExposedPorts"] = Json::object();
    }
    std::string msg = "EXPOSE map[";
    bool first = true;
    for (const auto& [p, unused] : ports) {
      cfg["ExposedPorts"][p] = Json::object();
      msg += (first ? "" : " ") + p + ":{}";
      first = false;
    }
    AddHistory(s.image, msg + "]", false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<UserCommand>(&cmd)) {
    KILN_ASSIGN_OR_RETURN(std::string u, expand(c->user));
    s.state = s.state.User(u);
    cfg["User"] = u;
    AddHistory(s.image, "USER " + u, false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<VolumeCommand>(&cmd)) {
    if (!cfg.contains("Volumes") || !cfg["Volumes"].is_object())
      cfg["Volumes"] = Json::object();
    std::vector<std::string> vols;
    for (const std::string& v : c->volumes) {
      KILN_ASSIGN_OR_RETURN(std::string e, expand(v));
      if (e.empty())
        return Invalid(*c, "VOLUME specified can not be an empty string");
      cfg["Volumes"][e] = Json::object();
      vols.push_back(e);
    }
    std::string msg = "VOLUME [";
    for (size_t i = 0; i < vols.size(); ++i) msg += (i ? " " : "") + vols[i];
    AddHistory(s.image, msg + "]", false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<StopSignalCommand>(&cmd)) {
    KILN_ASSIGN_OR_RETURN(std::string sig, expand(c->signal));
    cfg["StopSignal"] = sig;
    AddHistory(s.image, "STOPSIGNAL " + sig, false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<MaintainerCommand>(&cmd)) {
    s.image["author"] = c->maintainer;
    AddHistory(s.image, "MAINTAINER " + c->maintainer, false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<HealthcheckCommand>(&cmd)) {
    const HealthConfig& h = c->health;
    Json hc = Json::object();
    hc["Test"] = StringArray(h.test);
    if (h.interval.count()) hc["Interval"] = h.interval.count();
    if (h.timeout.count()) hc["Timeout"] = h.timeout.count();
    if (h.start_period.count()) hc["StartPeriod"] = h.start_period.count();
    if (h.start_interval.count())
      hc["StartInterval"] = h.start_interval.count();
    if (h.retries) hc["Retries"] = h.retries;
    cfg["Healthcheck"] = hc;
    AddHistory(s.image,
               "HEALTHCHECK &{" + GoQuoteList(h.test) + " " +
                   gotext::Quote(GoDuration(h.interval)) + " " +
                   gotext::Quote(GoDuration(h.timeout)) + " " +
                   gotext::Quote(GoDuration(h.start_period)) + " " +
                   GoQuoteRune(h.retries) + "}",
               false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<CmdCommand>(&cmd)) {
    std::vector<std::string> args = c->command.args;
    if (c->command.prepend_shell) args = WithShell(s.image, args);
    cfg["Cmd"] = StringArray(args);
    cfg["ArgsEscaped"] = true;
    s.cmd_set = true;
    AddHistory(s.image, "CMD " + GoQuoteList(args), false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<EntrypointCommand>(&cmd)) {
    std::vector<std::string> args = c->command.args;
    if (c->command.prepend_shell) args = WithShell(s.image, args);
    cfg["Entrypoint"] = StringArray(args);
    if (!s.cmd_set) cfg.erase("Cmd");
    AddHistory(s.image, "ENTRYPOINT " + GoQuoteList(args), false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<ShellCommand>(&cmd)) {
    cfg["Shell"] = StringArray(c->shell);
    std::string msg = "SHELL [";
    for (size_t i = 0; i < c->shell.size(); ++i)
      msg += (i ? " " : "") + c->shell[i];
    AddHistory(s.image, msg + "]", false, false);
    return Status::Ok();
  }
  if (const auto* c = std::get_if<OnbuildCommand>(&cmd)) {
    if (!cfg.contains("OnBuild") || !cfg["OnBuild"].is_array())
      cfg["OnBuild"] = Json::array();
    cfg["OnBuild"].push_back(c->expression);
    AddHistory(s.image, "ONBUILD " + c->expression, false, false);
    return Status::Ok();
  }
  return Unimplemented(base, "instruction " + base.name);
}

}  // namespace kiln::dockerfile::convert
