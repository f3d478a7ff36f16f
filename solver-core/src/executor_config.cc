// The OCI runtime config and the generated /etc files of RuncExecutor.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/solver/executor.h"

namespace kiln::solver {
namespace {

using nlohmann::json;

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's and BuildKit's default capability set.
const std::vector<std::string>& DefaultCaps() {
  static const std::vector<std::string> caps = {"CAP_CHOWN",
                                                "CAP_DAC_OVERRIDE",
                                                "CAP_FSETID",
                                                "CAP_FOWNER",
                                                "CAP_MKNOD",
                                                "CAP_NET_RAW",
                                                "CAP_SETGID",
                                                "CAP_SETUID",
                                                "CAP_SETFCAP",
                                                "CAP_SETPCAP",
                                                "CAP_NET_BIND_SERVICE",
                                                "CAP_SYS_CHROOT",
                                                "CAP_KILL",
                                                "CAP_AUDIT_WRITE"};
  return caps;
}

const std::set<std::string>& KnownRlimits() {
  static const std::set<std::string> names = {
      "AS",      "CORE",     "CPU",        "DATA",   "FSIZE", "LOCKS",
      "MEMLOCK", "MSGQUEUE", "NICE",       "NOFILE", "NPROC", "RSS",
      "RTPRIO",  "RTTIME",   "SIGPENDING", "STACK"};
  return names;
}

json MountJson(const std::string& dest, const std::string& type,
               const std::string& source,
               const std::vector<std::string>& options) {
  return json{{"destination", dest},
              {"type", type},
              {"source", source},
              {"options", options}};
}

// The mounts every container gets (runc spec's defaults).
json DefaultMounts() {
  json m = json::array();
  m.push_back(
      MountJson("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(MountJson("/dev", "tmpfs", "tmpfs",
                        {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  m.push_back(MountJson("/dev/pts", "devpts", "devpts",
                        {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                         "mode=0620", "gid=5"}));
  m.push_back(
      MountJson("/dev/shm", "tmpfs", "shm",
                {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  m.push_back(MountJson("/dev/mqueue", "mqueue", "mqueue",
                        {"nosuid", "noexec", "nodev"}));
  m.push_back(
      MountJson("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  m.push_back(MountJson("/sys/fs/cgroup", "cgroup", "cgroup",
                        {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  return m;
}

bool HasOption(const std::vector<std::string>& opts, std::string_view o) {
  return std::find(opts.begin(), opts.end(), o) != opts.end();
}

}  // namespace

Mount TmpfsMount(int64_t size_bytes) {
  Mount m{"tmpfs", "tmpfs", {"nosuid", "nodev"}};
  if (size_bytes > 0) m.options.push_back("size=" + std::to_string(size_bytes));
  return m;
}

std::string HostsFileContent(const std::string& hostname,
                             const std::vector<HostEntry>& extra_hosts) {
  std::string out = "127.0.0.1\tlocalhost";
  if (!hostname.empty()) out += " " + hostname;
  out += "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const HostEntry& h : extra_hosts) out += h.ip + "\t" + h.host + "\n";
  return out;
}

std::string ResolvConfContent(std::string_view host_resolv,
                              NetworkMode network) {
  std::string out;
  bool have_ns = false;
  size_t start = 0;
  while (start < host_resolv.size()) {
    size_t end = host_resolv.find('\n', start);
    if (end == std::string_view::npos) end = host_resolv.size();
    std::string_view line = host_resolv.substr(start, end - start);
    start = end + 1;
    if (line.rfind("nameserver", 0) == 0) {
      std::string_view addr = line.substr(10);
      while (!addr.empty() && std::isspace(static_cast<unsigned char>(addr[0])))
        addr.remove_prefix(1);
      bool loopback = addr.rfind("127.", 0) == 0 || addr.rfind("::1", 0) == 0;
      if (loopback && network != NetworkMode::kHost) continue;
      have_ns = true;
    }
    out.append(line);
    out += '\n';
  }
  if (!have_ns) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

Result<std::string> RuncConfigJson(const ExecSpec& spec, const ExecUser& user,
                                   const std::string& hosts_path,
                                   const std::string& resolv_path) {
  std::vector<std::string> env = spec.env;
  bool have_path = std::any_of(env.begin(), env.end(), [](const auto& e) {
    return e.rfind("PATH=", 0) == 0;
  });
  if (!have_path) env.insert(env.begin(), kDefaultPath);

  json rlimits = json::array();
  bool have_nofile = false;
  for (const Ulimit& u : spec.ulimits) {
    std::string name = u.name;
    for (char& c : name) c = static_cast<char>(std::toupper(c));
    if (name.rfind("RLIMIT_", 0) == 0) name = name.substr(7);
    if (!KnownRlimits().contains(name)) {
      return InvalidArgumentError("unknown ulimit \"" + u.name + "\"");
    }
    if (name == "NOFILE") have_nofile = true;
    rlimits.push_back(
        {{"type", "RLIMIT_" + name}, {"soft", u.soft}, {"hard", u.hard}});
  }
  if (!have_nofile) {
    rlimits.push_back(
        {{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 1024}});
  }

  json process = {
      {"terminal", spec.terminal},
      {"user",
       {{"uid", user.uid},
        {"gid", user.gid},
        {"additionalGids", user.additional_gids}}},
      {"args", spec.args},
      {"env", env},
      {"cwd", spec.cwd},
      {"capabilities",
       {{"bounding", DefaultCaps()},
        {"effective", DefaultCaps()},
        {"permitted", DefaultCaps()}}},
      {"rlimits", rlimits},
      {"noNewPrivileges", true},
  };

  json mounts = DefaultMounts();
  mounts.push_back(
      MountJson("/etc/hosts", "bind", hosts_path, {"rbind", "ro", "nosuid"}));
  mounts.push_back(MountJson("/etc/resolv.conf", "bind", resolv_path,
                             {"rbind", "ro", "nosuid"}));
  std::vector<const ExecMount*> extra;
  for (const ExecMount& m : spec.mounts) extra.push_back(&m);
  std::stable_sort(
      extra.begin(), extra.end(),
      [](const ExecMount* a, const ExecMount* b) { return a->dest < b->dest; });
  for (const ExecMount* m : extra) {
    std::vector<std::string> opts = m->mount.options;
    if (m->mount.type == "bind" && !HasOption(opts, "bind") &&
        !HasOption(opts, "rbind")) {
      opts.push_back("rbind");
    }
    if (m->readonly && !HasOption(opts, "ro")) {
      std::erase(opts, std::string("rw"));
      opts.push_back("ro");
    }
    mounts.push_back(MountJson(m->dest, m->mount.type, m->mount.source, opts));
  }

  json namespaces = json::array({{{"type", "pid"}},
                                 {{"type", "ipc"}},
                                 {{"type", "uts"}},
                                 {{"type", "mount"}}});
  if (spec.network == NetworkMode::kNone) {
    namespaces.push_back({{"type", "network"}});
  }

  json config = {
      {"ociVersion", "1.0.2-dev"},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", spec.readonly_rootfs}}},
      {"hostname", spec.hostname},
      {"mounts", mounts},
      {"linux",
       {{"namespaces", namespaces},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
          "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
          "/proc/sysrq-trigger"}}}},
  };
  try {
    return config.dump(2);
  } catch (const json::exception& e) {
    // Invalid UTF-8 in args or env.
    return InvalidArgumentError(std::string("encoding config.json: ") +
                                e.what());
  }
}

}  // namespace kiln::solver
