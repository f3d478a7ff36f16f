// kiln image import|pull|push|save|load: images into and out of the store.
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "flags.h"
#include "image_ops.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/image_archive.h"
#include "kiln/solver/image_import.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/registry.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kImportUsage =
    R"(Usage: kiln image import [--config FILE] [--platform PLATFORM] [--created TIME]
                         [--message TEXT] SOURCE NAME

Makes a one-layer image NAME from SOURCE, a root file system directory or a
tar file (plain, gzip or zstd), and stores it. The layer is deterministic:
entries sorted, numeric owners kept, gzip without name or time; with
$SOURCE_DATE_EPOCH set, file times are clamped to it and it is the creation
time, so the same input gives the same image digest.

Options:
  --config FILE       Image config (OCI or Docker JSON) to start from: Env,
                      Cmd, Entrypoint, … are kept; rootfs and history replaced
  --platform P        Platform of the image (default: the config's, else this
                      machine's)
  --created TIME      RFC 3339 creation time (default: $SOURCE_DATE_EPOCH, else now)
  --message TEXT      Comment of the image's history entry
)";

constexpr std::string_view kPullUsage =
    R"(Usage: kiln image pull [--platform PLATFORM] [--unpack] [--quiet] REF

Copies REF (by tag or digest) from its registry into the store, for one
platform (default: this machine's), and names it REF. Blobs already in the
store are not downloaded again; every blob is checked against its digest
before it is stored. With --unpack, the layers are also unpacked into
snapshots (as a build would), and the top snapshot's chain ID printed.

Registry settings (plain http, mirrors, CAs) come from the config file
($KILN_CONFIG, else /etc/kiln/kiln.toml; buildkitd.toml's [registry."host"]
tables); credentials from the Docker config (~/.docker/config.json).
)";

constexpr std::string_view kPushUsage =
    R"(Usage: kiln image push [--quiet] NAME [DEST]

Copies the image NAME from the store to a registry: to NAME itself, or to
DEST when given. Blobs the registry has are skipped, and blobs known to be in
another repository of the same registry are mounted instead of uploaded.
)";

constexpr std::string_view kSaveUsage =
    R"(Usage: kiln image save -o FILE [--format oci|docker] [--platform PLATFORM] NAME...

Writes the images to an archive: an OCI image layout in a tar (oci, the
default; skopeo's oci-archive:) or the format of `docker save` (docker;
docker load, podman load, skopeo's docker-archive:). FILE "-" is stdout. The
archive appears only when complete.

Options:
  -o, --output FILE   Where to write (required)
  --format F          oci or docker
  --platform P        docker: which platform of a multi-platform image (default:
                      this machine's); oci: save only this platform's manifest
)";

constexpr std::string_view kLoadUsage =
    R"(Usage: kiln image load -i FILE [--name NAME]

Reads every image of an OCI or Docker archive (optionally gzip/zstd
compressed; "-" is stdin) into the store and names it as the archive says.
Every blob is verified; nothing is named unless its whole image loaded.

Options:
  -i, --input FILE   The archive (required)
  --name NAME        Name for images the archive leaves unnamed or names only
                     by a bare tag
)";

// Prints one line per blob when it is done (from the transfer threads).
class BlobPrinter {
 public:
  BlobPrinter(const char* verb, bool quiet) : verb_(verb), quiet_(quiet) {}
  void operator()(const solver::BlobProgress& p) {
    if (quiet_ || !p.complete) return;
    std::lock_guard<std::mutex> lock(mu_);
    const char* what = p.cached ? "exists" : p.mounted ? "mounted" : verb_;
    std::fprintf(stderr, "%-8s %s %lld bytes\n", what, p.digest.str().c_str(),
                 static_cast<long long>(p.total));
  }

 private:
  std::mutex mu_;
  const char* verb_;
  bool quiet_;
};

}  // namespace

int RunImageImport(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Value("config").Value("platform").Value("created").Value("message");
  if (!flags.Parse(args))
    return UsageError(kImportUsage, "kiln image import: " + flags.error());
  if (flags.help()) return PrintUsage(kImportUsage);
  if (flags.positional().size() != 2) {
    return UsageError(kImportUsage, "kiln image import: need SOURCE and NAME");
  }
  solver::ImportOptions options;
  options.source = flags.positional()[0];
  options.name = flags.positional()[1];
  options.created = flags.GetOr("created", "");
  options.history_comment = flags.GetOr("message", "");
  if (auto config = flags.Get("config")) {
    KILN_CLI_ASSIGN(options.config_json, ReadFile(*config),
                    "kiln image import");
  }
  if (flags.Get("platform")) {
    KILN_CLI_ASSIGN(options.platform, PlatformFlag(flags), "kiln image import");
  }
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image import");
  KILN_CLI_ASSIGN(auto desc, solver::ImportImage(*store, options),
                  "kiln image import");
  std::printf("%s\n", desc.digest.str().c_str());
  return kExitOk;
}

int RunImagePull(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Value("platform").Bool("unpack").Bool("quiet", 'q');
  if (!flags.Parse(args))
    return UsageError(kPullUsage, "kiln image pull: " + flags.error());
  if (flags.help()) return PrintUsage(kPullUsage);
  if (flags.positional().size() != 1)
    return UsageError(kPullUsage, "kiln image pull: need one REF");
  const std::string& name = flags.positional()[0];
  KILN_CLI_ASSIGN(llb::ImageReference ref, llb::ParseImageReference(name),
                  "kiln image pull");
  if (ref.digest.empty()) ref = llb::TagNameOnly(ref);
  std::string context = "kiln image pull " + ref.String();
  KILN_CLI_ASSIGN(auto* registry, root.Registry(), context);
  KILN_CLI_ASSIGN(auto* store, root.Images(), context);
  solver::PullOptions options;
  KILN_CLI_ASSIGN(options.platform, PlatformFlag(flags), context);
  BlobPrinter printer("pulled", flags.Has("quiet"));
  options.progress = [&printer](const solver::PullProgress& p) { printer(p); };
  // Pulled blobs are unnamed until Put: keep `kiln image rm` off them.
  KILN_CLI_ASSIGN(solver::BlobLease lease, store->HoldBlobs(), context);
  KILN_CLI_ASSIGN(auto pulled, registry->Pull(ref, options), context);
  KILN_CLI_CHECK(store->Put(ref.String(), pulled.root), context);
  if (flags.Has("unpack")) {
    KILN_CLI_ASSIGN(auto* snapshots, root.Snapshots(), context);
    KILN_CLI_ASSIGN(std::string chain,
                    solver::UnpackImage(*snapshots, store->content(),
                                        pulled.parsed_manifest, pulled.config),
                    context + ": unpacking");
    if (!flags.Has("quiet"))
      std::fprintf(stderr, "unpacked %s\n", chain.c_str());
  }
  std::printf("%s@%s\n", ref.Name().c_str(), pulled.root.digest.str().c_str());
  return kExitOk;
}

int RunImagePush(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Bool("quiet", 'q');
  if (!flags.Parse(args))
    return UsageError(kPushUsage, "kiln image push: " + flags.error());
  if (flags.help()) return PrintUsage(kPushUsage);
  const auto& pos = flags.positional();
  if (pos.empty() || pos.size() > 2)
    return UsageError(kPushUsage, "kiln image push: need NAME [DEST]");
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image push");
  KILN_CLI_ASSIGN(auto record, store->Get(pos[0]), "kiln image push");
  KILN_CLI_ASSIGN(llb::ImageReference dest,
                  llb::ParseImageReference(pos.back()), "kiln image push");
  if (dest.digest.empty()) dest = llb::TagNameOnly(dest);
  std::string context = "kiln image push " + dest.String();
  KILN_CLI_ASSIGN(auto* registry, root.Registry(), context);
  BlobPrinter printer("pushed", flags.Has("quiet"));
  solver::PushOptions options;
  options.progress = [&printer](const solver::PushProgress& p) { printer(p); };
  KILN_CLI_CHECK(registry->Push(dest, record.target, options), context);
  std::printf("%s@%s\n", dest.Name().c_str(),
              record.target.digest.str().c_str());
  return kExitOk;
}

int RunImageSave(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Value("output", 'o').Value("format").Value("platform");
  if (!flags.Parse(args))
    return UsageError(kSaveUsage, "kiln image save: " + flags.error());
  if (flags.help()) return PrintUsage(kSaveUsage);
  auto out = flags.Get("output");
  if (!out)
    return UsageError(kSaveUsage, "kiln image save: -o FILE is required");
  if (flags.positional().empty())
    return UsageError(kSaveUsage, "kiln image save: NAME missing");
  std::string format = flags.GetOr("format", "oci");
  if (format != "oci" && format != "docker") {
    return UsageError(kSaveUsage,
                      "kiln image save: --format must be oci or docker");
  }
  solver::SaveOptions options;
  if (flags.Get("platform")) {
    KILN_CLI_ASSIGN(options.platform, PlatformFlag(flags), "kiln image save");
  }
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image save");
  KILN_CLI_CHECK(
      solver::SaveImages(*store, flags.positional(),
                         format == "oci" ? solver::ArchiveFormat::kOci
                                         : solver::ArchiveFormat::kDocker,
                         *out, options),
      "kiln image save");
  return kExitOk;
}

int RunImageLoad(Root& root, const std::vector<std::string>& args) {
  Flags flags;
  flags.Value("input", 'i').Value("name");
  if (!flags.Parse(args))
    return UsageError(kLoadUsage, "kiln image load: " + flags.error());
  if (flags.help()) return PrintUsage(kLoadUsage);
  auto in = flags.Get("input");
  if (!in)
    return UsageError(kLoadUsage, "kiln image load: -i FILE is required");
  if (!flags.positional().empty())
    return UsageError(kLoadUsage, "kiln image load: unexpected argument");
  solver::LoadOptions options;
  options.name = flags.GetOr("name", "");
  KILN_CLI_ASSIGN(auto* store, root.Images(), "kiln image load");
  KILN_CLI_ASSIGN(auto records, solver::LoadImages(*store, *in, options),
                  "kiln image load");
  for (const auto& r : records) {
    std::printf("loaded %s %s\n", r.name.c_str(),
                r.target.digest.str().c_str());
  }
  return kExitOk;
}

}  // namespace kiln::cli
