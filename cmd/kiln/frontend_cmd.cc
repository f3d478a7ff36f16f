// kiln frontend …: the frontend images in the embedded store and the
// policy that chooses them (ls), and pins recorded by the CLI (pin, unpin).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "flags.h"
#include "frontend_pins.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/image_store.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kFrontendUsage =
    R"(Usage: kiln [--root DIR] frontend COMMAND [ARGS...]

Frontend images (gateway programs that turn a source language into LLB) and
the policy that chooses them (docs/frontends.md).

Commands:
  ls       List the frontend images in the store, the policy's remaps and pins
  pin      Pin a frontend image reference to a digest
  unpin    Remove a pin recorded by 'kiln frontend pin'

Run 'kiln frontend COMMAND --help' for more about a command.
)";

constexpr std::string_view kLsUsage = R"(Usage: kiln frontend ls

Lists what `dockerfile.v0` runs, the frontend images in the embedded store
(images whose config carries BuildKit's moby.buildkit.frontend.caps or
moby.buildkit.frontend.network.none label) with
their version label and digest, the policy's remaps, and every pin with
where it comes from and whether the store's image matches it.
)";

constexpr std::string_view kPinUsage =
    R"(Usage: kiln frontend pin REFERENCE [sha256:DIGEST]

Pins REFERENCE (e.g. kiln/dockerfile:1) to DIGEST: a build that resolves the
reference to anything else fails. Without DIGEST, the digest the reference
resolves to now (from the embedded store, else the registry) is pinned. The
pin is recorded in $KILN_ROOT/frontend-pins.toml; a pin for the same
reference in the operator config must agree with it.
)";

constexpr std::string_view kUnpinUsage = R"(Usage: kiln frontend unpin REFERENCE

Removes the pin 'kiln frontend pin' recorded for REFERENCE. Pins in the
operator config are changed there.
)";

// A frontend image carries at least one of BuildKit's frontend labels.
constexpr std::string_view kCapsLabel = "moby.buildkit.frontend.caps";
constexpr std::string_view kNetworkLabel =
    "moby.buildkit.frontend.network.none";
constexpr std::string_view kVersionLabel = "org.opencontainers.image.version";

std::string Shown(const std::string& ref) {
  auto parsed = llb::ParseImageReference(ref);
  return parsed.ok() ? parsed->FamiliarString() : ref;
}

Result<std::string> NormalizedTagged(const std::string& ref) {
  KILN_ASSIGN_OR_RETURN(llb::ImageReference parsed,
                        llb::ParseImageReference(ref));
  if (!parsed.digest.empty()) {
    return InvalidArgumentError("pin a tagged reference, not a digest: " + ref +
                                " already names one image");
  }
  return llb::TagNameOnly(parsed).String();
}

int RunLs(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  if (!flags.Parse(args))
    return UsageError(kLsUsage, "kiln frontend ls: " + flags.error());
  if (flags.help()) return PrintUsage(kLsUsage);
  if (!flags.positional().empty())
    return UsageError(kLsUsage, "kiln frontend ls: takes no arguments");
  KILN_CLI_ASSIGN(gateway::FrontendPolicy policy,
                  LoadOperatorPolicy(root.dir()), "kiln frontend ls");
  KILN_CLI_ASSIGN(auto cli_pins,
                  LoadFrontendPins(FrontendPinsPath(root.dir())),
                  "kiln frontend ls");
  KILN_CLI_ASSIGN(solver::ImageStore * store, root.Images(),
                  "kiln frontend ls");
  KILN_CLI_ASSIGN(auto images, store->List(), "kiln frontend ls");

  std::printf("dockerfile.v0: %s%s%s\n\n", Shown(policy.dockerfile).c_str(),
              policy.dockerfile_installed ? " (installed only)" : "",
              policy.dockerfile_enabled ? "" : " (disabled)");

  std::map<std::string, std::string> store_digest;  // name → digest
  std::printf("%-40s %-10s %-14s %s\n", "FRONTEND IMAGE", "VERSION", "DIGEST",
              "PINNED");
  const llb::Platform host = llb::HostPlatform();
  for (const solver::ImageRecord& img : images) {
    store_digest[img.name] = img.target.digest.str();
    auto resolved = store->Resolve(img.target, host);
    if (!resolved.ok()) continue;
    const auto& labels = resolved->config.config.labels;
    if (labels.find(std::string(kCapsLabel)) == labels.end() &&
        labels.find(std::string(kNetworkLabel)) == labels.end()) {
      continue;
    }
    std::string version = "-";
    if (auto v = labels.find(std::string(kVersionLabel)); v != labels.end())
      version = v->second;
    std::string pinned = "no";
    if (auto p = policy.pins.find(img.name); p != policy.pins.end()) {
      pinned = p->second == img.target.digest.str() ? "yes" : "MISMATCH";
    }
    std::printf("%-40s %-10s %-14s %s\n", Shown(img.name).c_str(),
                version.c_str(),
                std::string(img.target.digest.hex().substr(0, 12)).c_str(),
                pinned.c_str());
  }

  std::printf("\nREMAPS\n");
  if (policy.remaps.empty()) std::printf("  (none)\n");
  for (const gateway::FrontendRemap& r : policy.remaps) {
    std::printf("  %s → %s%s\n", r.from.c_str(), r.to.c_str(),
                r.installed ? " (installed only)" : "");
  }
  std::printf("\nPINS\n");
  if (policy.pins.empty()) std::printf("  (none)\n");
  for (const auto& [ref, digest] : policy.pins) {
    const char* from =
        cli_pins.count(ref) != 0 ? "kiln frontend pin" : "config";
    std::string state = "not in the store";
    if (auto s = store_digest.find(ref); s != store_digest.end()) {
      state = s->second == digest ? "store matches" : "store has " + s->second;
    }
    std::printf("  %s = %s (%s; %s)\n", Shown(ref).c_str(), digest.c_str(),
                from, state.c_str());
  }
  return kExitOk;
}

int RunPin(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  if (!flags.Parse(args))
    return UsageError(kPinUsage, "kiln frontend pin: " + flags.error());
  if (flags.help()) return PrintUsage(kPinUsage);
  const auto& pos = flags.positional();
  if (pos.empty() || pos.size() > 2) {
    return UsageError(kPinUsage,
                      "kiln frontend pin: expected REFERENCE [DIGEST]");
  }
  KILN_CLI_ASSIGN(std::string ref, NormalizedTagged(pos[0]),
                  "kiln frontend pin");
  std::string digest;
  if (pos.size() == 2) {
    KILN_CLI_ASSIGN(Digest d, Digest::Parse(pos[1]), "kiln frontend pin");
    digest = d.str();
  } else {
    KILN_CLI_ASSIGN(solver::ImageStore * images, root.Images(),
                    "kiln frontend pin");
    KILN_CLI_ASSIGN(solver::Snapshotter * snapshots, root.Snapshots(),
                    "kiln frontend pin");
    KILN_CLI_ASSIGN(solver::RegistryClient * registry, root.Registry(),
                    "kiln frontend pin");
    solver::ImageSource source(images, registry, snapshots, {});
    // The same resolution the frontend runner checks pins against.
    KILN_CLI_ASSIGN(
        auto resolved,
        source.ResolveImageConfig(ref, llb::HostPlatform(),
                                  solver::ResolveMode::kPreferLocal),
        "kiln frontend pin");
    digest = resolved.digest.str();
  }
  const std::string path = FrontendPinsPath(root.dir());
  KILN_CLI_ASSIGN(auto pins, LoadFrontendPins(path), "kiln frontend pin");
  pins[ref] = digest;
  KILN_CLI_CHECK(SaveFrontendPins(path, pins), "kiln frontend pin");
  // Refuse to leave a pin the operator config contradicts.
  if (auto policy = LoadOperatorPolicy(root.dir()); !policy.ok()) {
    pins.erase(ref);
    SaveFrontendPins(path, pins).IgnoreError();
    return Fail("kiln frontend pin", policy.status());
  }
  std::printf("pinned %s to %s\n", Shown(ref).c_str(), digest.c_str());
  return kExitOk;
}

int RunUnpin(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  if (!flags.Parse(args))
    return UsageError(kUnpinUsage, "kiln frontend unpin: " + flags.error());
  if (flags.help()) return PrintUsage(kUnpinUsage);
  if (flags.positional().size() != 1)
    return UsageError(kUnpinUsage, "kiln frontend unpin: expected REFERENCE");
  KILN_CLI_ASSIGN(std::string ref, NormalizedTagged(flags.positional()[0]),
                  "kiln frontend unpin");
  const std::string path = FrontendPinsPath(root.dir());
  KILN_CLI_ASSIGN(auto pins, LoadFrontendPins(path), "kiln frontend unpin");
  if (pins.erase(ref) == 0) {
    return Fail("kiln frontend unpin",
                NotFoundError(Shown(ref) + " has no pin recorded by kiln "
                                           "frontend pin (pins in the "
                                           "operator config are changed "
                                           "there)"));
  }
  KILN_CLI_CHECK(SaveFrontendPins(path, pins), "kiln frontend unpin");
  std::printf("unpinned %s\n", Shown(ref).c_str());
  return kExitOk;
}

}  // namespace

int RunFrontend(Root& root, const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kFrontendUsage.data(), stderr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help")
    return PrintUsage(kFrontendUsage);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "ls") return RunLs(root, rest);
  if (args[0] == "pin") return RunPin(root, rest);
  if (args[0] == "unpin") return RunUnpin(root, rest);
  return UsageError(kFrontendUsage,
                    "kiln frontend: unknown command " + args[0]);
}

}  // namespace kiln::cli
