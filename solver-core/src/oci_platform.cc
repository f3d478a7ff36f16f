// Platform matching and manifest selection, as containerd's default matcher.
#include "kiln/solver/oci.h"

namespace kiln::solver::oci {

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
