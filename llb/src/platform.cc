#include "kiln/llb/platform.h"

#include <algorithm>
#include <cctype>

#include "solver/pb/ops.pb.h"

namespace kiln::llb {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool ValidComponent(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

bool KnownOs(std::string_view os) {
  static constexpr std::string_view kOses[] = {
      "aix",   "android", "darwin",  "dragonfly", "freebsd", "hurd",    "illumos",
      "ios",   "js",      "linux",   "nacl",      "netbsd",  "openbsd", "plan9",
      "solaris", "wasip1", "windows", "zos"};
  return std::find(std::begin(kOses), std::end(kOses), os) != std::end(kOses);
}

}  // namespace

Platform NormalizePlatform(Platform p) {
  p.os = Lower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = Lower(p.architecture);
  std::string variant = Lower(p.variant);
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8" || variant == "v8.0") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") {
      variant = "v7";
    } else if (variant == "5" || variant == "6" || variant == "8") {
      variant = "v" + variant;
    }
  }
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

Result<Platform> ParsePlatform(std::string_view spec) {
  auto fail = [&](std::string_view why) {
    return InvalidArgumentError("invalid platform \"" + std::string(spec) + "\": " +
                                std::string(why));
  };
  if (spec.empty()) return fail("empty");
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = spec.find('/', start);
    parts.push_back(spec.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 3) return fail("expected os/arch[/variant]");
  for (std::string_view part : parts) {
    if (!ValidComponent(part)) return fail("components must be [A-Za-z0-9_.-]+");
  }
  Platform p;
  std::string first = Lower(parts[0]);
  if (parts.size() == 1) {
    if (KnownOs(first)) {
      p.os = first;
      p.architecture = HostPlatform().architecture;
      p.variant = HostPlatform().variant;
    } else {
      p.os = HostPlatform().os;
      p.architecture = first;
    }
  } else if (parts.size() == 2) {
    if (KnownOs(first)) {
      p.os = first;
      p.architecture = std::string(parts[1]);
    } else {
      p.os = HostPlatform().os;
      p.architecture = first;
      p.variant = std::string(parts[1]);
    }
  } else {
    p.os = first;
    p.architecture = std::string(parts[1]);
    p.variant = std::string(parts[2]);
  }
  if (!KnownOs(p.os)) return fail("unknown operating system \"" + p.os + "\"");
  return NormalizePlatform(std::move(p));
}

std::string FormatPlatform(const Platform& p) {
  std::string out = p.os.empty() ? "unknown" : p.os;
  out += "/";
  out += p.architecture.empty() ? "unknown" : p.architecture;
  if (!p.variant.empty()) out += "/" + p.variant;
  return out;
}

const Platform& HostPlatform() {
  static const Platform host = [] {
    Platform p;
    p.os = "linux";
#if defined(__x86_64__)
    p.architecture = "amd64";
#elif defined(__aarch64__)
    p.architecture = "arm64";
#elif defined(__arm__)
    p.architecture = "arm";
    p.variant = "v7";
#elif defined(__i386__)
    p.architecture = "386";
#elif defined(__riscv) && __riscv_xlen == 64
    p.architecture = "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    p.architecture = "ppc64le";
#elif defined(__s390x__)
    p.architecture = "s390x";
#else
#error "unknown host architecture: add it to HostPlatform()"
#endif
    return NormalizePlatform(p);
  }();
  return host;
}

void ToProto(const Platform& p, pb::Platform* out) {
  out->set_os(p.os);
  out->set_architecture(p.architecture);
  out->set_variant(p.variant);
  out->set_osversion(p.os_version);
  out->clear_osfeatures();
  for (const auto& f : p.os_features) out->add_osfeatures(f);
}

Platform FromProto(const pb::Platform& p) {
  Platform out;
  out.os = p.os();
  out.architecture = p.architecture();
  out.variant = p.variant();
  out.os_version = p.osversion();
  out.os_features.assign(p.osfeatures().begin(), p.osfeatures().end());
  return out;
}

}  // namespace kiln::llb
