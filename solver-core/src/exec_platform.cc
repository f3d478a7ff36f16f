// CheckExecPlatform: native sub-architectures, then binfmt_misc handlers
// matched against an ELF executable header of the target architecture.
#include "kiln/solver/exec_platform.h"

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace kiln::solver {
namespace {

// What identifies an architecture's executables: ELF class, byte order and
// e_machine; `qemu` is the name its qemu-user emulator has.
struct ElfArch {
  const char* arch;  // OCI architecture
  const char* qemu;
  uint8_t elf_class;  // 1 = 32-bit, 2 = 64-bit
  uint8_t data;       // 1 = little endian, 2 = big endian
  uint16_t machine;
};

constexpr ElfArch kArchs[] = {
    {"386", "i386", 1, 1, 3},
    {"amd64", "x86_64", 2, 1, 62},
    {"arm", "arm", 1, 1, 40},
    {"arm64", "aarch64", 2, 1, 183},
    {"ppc64le", "ppc64le", 2, 1, 21},
    {"ppc64", "ppc64", 2, 2, 21},
    {"s390x", "s390x", 2, 2, 22},
    {"riscv64", "riscv64", 2, 1, 243},
    {"mips64le", "mips64el", 2, 1, 8},
    {"mips64", "mips64", 2, 2, 8},
    {"mipsle", "mipsel", 1, 1, 8},
    {"mips", "mips", 1, 2, 8},
    {"loong64", "loongarch64", 2, 1, 258},
};

const ElfArch* FindArch(const std::string& arch) {
  for (const ElfArch& a : kArchs) {
    if (arch == a.arch) return &a;
  }
  return nullptr;
}

// The first 24 bytes of an executable (ET_EXEC) of `a`, then zeros.
std::vector<uint8_t> ElfHeader(const ElfArch& a) {
  std::vector<uint8_t> h(64, 0);
  h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F';
  h[4] = a.elf_class, h[5] = a.data, h[6] = 1;
  auto put16 = [&](size_t at, uint16_t v) {
    h[at + (a.data == 1 ? 0 : 1)] = static_cast<uint8_t>(v & 0xff);
    h[at + (a.data == 1 ? 1 : 0)] = static_cast<uint8_t>(v >> 8);
  };
  put16(16, 2);  // e_type ET_EXEC
  put16(18, a.machine);
  h[a.data == 1 ? 20 : 23] = 1;  // e_version
  return h;
}

struct Handler {
  std::string name;
  bool enabled = false;
  std::string interpreter;
  std::string flags;
  size_t offset = 0;
  std::vector<uint8_t> magic;
  std::vector<uint8_t> mask;
};

std::optional<std::vector<uint8_t>> Hex(const std::string& s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(s.c_str() + i, "%2x", &v) != 1) return std::nullopt;
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::optional<Handler> ReadHandler(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Handler h;
  h.name = path.filename().string();
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    words >> key;
    std::getline(words >> std::ws, value);
    if (key == "enabled") h.enabled = true;
    if (key == "interpreter") h.interpreter = value;
    if (key == "flags:") h.flags = value;
    if (key == "offset") h.offset = std::strtoul(value.c_str(), nullptr, 10);
    if (key == "magic") h.magic = Hex(value).value_or(std::vector<uint8_t>{});
    if (key == "mask") h.mask = Hex(value).value_or(std::vector<uint8_t>{});
  }
  if (h.magic.empty()) return std::nullopt;  // an extension handler
  return h;
}

bool Matches(const Handler& h, const std::vector<uint8_t>& header) {
  if (h.offset + h.magic.size() > header.size()) return false;
  for (size_t i = 0; i < h.magic.size(); ++i) {
    uint8_t m = i < h.mask.size() ? h.mask[i] : 0xff;
    if ((header[h.offset + i] & m) != (h.magic[i] & m)) return false;
  }
  return true;
}

std::string FirstLine(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

bool RunsNatively(const llb::Platform& target, const llb::Platform& host) {
  llb::Platform t = llb::NormalizePlatform(target);
  llb::Platform h = llb::NormalizePlatform(host);
  if (t.os != h.os) return false;
  if (t.architecture == h.architecture) return true;
  if (h.architecture == "amd64") return t.architecture == "386";
  if (h.architecture == "arm64") return t.architecture == "arm";
  return false;
}

Status CheckExecPlatform(const llb::Platform& target, const llb::Platform& host,
                         const std::string& binfmt_dir) {
  if (RunsNatively(target, host)) return Status::Ok();
  llb::Platform t = llb::NormalizePlatform(target);
  std::string what =
      "cannot run " + llb::FormatPlatform(t) + " binaries on this " +
      llb::FormatPlatform(llb::NormalizePlatform(host)) + " host: ";
  if (t.os != llb::NormalizePlatform(host).os) {
    return FailedPreconditionError(what + "it runs " +
                                   llb::NormalizePlatform(host).os +
                                   " processes only");
  }
  const ElfArch* arch = FindArch(t.architecture);
  if (arch == nullptr) {
    return FailedPreconditionError(
        what + "kiln knows no executable format of architecture " +
        t.architecture + " to find an emulator for");
  }
  namespace fs = std::filesystem;
  std::string qemu = arch->qemu;
  std::string install =
      "install qemu-user-static and register it, e.g. "
      "with update-binfmts";
  std::error_code ec;
  if (!fs::exists(fs::path(binfmt_dir) / "status", ec)) {
    return FailedPreconditionError(what + "no binfmt_misc handler for " + qemu +
                                   " (" + install + "; " + binfmt_dir +
                                   " is not mounted)");
  }
  if (FirstLine(fs::path(binfmt_dir) / "status") != "enabled") {
    return FailedPreconditionError(what + "binfmt_misc is disabled (" +
                                   binfmt_dir +
                                   "/status; enable it with "
                                   "`echo 1 > " +
                                   binfmt_dir + "/status`)");
  }
  std::vector<uint8_t> header = ElfHeader(*arch);
  std::optional<Handler> disabled, unfixed;
  for (const auto& entry : fs::directory_iterator(binfmt_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == "status" || name == "register") continue;
    std::optional<Handler> h = ReadHandler(entry.path());
    if (!h || !Matches(*h, header)) continue;
    if (!h->enabled) {
      disabled = h;
      continue;
    }
    if (h->flags.find('F') == std::string::npos) {
      unfixed = h;
      continue;
    }
    return Status::Ok();
  }
  if (unfixed) {
    return FailedPreconditionError(
        what + "the binfmt_misc handler " + unfixed->name + " for " + qemu +
        " (interpreter " + unfixed->interpreter +
        ") lacks the F (fix binary) flag, so containers cannot reach its "
        "interpreter; register it again with the F flag (update-binfmts "
        "with --fix-binary yes, as qemu-user-static's package does)");
  }
  if (disabled) {
    return FailedPreconditionError(what + "the binfmt_misc handler " +
                                   disabled->name + " for " + qemu +
                                   " is disabled (enable it with `echo 1 > " +
                                   binfmt_dir + "/" + disabled->name + "`)");
  }
  return FailedPreconditionError(what + "no binfmt_misc handler for " + qemu +
                                 " (" + install + ")");
}

}  // namespace kiln::solver
