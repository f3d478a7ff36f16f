// kilnfile-frontend: a complete kiln/BuildKit frontend for the Kilnfile
// language (kilnfile.h). It reads the Kilnfile from the `dockerfile` local,
// resolves the base image, turns each instruction into LLB, solves it and
// returns the result with its OCI image config. Build errors point at the
// Kilnfile line they come from.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/source.h"
#include "kiln/sdk/frontend.h"
#include "kilnfile.h"

namespace kilnfile {
namespace {

using kiln::Result;
using kiln::Status;
using nlohmann::json;
namespace llb = kiln::llb;
namespace sdk = kiln::sdk;

struct Builder {
  sdk::Client& client;
  const sdk::FrontendOptions& opts;
  std::string filename;                   // opt filename, default Kilnfile
  std::optional<llb::Platform> platform;  // nullopt: the engine's default
  llb::State context;                     // the build context local
  llb::State state;                       // the image being built
  json image;                             // its OCI image config
};

// Reads the Kilnfile like upstream's Dockerfile frontend reads a Dockerfile:
// a local source that follows only that file, solved, then ReadFile.
Result<std::string> ReadKilnfile(Builder& b) {
  llb::State src =
      llb::Local(b.opts.dockerfile_key,
                 {.session_id = b.opts.session_id,
                  .follow_paths = {b.filename},
                  .shared_key_hint = b.filename,
                  .differ = llb::LocalDiffer::kNone,
                  .op = {.custom_name = "[internal] load " + b.filename}});
  KILN_ASSIGN_OR_RETURN(pb::Definition def, src.Marshal());
  KILN_ASSIGN_OR_RETURN(sdk::Ref ref, b.client.Solve(def));
  return b.client.ReadFile(ref, b.filename);
}

Status From(Builder& b, const std::string& name, const llb::OpOptions& op) {
  if (name == "scratch") {
    const llb::Platform& p = b.platform ? *b.platform : llb::HostPlatform();
    b.image = {{"architecture", p.architecture},
               {"os", p.os},
               {"config", json::object()},
               {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
    return Status::Ok();
  }
  KILN_ASSIGN_OR_RETURN(llb::ImageReference ref,
                        llb::ParseImageReference(name));
  ref = llb::TagNameOnly(ref);
  KILN_ASSIGN_OR_RETURN(sdk::ImageConfig resolved,
                        b.client.ResolveImageConfig(ref.String(), b.platform));
  KILN_ASSIGN_OR_RETURN(ref, llb::ParseImageReference(resolved.ref));
  if (ref.digest.empty()) ref.digest = resolved.digest;  // pin what resolved
  b.state = llb::Image(ref.String(), {.op = op});
  b.image = json::parse(resolved.config, nullptr, /*allow_exceptions=*/false);
  if (!b.image.is_object()) {
    return kiln::DataLossError("image config of " + name + " is not an object");
  }
  json& config = b.image["config"];  // inherit env, workdir and user
  if (!config.is_object()) config = json::object();
  for (const json& kv : config.value("Env", json::array())) {
    std::string s = kv.is_string() ? kv.get<std::string>() : "";
    if (size_t eq = s.find('='); eq != std::string::npos)
      b.state = b.state.AddEnv(s.substr(0, eq), s.substr(eq + 1));
  }
  if (config.contains("WorkingDir") && config["WorkingDir"].is_string())
    b.state = b.state.Dir(config["WorkingDir"].get<std::string>());
  if (config.contains("User") && config["User"].is_string())
    b.state = b.state.User(config["User"].get<std::string>());
  return Status::Ok();
}

Status Step(Builder& b, const Instruction& in, const llb::OpOptions& op) {
  if (in.keyword == "from") return From(b, in.args, op);
  json& config = b.image["config"];
  if (in.keyword == "env") {
    std::string key = in.args.substr(0, in.args.find('='));
    b.state = b.state.AddEnv(key, in.args.substr(key.size() + 1));
    config["Env"] = b.state.Env();
  } else if (in.keyword == "workdir") {
    b.state = b.state.Dir(in.args);
    b.state = b.state.File(
        llb::Mkdir(b.state.GetDir(), 0755, {.make_parents = true}), op);
    config["WorkingDir"] = b.state.GetDir();
  } else if (in.keyword == "user") {
    b.state = b.state.User(in.args);
    config["User"] = in.args;
  } else if (in.keyword == "run") {
    b.state =
        b.state.Run({.args = {"/bin/sh", "-c", in.args}, .op = op}).Root();
  } else if (in.keyword == "copy") {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> words, llb::Shlex(in.args));
    if (words.size() < 2)
      return kiln::InvalidArgumentError("copy needs SRC... DEST");
    llb::CopyOptions co{.follow_symlinks = true,
                        .copy_dir_contents_only = true,
                        .create_dest_path = true,
                        .allow_wildcard = true,
                        .allow_empty_wildcard = true};
    llb::FileAction action = llb::Copy(b.context, words[0], words.back(), co);
    for (size_t i = 1; i + 1 < words.size(); ++i)
      action = action.Copy(b.context, words[i], words.back(), co);
    b.state = b.state.File(action, op);
  } else {  // entrypoint, cmd
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> words, llb::Shlex(in.args));
    if (in.keyword == "entrypoint") config.erase("Cmd");  // as in Dockerfiles
    config[in.keyword == "cmd" ? "Cmd" : "Entrypoint"] = words;
  }
  return Status::Ok();
}

Result<sdk::BuildResult> Build(sdk::Client& client,
                               const sdk::FrontendOptions& opts) {
  if (opts.platforms.size() > 1 || opts.multi_platform) {
    return kiln::UnimplementedError("kilnfile builds one platform at a time");
  }
  // FrontendOptions defaults `filename` to Dockerfile; ours is Kilnfile.
  Builder b{
      .client = client,
      .opts = opts,
      .filename = opts.opts.count("filename") ? opts.filename : "Kilnfile"};
  if (!opts.platforms.empty()) b.platform = opts.platforms[0];
  b.context = llb::Local(
      opts.context_key,
      {.session_id = opts.session_id, .shared_key_hint = opts.context_key});
  KILN_ASSIGN_OR_RETURN(std::string text, ReadKilnfile(b));
  KILN_ASSIGN_OR_RETURN(std::vector<Instruction> program,
                        Parse(text, b.filename));

  // Ops carry their line, so the engine's errors for them point at it too.
  auto file = std::make_shared<const llb::SourceFile>(llb::SourceFile{
      .filename = b.filename, .language = "Kilnfile", .data = text});
  for (const Instruction& in : program) {
    llb::OpOptions op{
        .platform = b.platform,
        .custom_name = in.keyword + " " + in.args,
        .source_locations = {{file, {{{in.line, 0}, {in.line, 0}}}}}};
    Status s = Step(b, in, op);
    if (!s.ok()) {
      return s.WithContext(in.keyword)
          .WithRange(kiln::SourceRange{.file = b.filename, .line = in.line});
    }
  }
  for (const auto& [key, value] : opts.labels)
    b.image["config"]["Labels"][key] = value;

  KILN_ASSIGN_OR_RETURN(pb::Definition def,
                        b.state.Marshal({.platform = b.platform}));
  KILN_ASSIGN_OR_RETURN(sdk::Ref ref, client.Solve(def));
  // Invalid UTF-8 (from the Kilnfile or the base config) is replaced rather
  // than thrown on.
  std::string config =
      b.image.dump(-1, ' ', false, json::error_handler_t::replace);
  return sdk::BuildResult{.ref = ref,
                          .metadata = {{"containerimage.config", config}}};
}

}  // namespace
}  // namespace kilnfile

int main() { return kiln::sdk::Serve(kilnfile::Build); }
