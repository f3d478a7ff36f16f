#include "build_shortcuts.h"

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "kiln/llb/platform.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/build_cache.h"
#include "kiln/solver/exporter.h"

namespace kiln::cli::internal {
namespace {

namespace fs = std::filesystem;

FlagError Usage(std::string message) { return {std::move(message), 2}; }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// buildx's urlutil: what is fetched by the builder, not sent from here.
bool IsRemoteUrl(std::string_view s) {
  for (std::string_view p :
       {"http://", "https://", "git://", "git@", "github.com/", "ssh://"}) {
    if (StartsWith(s, p)) return true;
  }
  std::string_view path = s.substr(0, s.find('#'));
  return path.size() > 4 && path.substr(path.size() - 4) == ".git" &&
         !fs::is_directory(std::string(s));
}

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// The "NAME=VALUE" of a repeatable flag; "" name on error.
std::pair<std::string, std::string> SplitPair(const std::string& v) {
  size_t eq = v.find('=');
  if (eq == std::string::npos || eq == 0) return {"", ""};
  return {v.substr(0, eq), v.substr(eq + 1)};
}

// "a,b" quoted for the output CSV: "name=a,b" with inner quotes doubled.
std::string QuotedNames(const std::vector<std::string>& tags) {
  std::string names;
  for (const std::string& t : tags) {
    if (!names.empty()) names += ',';
    names += t;
  }
  std::string field = "\"name=";
  for (char c : names) {
    if (c == '"') field += '"';
    field += c;
  }
  return field + "\"";
}

FlagError BuildContext(const std::string& spec, BuildFlags& f) {
  auto [name, value] = SplitPair(spec);
  if (name.empty() || value.empty()) {
    return Usage("--build-context \"" + spec + "\": want NAME=VALUE");
  }
  std::string key = "context:" + name;
  if (StartsWith(value, "oci-layout://")) {
    // buildx's oci-layout://DIR@DIGEST: the directory is served as the
    // layout store NAME; the frontend reads oci-layout://NAME@DIGEST.
    std::string rest = value.substr(13);
    size_t at = rest.find('@');
    std::string dir = rest.substr(0, at);
    if (IsDirectory(dir)) {
      if (at == std::string::npos) {
        return Usage("--build-context " + spec +
                     ": an OCI layout context needs @sha256:DIGEST");
      }
      if (!f.oci_layouts.emplace(name, dir).second) {
        return Usage("--build-context " + name +
                     ": the OCI layout store is given twice");
      }
      f.opts[key] = "oci-layout://" + name + rest.substr(at);
      return {};
    }
    f.opts[key] = value;
    return {};
  }
  if (StartsWith(value, "docker-image://") || StartsWith(value, "target:") ||
      StartsWith(value, "input:") || IsRemoteUrl(value)) {
    f.opts[key] = value;
    return {};
  }
  if (!IsDirectory(value)) {
    return Usage("--build-context " + spec +
                 ": not a directory, docker-image://, oci-layout://, git or "
                 "http(s) URL");
  }
  if (name == "context" || name == "dockerfile") {
    return Usage("--build-context " + name + ": the name is reserved");
  }
  if (!f.locals.emplace(name, value).second) {
    return Usage("--build-context " + name + ": the local " + name +
                 " is given twice");
  }
  f.opts[key] = "local:" + name;
  return {};
}

}  // namespace

void DeclareShortcutFlags(Flags& parser) {
  parser.Value("file", 'f')
      .Value("tag", 't')
      .Value("build-arg")
      .Value("label")
      .Value("target")
      .Value("build-context")
      .Bool("no-cache")
      .Bool("pull")
      .Value("cache-from")
      .Value("cache-to")
      .Value("import-cache")
      .Value("export-cache");
}

FlagError ApplyCacheFlags(const Flags& parser, BuildFlags& f) {
  struct CacheFlag {
    const char* name;
    bool is_export;
  };
  for (CacheFlag flag :
       {CacheFlag{"export-cache", true}, CacheFlag{"cache-to", true},
        CacheFlag{"import-cache", false}, CacheFlag{"cache-from", false}}) {
    for (const std::string& value : parser.All(flag.name)) {
      auto spec = solver::ParseCacheSpec(value);
      Status checked = !spec.ok()       ? spec.status()
                       : flag.is_export ? solver::ValidateCacheExport(*spec)
                                        : solver::ValidateCacheImport(*spec);
      if (!checked.ok()) {
        return Usage("--" + std::string(flag.name) + " \"" + value +
                     "\": " + checked.message());
      }
      (flag.is_export ? f.cache_exports : f.cache_imports).push_back(value);
    }
  }
  return {};
}

FlagError ApplyContext(const Flags& parser, const std::string& context,
                       BuildFlags& f) {
  if (!f.llb.empty()) {
    return Usage("a build CONTEXT (\"" + context +
                 "\") cannot be combined with --llb");
  }
  if (!f.frontend_exec.empty()) {
    return Usage("a build CONTEXT (\"" + context +
                 "\") cannot be combined with --frontend-exec; use --local "
                 "context=DIR --local dockerfile=DIR");
  }
  if (!f.frontend.empty() && f.frontend != "dockerfile.v0") {
    return Usage(
        "a build CONTEXT builds a Dockerfile: it cannot be combined "
        "with --frontend " +
        f.frontend);
  }
  f.frontend = "dockerfile.v0";
  std::optional<std::string> file = parser.Get("file");
  if (parser.All("file").size() > 1) return Usage("-f/--file given twice");
  for (const std::string& local : parser.All("local")) {
    std::string name = SplitPair(local).first;
    if (name == "context" || name == "dockerfile") {
      return Usage("--local " + name +
                   " cannot be combined with a build CONTEXT (it sets it)");
    }
  }
  if (context == "-") {
    if (file) return Usage("-f cannot be combined with the CONTEXT \"-\"");
    f.dockerfile_stdin = true;
    f.context_stdin = true;
    return {};
  }
  if (IsRemoteUrl(context)) {
    f.opts["context"] = context;
    if (file == "-") {
      f.dockerfile_stdin = true;
    } else if (file) {
      f.opts["filename"] = *file;  // a path inside the remote context
    }
    return {};
  }
  if (!IsDirectory(context)) {
    return {"build CONTEXT \"" + context +
                "\": not a directory (nor a git or http(s) URL)",
            1};
  }
  f.locals["context"] = context;
  if (!file) {
    f.locals["dockerfile"] = context;
    return {};
  }
  if (*file == "-") {
    f.dockerfile_stdin = true;
    return {};
  }
  fs::path path(*file);
  if (!path.has_filename()) return Usage("-f \"" + *file + "\": not a file");
  std::string dir = path.parent_path().string();
  f.locals["dockerfile"] = dir.empty() ? "." : dir;
  f.opts["filename"] = path.filename().string();
  return {};
}

FlagError ApplyShortcutOpts(const Flags& parser, bool has_context,
                            BuildFlags& f) {
  if (!has_context && parser.Has("file")) {
    return Usage("-f/--file needs a build CONTEXT argument");
  }
  for (const char* flag :
       {"build-arg", "label", "target", "build-context", "no-cache", "pull"}) {
    if (f.frontend.empty() && !parser.All(flag).empty()) {
      return Usage("--" + std::string(flag) +
                   " needs a build CONTEXT (or --frontend)");
    }
  }
  for (const std::string& arg : parser.All("build-arg")) {
    size_t eq = arg.find('=');
    if (arg.empty() || eq == 0) {
      return Usage("--build-arg \"" + arg + "\": want NAME=VALUE");
    }
    if (eq != std::string::npos) {
      f.opts["build-arg:" + arg.substr(0, eq)] = arg.substr(eq + 1);
      continue;
    }
    // Docker's --build-arg NAME: the value of $NAME, skipped when unset.
    if (const char* v = std::getenv(arg.c_str()))
      f.opts["build-arg:" + arg] = v;
  }
  for (const std::string& label : parser.All("label")) {
    auto [name, value] = SplitPair(label);
    if (name.empty()) {
      return Usage("--label \"" + label + "\": want NAME=VALUE");
    }
    f.opts["label:" + name] = value;
  }
  if (auto target = parser.Get("target")) {
    if (target->empty()) return Usage("--target needs a stage name");
    f.opts["target"] = *target;
  }
  if (parser.Has("no-cache")) f.opts["no-cache"] = "";
  if (parser.Has("pull")) f.opts["image-resolve-mode"] = "pull";
  for (const std::string& spec : parser.All("build-context")) {
    if (FlagError e = BuildContext(spec, f); !e.message.empty()) return e;
  }
  if (has_context && parser.Has("platform")) {
    std::string value = *parser.Get("platform");
    size_t from = 0;
    while (from <= value.size()) {
      size_t comma = value.find(',', from);
      std::string one = value.substr(from, comma - from);
      auto platform = llb::ParsePlatform(one);
      if (one.empty() || !platform.ok()) {
        return Usage("--platform \"" + one + "\": " +
                     (one.empty() ? std::string("empty platform")
                                  : platform.status().message()));
      }
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    f.opts["platform"] = value;
  }
  return {};
}

FlagError ApplyTags(const Flags& parser, BuildFlags& f) {
  std::vector<std::string> tags = parser.All("tag");
  if (tags.empty()) return {};
  for (const std::string& tag : tags) {
    auto ref = llb::ParseImageReference(tag);
    if (!ref.ok())
      return Usage("-t \"" + tag + "\": " + ref.status().message());
  }
  if (!f.call.empty()) return {};  // a subrequest exports nothing
  if (f.outputs.empty()) {
    f.outputs.push_back(std::string("type=image,").append(QuotedNames(tags)));
    return {};
  }
  for (std::string& spec : f.outputs) {
    auto request = solver::ParseOutputSpec(spec);
    if (!request.ok()) continue;  // reported by the build as a usage error
    if (request->type != "image" && request->type != "oci" &&
        request->type != "docker") {
      continue;
    }
    if (request->attrs.contains("name")) continue;
    spec.append(",").append(QuotedNames(tags));
  }
  return {};
}

}  // namespace kiln::cli::internal
