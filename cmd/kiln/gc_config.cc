// The GC settings of kiln.toml (gc_config.h). The only file of the CLI that
// includes toml++ (heavy to compile).
#include "gc_config.h"

#include <sys/statvfs.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::cli {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

// buildkitd's [worker.oci] settings that are not GC's: max-parallelism is
// read by the engine's own config (kilnd); `enabled = true` says what is
// true anyway. The rest (platforms, snapshotter, rootless, apparmor, …) are
// refused rather than ignored: kiln does not do what they ask.
bool IsEngineKey(std::string_view key) {
  return key == "max-parallelism" || key == "binary";
}
bool IsUnsupportedBuildkitdKey(std::string_view key) {
  for (std::string_view k :
       {"labels", "platforms", "snapshotter", "rootless", "noProcessSandbox",
        "proxySnapshotterPath", "apparmor-profile", "selinux", "cniPoolSize",
        "defaultCgroupParent", "stargzSnapshotter"}) {
    if (key == k) return true;
  }
  return false;
}

// The document, or InvalidArgument "<source>:<line>:<col>: <what>".
Result<toml::table> ParseToml(std::string_view text,
                              std::string_view source_name) {
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return InvalidArgumentError(std::string(source_name) + ":" +
                                std::to_string(error.source().begin.line) +
                                ":" +
                                std::to_string(error.source().begin.column) +
                                ": " + std::string(error.description()));
  }
  return std::move(parsed).table();
}

class Loader {
 public:
  Loader(std::string_view source, int64_t disk_bytes)
      : source_(source), disk_bytes_(disk_bytes) {}

  Status Error(const toml::node& node, const std::string& what) const {
    return InvalidArgumentError(std::string(source_) + ":" +
                                std::to_string(node.source().begin.line) + ":" +
                                std::to_string(node.source().begin.column) +
                                ": gc config: " + what);
  }

  Result<int64_t> Size(const toml::node& node, const std::string& key) const {
    if (node.is_integer()) {
      int64_t v = *node.value<int64_t>();
      if (v < 0) return Error(node, key + " must not be negative");
      return v;
    }
    if (!node.is_string()) {
      return Error(node, key + " must be a size (\"10GB\", \"10%\" or bytes)");
    }
    Result<int64_t> size =
        ParseByteSize(*node.value<std::string>(), disk_bytes_);
    if (!size.ok()) return Error(node, key + ": " + size.status().message());
    return size;
  }

  Result<int64_t> Duration(const toml::node& node,
                           const std::string& key) const {
    if (node.is_integer()) {  // seconds, as buildkitd
      int64_t v = *node.value<int64_t>();
      if (v < 0 || v > int64_t{9'000'000'000}) {
        return Error(node, key + ": seconds out of range");
      }
      return v * 1'000'000'000;
    }
    if (!node.is_string()) {
      return Error(node, key + " must be a duration (\"48h\") or seconds");
    }
    Result<int64_t> d = solver::ParseGcDuration(*node.value<std::string>());
    if (!d.ok()) return Error(node, key + ": " + d.status().message());
    return d;
  }

  Result<solver::PruneOptions> Policy(const toml::node& node) const {
    const toml::table* table = node.as_table();
    if (table == nullptr) return Error(node, "gcpolicy entries must be tables");
    solver::PruneOptions p;
    for (const auto& [k, v] : *table) {
      const std::string key(k.str());
      const std::string name = "gcpolicy." + key;
      if (key == "all") {
        if (!v.is_boolean()) return Error(v, name + " must be a bool");
        p.all = *v.value<bool>();
      } else if (key == "keepDuration") {
        KILN_ASSIGN_OR_RETURN(p.keep_duration_ns, Duration(v, name));
      } else if (key == "filters") {
        const toml::array* array = v.as_array();
        if (array == nullptr) {
          return Error(v, name + " must be an array of strings");
        }
        for (const toml::node& item : *array) {
          if (!item.is_string())
            return Error(item, name + " must hold strings");
          p.filters.push_back(*item.value<std::string>());
        }
        // Checked now, so that a typo fails at startup, not at the first GC.
        if (Status ok = solver::CheckGcFilters(p.filters); !ok.ok()) {
          return Error(v, name + ": " + ok.message());
        }
      } else if (key == "reservedSpace" || key == "keepBytes") {
        KILN_ASSIGN_OR_RETURN(p.reserved_space, Size(v, name));
      } else if (key == "maxUsedSpace") {
        KILN_ASSIGN_OR_RETURN(p.max_used_space, Size(v, name));
      } else if (key == "minFreeSpace") {
        KILN_ASSIGN_OR_RETURN(p.min_free_space, Size(v, name));
      } else {
        return Error(v, "unknown key \"" + key +
                            "\" in [[worker.oci.gcpolicy]] (all, "
                            "keepDuration, filters, reservedSpace, "
                            "keepBytes, maxUsedSpace, minFreeSpace)");
      }
    }
    return p;
  }

  Result<std::vector<solver::PruneOptions>> Worker(
      const toml::table& oci) const {
    bool enabled = true;
    int64_t reserved = 0, max_used = 0, min_free = 0;
    std::vector<solver::PruneOptions> policies;
    bool has_policies = false;
    for (const auto& [k, v] : oci) {
      const std::string key(k.str());
      if (key == "gc") {
        if (!v.is_boolean()) return Error(v, "gc must be a bool");
        enabled = *v.value<bool>();
      } else if (key == "gckeepstorage" || key == "reservedSpace") {
        KILN_ASSIGN_OR_RETURN(reserved, Size(v, key));
      } else if (key == "maxUsedSpace") {
        KILN_ASSIGN_OR_RETURN(max_used, Size(v, key));
      } else if (key == "minFreeSpace") {
        KILN_ASSIGN_OR_RETURN(min_free, Size(v, key));
      } else if (key == "gcpolicy") {
        const toml::array* array = v.as_array();
        if (array == nullptr) {
          return Error(v,
                       "gcpolicy must be an array of tables "
                       "([[worker.oci.gcpolicy]])");
        }
        has_policies = true;
        for (const toml::node& item : *array) {
          KILN_ASSIGN_OR_RETURN(solver::PruneOptions p, Policy(item));
          policies.push_back(std::move(p));
        }
      } else if (IsEngineKey(key)) {
        continue;  // not GC's business
      } else if (key == "enabled") {
        if (!v.is_boolean() || !v.as_boolean()->get()) {
          return Error(v,
                       "[worker.oci] enabled must be true: kiln's engine is "
                       "its only worker");
        }
      } else if (IsUnsupportedBuildkitdKey(key)) {
        return Error(v, "buildkitd's [worker.oci] " + key +
                            " is not supported by kiln (remove it)");
      } else {
        return Error(v, "unknown key \"" + key +
                            "\" in [worker.oci] (gc, gckeepstorage, "
                            "reservedSpace, maxUsedSpace, minFreeSpace, "
                            "gcpolicy)");
      }
    }
    if (!enabled) return std::vector<solver::PruneOptions>();
    if (has_policies) return policies;
    return Defaults(reserved, max_used, min_free);
  }

  std::vector<solver::PruneOptions> Defaults(int64_t reserved, int64_t max_used,
                                             int64_t min_free) const {
    if (reserved == 0 && max_used == 0 && min_free == 0 && disk_bytes_ > 0) {
      reserved = std::min(disk_bytes_ / 10, 10 * kGiB);
      max_used = std::min(disk_bytes_ / 10 * 8, 100 * kGiB);
      min_free = disk_bytes_ / 5;
    }
    return DefaultGcPolicies(reserved, max_used, min_free);
  }

 private:
  std::string_view source_;
  int64_t disk_bytes_;
};

}  // namespace

Result<int64_t> ParseByteSize(std::string_view text, int64_t disk_bytes) {
  auto bad = [&] {
    return InvalidArgumentError("invalid size \"" + std::string(text) +
                                "\" (expected e.g. 512MB, 10GB, 10% or bytes)");
  };
  std::string s(text);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  if (s.empty()) return bad();
  if (s.back() == '%') {
    s.pop_back();
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return bad();
    }
    int64_t pct = std::stoll(s);
    if (pct > 100) return bad();
    return disk_bytes / 100 * pct;
  }
  size_t i = 0;
  while (i < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
    ++i;
  }
  if (i == 0) return bad();
  char* end = nullptr;
  const std::string number = s.substr(0, i);
  double value = std::strtod(number.c_str(), &end);
  if (end == nullptr || *end != '\0') return bad();
  std::string unit = s.substr(i);
  if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  for (char& c : unit) c = static_cast<char>(std::tolower(c));
  double scale = 1;
  if (!unit.empty() &&
      std::string_view("kmgtp").find(unit[0]) != std::string_view::npos) {
    scale = std::pow(1024.0, 1 + std::string_view("kmgtp").find(unit[0]));
    unit.erase(0, 1);
    if (!unit.empty() && unit[0] == 'i') unit.erase(0, 1);
  }
  if (unit != "" && unit != "b") return bad();
  double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes > 9.2e18) return bad();
  return static_cast<int64_t>(bytes);
}

int64_t DiskBytesOf(const std::string& dir) {
  std::filesystem::path p = dir;
  for (; !p.empty(); p = p.parent_path()) {
    struct statvfs vfs {};
    if (statvfs(p.c_str(), &vfs) == 0) {
      return static_cast<int64_t>(vfs.f_blocks) *
             static_cast<int64_t>(vfs.f_frsize);
    }
    if (p == p.parent_path()) break;
  }
  return 0;
}

std::vector<solver::PruneOptions> DefaultGcPolicies(int64_t reserved,
                                                    int64_t max_used,
                                                    int64_t min_free) {
  constexpr int64_t kHour = int64_t{3600} * 1'000'000'000;
  std::vector<solver::PruneOptions> out(4);
  out[0].filters = {
      "type~=^(source\\.local|exec\\.cachemount|source\\.git\\.checkout)$"};
  out[0].keep_duration_ns = 48 * kHour;
  out[0].max_used_space = 512'000'000;
  out[1].keep_duration_ns = 60 * 24 * kHour;
  for (size_t i = 1; i < out.size(); ++i) {
    out[i].reserved_space = reserved;
    out[i].max_used_space = max_used;
    out[i].min_free_space = min_free;
  }
  out[3].all = true;
  return out;
}

Result<std::vector<solver::PruneOptions>> ParseGcConfig(
    std::string_view text, std::string_view source_name, int64_t disk_bytes) {
  KILN_ASSIGN_OR_RETURN(toml::table doc, ParseToml(text, source_name));
  Loader loader(source_name, disk_bytes);
  const toml::node* worker = doc.get("worker");
  if (worker == nullptr) return loader.Defaults(0, 0, 0);
  const toml::table* workers = worker->as_table();
  if (workers == nullptr)
    return loader.Error(*worker, "worker must be a table");
  const toml::node* oci = workers->get("oci");
  if (oci == nullptr) return loader.Defaults(0, 0, 0);
  const toml::table* table = oci->as_table();
  if (table == nullptr) return loader.Error(*oci, "worker.oci must be a table");
  return loader.Worker(*table);
}

namespace {

// The text of the config file at `path`. NotFound when it cannot be opened.
Result<std::string> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFoundError("reading config " + path + ": cannot open the file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::vector<solver::PruneOptions>> LoadGcPolicies(
    const std::string& config_path, const std::string& root_dir) {
  const int64_t disk = DiskBytesOf(root_dir);
  if (config_path.empty()) return ParseGcConfig("", "defaults", disk);
  KILN_ASSIGN_OR_RETURN(std::string text, ReadConfigFile(config_path));
  return ParseGcConfig(text, config_path, disk);
}

Result<WorkerSettings> ParseWorkerSettings(std::string_view text,
                                           std::string_view source_name) {
  KILN_ASSIGN_OR_RETURN(toml::table table, ParseToml(text, source_name));
  auto located = [&](const toml::node& n, const std::string& what) {
    return InvalidArgumentError(
        std::string(source_name) + ":" + std::to_string(n.source().begin.line) +
        ":" + std::to_string(n.source().begin.column) + ": " + what);
  };
  WorkerSettings out;
  toml::node_view oci = table["worker"]["oci"];
  if (const toml::node* b = oci["binary"].node()) {
    if (!b->is_string() || b->as_string()->get().empty()) {
      return located(*b, "worker.oci.binary must be a runtime name or path");
    }
    out.binary = b->as_string()->get();
  }
  if (const toml::node* mp = oci["max-parallelism"].node()) {
    if (!mp->is_integer() || mp->as_integer()->get() < 1 ||
        mp->as_integer()->get() > 1024) {
      return located(*mp,
                     "worker.oci.max-parallelism must be a number from 1 to "
                     "1024");
    }
    out.max_parallelism = static_cast<int>(mp->as_integer()->get());
  }
  return out;
}

Result<WorkerSettings> LoadWorkerSettings(const std::string& config_path) {
  if (config_path.empty()) return WorkerSettings{};
  KILN_ASSIGN_OR_RETURN(std::string text, ReadConfigFile(config_path));
  return ParseWorkerSettings(text, config_path);
}

}  // namespace kiln::cli
