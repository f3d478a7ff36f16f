#include "build_epoch.h"

#include <cstdlib>
#include <optional>
#include <string_view>

namespace kiln::cli {
namespace {

bool IsSeconds(std::string_view value) {
  return !value.empty() && value.size() <= 18 &&
         value.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Status AddSourceDateEpochArg(std::map<std::string, std::string>& opts) {
  const char* env = std::getenv("SOURCE_DATE_EPOCH");
  if (env == nullptr || *env == '\0') return Status::Ok();
  if (opts.contains("build-arg:SOURCE_DATE_EPOCH")) return Status::Ok();
  std::string_view value(env);
  if (!IsSeconds(value)) {
    return InvalidArgumentError(
        "SOURCE_DATE_EPOCH=\"" + std::string(value) +
        "\" in the environment: want a number of seconds since 1970");
  }
  opts["build-arg:SOURCE_DATE_EPOCH"] = std::string(value);
  return Status::Ok();
}

Result<solver::ExportRequest> WithFrontendEpoch(
    const solver::ExportRequest& request,
    const std::map<std::string, std::string>& metadata,
    const std::vector<llb::Platform>& platforms) {
  solver::ExportRequest out = request;
  if (out.attrs.contains("source-date-epoch")) return out;
  const std::string key = "source.date.epoch";
  std::optional<std::string> epoch;
  for (const llb::Platform& platform : platforms) {
    auto it = metadata.find(key + "/" + llb::FormatPlatform(platform));
    if (it == metadata.end()) it = metadata.find(key);
    std::string value = it == metadata.end() ? "" : it->second;
    if (epoch.has_value() && *epoch != value) {
      // One export request serves every platform.
      return InvalidArgumentError(
          "the frontend returned a different SOURCE_DATE_EPOCH per platform "
          "(\"" +
          *epoch + "\" and \"" + value +
          "\"); give the exporter its own source-date-epoch=");
    }
    epoch = value;
  }
  if (!epoch.has_value() || epoch->empty()) return out;
  if (!IsSeconds(*epoch)) {
    return InvalidArgumentError(
        "invalid SOURCE_DATE_EPOCH from the frontend: \"" + *epoch +
        "\" is not a number of seconds since 1970");
  }
  out.attrs["source-date-epoch"] = *epoch;
  return out;
}

std::string FrontendBaseConfig(
    const std::map<std::string, std::string>& metadata,
    const llb::Platform& platform) {
  const std::string key = "containerimage.base.config";
  auto it = metadata.find(key + "/" + llb::FormatPlatform(platform));
  if (it == metadata.end()) it = metadata.find(key);
  return it == metadata.end() ? "" : it->second;
}

}  // namespace kiln::cli
