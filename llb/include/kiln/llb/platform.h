// OCI platforms ("linux/amd64", "linux/arm/v7") with containerd's
// normalization rules, so that kiln names platforms exactly as BuildKit does.
#ifndef KILN_LLB_PLATFORM_H_
#define KILN_LLB_PLATFORM_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace pb {
class Platform;
}

namespace kiln::llb {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;

  friend bool operator==(const Platform&, const Platform&) = default;
};

// Parses "os[/arch[/variant]]" or "arch[/variant]" (os defaults to the host's,
// as containerd does) and normalizes the result. InvalidArgument on malformed
// input, quoting it.
Result<Platform> ParsePlatform(std::string_view spec);

// containerd's Normalize: lowercase os, canonical architecture names
// (x86_64 → amd64, aarch64 → arm64, armhf → arm/v7 …) and variants
// (arm64/v8 → arm64, arm → arm/v7, amd64/v1 → amd64).
Platform NormalizePlatform(Platform p);

// "os/arch[/variant]".
std::string FormatPlatform(const Platform& p);

// The platform kiln itself runs on, normalized (e.g. linux/amd64).
const Platform& HostPlatform();

// Conversions to and from the wire message.
void ToProto(const Platform& p, pb::Platform* out);
Platform FromProto(const pb::Platform& p);

}  // namespace kiln::llb

#endif  // KILN_LLB_PLATFORM_H_
