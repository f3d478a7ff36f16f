#include "image_ops.h"

#include <nlohmann/json.hpp>

#include "flags.h"

namespace kiln::cli {

using Json = nlohmann::ordered_json;

Result<llb::Platform> PlatformFlag(const Flags& flags) {
  auto spec = flags.Get("platform");
  if (!spec) return llb::HostPlatform();
  return llb::ParsePlatform(*spec);
}

namespace {

Result<Json> Document(const solver::ImageStore& store, const Digest& digest) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, store.content().ReadAll(digest));
  Json j = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return DataLossError("blob " + digest.str() + " is not JSON");
  return j;
}

}  // namespace

Result<std::string> InspectJson(const solver::ImageStore& store,
                                const solver::ImageRecord& record,
                                const llb::Platform& platform) {
  Json out = Json::object();
  out["Name"] = record.name;
  out["Descriptor"] = Json::parse(solver::oci::ToJson(record.target));
  if (solver::oci::IsIndexMediaType(record.target.media_type)) {
    KILN_ASSIGN_OR_RETURN(out["Index"], Document(store, record.target.digest));
  }
  KILN_ASSIGN_OR_RETURN(solver::ResolvedImage image,
                        store.Resolve(record.target, platform));
  KILN_ASSIGN_OR_RETURN(out["Manifest"],
                        Document(store, image.manifest_descriptor.digest));
  Json config =
      Json::parse(image.config_bytes, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return DataLossError("image config is not JSON");
  out["Config"] = std::move(config);
  return out.dump(2);
}

}  // namespace kiln::cli
