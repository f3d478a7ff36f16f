// kiln image …: the embedded image store, the registry, and image archives.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "flags.h"
#include "image_ops.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/image_store.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kImageUsage =
    R"(Usage: kiln [--root DIR] image COMMAND [ARGS...]

Manage the images in kiln's embedded store ($KILN_ROOT/images, an OCI image
layout that skopeo and umoci can read as oci:$KILN_ROOT/images:NAME).

Commands:
  ls        List images
  inspect   Show an image's descriptor, manifest and config as JSON
  tag       Give an image another name
  rm        Remove images (and the blobs no other image uses)
  import    Make an image from a rootfs directory or tarball
  pull      Copy an image from a registry into the store
  push      Copy an image from the store to a registry
  save      Write images to an OCI or Docker archive
  load      Read images from an OCI or Docker archive

Run 'kiln image COMMAND --help' for more about a command.
)";

constexpr std::string_view kLsUsage =
    R"(Usage: kiln image ls [--digests] [--format table|json]

Lists the images in the store: name, kind (manifest or index), digest, and
the size of the blobs the image uses that are in the store.
)";

constexpr std::string_view kInspectUsage =
    R"(Usage: kiln image inspect [--platform PLATFORM] NAME...

Prints, for each NAME, a JSON object: {"Name", "Descriptor", "Index" (for a
multi-platform image), "Manifest", "Config"}. The manifest is the one for
PLATFORM (default: this machine's platform).
)";

constexpr std::string_view kTagUsage = R"(Usage: kiln image tag SOURCE TARGET

Names the image SOURCE also TARGET (replacing what TARGET named before).
)";

constexpr std::string_view kRmUsage = R"(Usage: kiln image rm NAME...

Removes the names; blobs that no remaining image uses are deleted.
)";

std::string HumanSize(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", v, units[u]);
  return buf;
}

int64_t StoredSize(const solver::ImageStore& store,
                   const solver::oci::Descriptor& target) {
  auto closure = store.Closure(target);
  if (!closure.ok()) return 0;
  int64_t total = 0;
  for (const Digest& d : *closure) {
    if (auto info = store.content().Info(d); info.ok()) total += info->size;
  }
  return total;
}

int RunLs(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Bool("digests").Value("format");
  if (!flags.Parse(args))
    return UsageError(kLsUsage, "kiln image ls: " + flags.error());
  if (flags.help()) return PrintUsage(kLsUsage);
  std::string format = flags.GetOr("format", "table");
  if (format != "table" && format != "json") {
    return UsageError(kLsUsage,
                      "kiln image ls: --format must be table or json");
  }
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image ls");
  KILN_CLI_ASSIGN(auto images, store->List(), "kiln image ls");
  if (format == "json") {
    for (const auto& img : images) {
      nlohmann::ordered_json j;
      j["Name"] = img.name;
      j["MediaType"] = img.target.media_type;
      j["Digest"] = img.target.digest.str();
      j["Size"] = StoredSize(*store, img.target);
      std::printf("%s\n", j.dump().c_str());
    }
    return kExitOk;
  }
  std::printf("%-48s %-9s %-*s %s\n", "NAME", "KIND",
              flags.Has("digests") ? 71 : 12, "DIGEST", "SIZE");
  for (const auto& img : images) {
    auto ref = llb::ParseImageReference(img.name);
    std::string shown = ref.ok() ? ref->FamiliarString() : img.name;
    std::string digest =
        flags.Has("digests")
            ? img.target.digest.str()
            : std::string(img.target.digest.hex().substr(0, 12));
    const char* kind = solver::oci::IsIndexMediaType(img.target.media_type)
                           ? "index"
                           : "manifest";
    std::printf("%-48s %-9s %-*s %s\n", shown.c_str(), kind,
                flags.Has("digests") ? 71 : 12, digest.c_str(),
                HumanSize(StoredSize(*store, img.target)).c_str());
  }
  return kExitOk;
}

int RunInspect(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Value("platform");
  if (!flags.Parse(args))
    return UsageError(kInspectUsage, "kiln image inspect: " + flags.error());
  if (flags.help()) return PrintUsage(kInspectUsage);
  if (flags.positional().empty())
    return UsageError(kInspectUsage, "kiln image inspect: NAME missing");
  KILN_CLI_ASSIGN(llb::Platform platform, PlatformFlag(flags),
                  "kiln image inspect");
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image inspect");
  for (const std::string& name : flags.positional()) {
    KILN_CLI_ASSIGN(auto record, store->Get(name), "kiln image inspect");
    KILN_CLI_ASSIGN(std::string json, InspectJson(*store, record, platform),
                    "kiln image inspect " + name);
    std::printf("%s\n", json.c_str());
  }
  return kExitOk;
}

int RunTag(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  if (!flags.Parse(args))
    return UsageError(kTagUsage, "kiln image tag: " + flags.error());
  if (flags.help()) return PrintUsage(kTagUsage);
  if (flags.positional().size() != 2)
    return UsageError(kTagUsage, "kiln image tag: need SOURCE TARGET");
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image tag");
  KILN_CLI_ASSIGN(auto record, store->Get(flags.positional()[0]),
                  "kiln image tag");
  KILN_CLI_CHECK(store->Put(flags.positional()[1], record.target),
                 "kiln image tag");
  return kExitOk;
}

int RunRm(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  if (!flags.Parse(args))
    return UsageError(kRmUsage, "kiln image rm: " + flags.error());
  if (flags.help()) return PrintUsage(kRmUsage);
  if (flags.positional().empty())
    return UsageError(kRmUsage, "kiln image rm: NAME missing");
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image rm");
  int rc = kExitOk;
  for (const std::string& name : flags.positional()) {
    Status s = store->Remove(name);
    if (!s.ok()) {
      std::fprintf(stderr, "kiln image rm: %s\n", s.ToString().c_str());
      rc = kExitFailure;
      continue;
    }
    std::printf("removed %s\n", name.c_str());
  }
  return rc;
}

}  // namespace

int RunImage(Root& root, const std::vector<std::string>& args) {
  if (args.empty())
    return UsageError(kImageUsage, "kiln image: COMMAND missing");
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "-h" || cmd == "--help" || cmd == "help")
    return PrintUsage(kImageUsage);
  if (cmd == "ls" || cmd == "list") return RunLs(root, rest);
  if (cmd == "inspect") return RunInspect(root, rest);
  if (cmd == "tag") return RunTag(root, rest);
  if (cmd == "rm" || cmd == "remove") return RunRm(root, rest);
  if (cmd == "import") return RunImageImport(root, rest);
  if (cmd == "pull") return RunImagePull(root, rest);
  if (cmd == "push") return RunImagePush(root, rest);
  if (cmd == "save") return RunImageSave(root, rest);
  if (cmd == "load") return RunImageLoad(root, rest);
  return UsageError(kImageUsage, "kiln image: unknown command " + cmd);
}

}  // namespace kiln::cli
