#include "image_ops.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "flags.h"

namespace kiln::cli {

using Json = nlohmann::ordered_json;

Result<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    std::string what = "cannot open " + path + ": " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(what);
    if (err == EACCES) return PermissionDeniedError(what);
    return InternalError(what);
  }
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return InternalError("reading " + path + " failed");
  return data;
}

Result<std::string> ReadFileOrStdin(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string bytes;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) bytes.append(buf, n);
  if (std::ferror(stdin)) return InternalError("reading stdin failed");
  return bytes;
}

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
  out["Descriptor"] = Json::parse(solver::oci::ToJson(record.target), nullptr,
                                  /*allow_exceptions=*/false);
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
