#include "frontend_load.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/dockerfile/frontend.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln::dockerfile::internal {
namespace {

constexpr char kDockerignore[] = ".dockerignore";
constexpr std::string_view kInputMetadata = "input-metadata:";

// Standard base64 (padding optional); nullopt on a bad character.
std::optional<std::string> DecodeBase64(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      break;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// The digest of the op producing `def`'s result: the one before the
// terminal op (the last entry), or the only op.
std::string SourceVertex(const pb::Definition& def) {
  if (def.def_size() == 0) return "";
  const int index = def.def_size() >= 2 ? def.def_size() - 2 : 0;
  return Digest::FromBytes(def.def(index)).str();
}

// Solves a local directory that follows only `paths`; its source op digest
// goes to `vertex` when given.
Result<sdk::Ref> SolveLocal(sdk::Client& client,
                            const sdk::FrontendOptions& opts,
                            const std::string& name,
                            std::vector<std::string> paths,
                            const std::string& display,
                            std::string* vertex = nullptr) {
  llb::LocalOptions lo;
  lo.session_id = opts.session_id;
  lo.follow_paths = std::move(paths);
  lo.shared_key_hint = name;
  lo.differ = llb::LocalDiffer::kNone;
  lo.op.custom_name = display;
  KILN_ASSIGN_OR_RETURN(pb::Definition def, llb::Local(name, lo).Marshal());
  if (vertex != nullptr) *vertex = SourceVertex(def);
  return client.Solve(def, /*evaluate=*/true);
}

// The file's bytes, nullopt when `ref` is empty or has no such file.
Result<std::optional<std::string>> ReadOptional(sdk::Client& client,
                                                const sdk::Ref& ref,
                                                const std::string& path) {
  if (ref.id.empty()) return std::optional<std::string>();
  Result<std::string> data = client.ReadFile(ref, path);
  if (data.ok()) return std::optional<std::string>(std::move(*data));
  if (data.status().code() == StatusCode::kNotFound)
    return std::optional<std::string>();
  return data.status();
}

}  // namespace

Result<LoadedDockerfile> LoadDockerfile(
    sdk::Client& client, const sdk::FrontendOptions& opts,
    const std::map<std::string, pb::Definition>& inputs) {
  const std::string& filename = opts.filename;
  sdk::Ref ref;
  LoadedDockerfile loaded;
  auto input = inputs.find(opts.dockerfile_key);
  if (input != inputs.end()) {
    loaded.vertex = SourceVertex(input->second);
    KILN_ASSIGN_OR_RETURN(ref, client.Solve(input->second, true));
  } else {
    std::vector<std::string> follow = {filename, filename + kDockerignore};
    if (filename == "Dockerfile") follow.push_back("dockerfile");
    KILN_ASSIGN_OR_RETURN(
        ref, SolveLocal(client, opts, opts.dockerfile_key, follow,
                        "[internal] load build definition from " + filename,
                        &loaded.vertex));
  }
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadOptional(client, ref, filename));
  if (!text && filename == "Dockerfile") {
    KILN_ASSIGN_OR_RETURN(text, ReadOptional(client, ref, "dockerfile"));
  }
  if (!text) {
    return NotFoundError("failed to read dockerfile: open " + filename +
                         ": no such file or directory");
  }
  loaded.text = std::move(*text);

  KILN_ASSIGN_OR_RETURN(std::optional<std::string> ignore,
                        ReadOptional(client, ref, filename + kDockerignore));
  if (ignore) {
    KILN_ASSIGN_OR_RETURN(loaded.excludes, ParseDockerignore(*ignore));
  } else if (!inputs.contains(opts.context_key)) {
    KILN_ASSIGN_OR_RETURN(loaded.excludes,
                          LoadLocalExcludes(client, opts, opts.context_key));
  }
  return loaded;
}

Result<std::vector<std::string>> LoadLocalExcludes(
    sdk::Client& client, const sdk::FrontendOptions& opts,
    const std::string& name) {
  KILN_ASSIGN_OR_RETURN(sdk::Ref ref,
                        SolveLocal(client, opts, name, {kDockerignore},
                                   "[internal] load .dockerignore of " + name));
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> ignore,
                        ReadOptional(client, ref, kDockerignore));
  if (!ignore) return std::vector<std::string>();
  return ParseDockerignore(*ignore);
}

Result<std::map<std::string, std::string>> InputConfigs(
    const sdk::FrontendOptions& opts) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : opts.opts) {
    if (!key.starts_with(kInputMetadata)) continue;
    std::string input = key.substr(kInputMetadata.size());
    nlohmann::json meta = nlohmann::json::parse(value, nullptr, false);
    if (meta.is_discarded() || !meta.is_object()) {
      return InvalidArgumentError("opt " + key + " is not a JSON object");
    }
    auto cfg = meta.find("containerimage.config");
    if (cfg == meta.end() || cfg->is_null()) continue;
    if (!cfg->is_string()) {
      return InvalidArgumentError("opt " + key +
                                  ": containerimage.config is not a string");
    }
    std::optional<std::string> decoded = DecodeBase64(cfg->get<std::string>());
    if (!decoded) {
      return InvalidArgumentError("opt " + key +
                                  ": containerimage.config is not base64");
    }
    out[input] = std::move(*decoded);
  }
  return out;
}

}  // namespace kiln::dockerfile::internal
