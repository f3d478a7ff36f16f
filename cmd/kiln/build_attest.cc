#include "build_attest.h"

#include <string>
#include <vector>

namespace kiln::cli::internal {
namespace {

constexpr char kNoSbom[] =
    "SBOM attestations are not supported: BuildKit generates them by "
    "running its scanner image docker/buildkit-syft-scanner, and kiln has "
    "no SBOM generator; drop --sbom / --attest type=sbom";

std::vector<std::string> Fields(const std::string& spec) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= spec.size()) {
    size_t comma = spec.find(',', from);
    if (comma == std::string::npos) comma = spec.size();
    if (comma > from) out.push_back(spec.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) {
    if (!out.empty()) out += ',';
    out += f;
  }
  return out;
}

bool Disabled(const std::vector<std::string>& fields) {
  for (const std::string& f : fields) {
    if (f == "disabled=true" || f == "disabled") return true;
  }
  return false;
}

// One attestation: its type and the other fields.
FlagError Apply(const std::string& flag, const std::string& type,
                const std::vector<std::string>& rest, BuildFlags& f) {
  if (type == "sbom") {
    if (Disabled(rest)) return {};
    return {kNoSbom, 1};
  }
  if (type != "provenance") {
    return {flag + ": unknown attestation type \"" + type +
                "\" (want provenance or sbom)",
            2};
  }
  if (Disabled(rest)) {
    f.opts.erase("attest:provenance");
    return {};
  }
  f.opts["attest:provenance"] = rest.empty() ? "mode=min" : Join(rest);
  return {};
}

}  // namespace

void DeclareAttestFlags(Flags& parser) {
  parser.Value("attest").Value("provenance").Value("sbom");
}

FlagError ApplyAttestFlags(const Flags& parser, BuildFlags& f) {
  bool any =
      parser.Has("attest") || parser.Has("provenance") || parser.Has("sbom");
  if (!any) return {};
  if (f.frontend.empty()) {
    return {
        "--attest, --provenance and --sbom need a build CONTEXT or "
        "--frontend",
        2};
  }
  for (const std::string& spec : parser.All("attest")) {
    std::vector<std::string> fields = Fields(spec);
    std::string type;
    std::vector<std::string> rest;
    for (const std::string& field : fields) {
      if (field.starts_with("type=")) {
        type = field.substr(5);
      } else {
        rest.push_back(field);
      }
    }
    if (type.empty()) {
      return {"--attest \"" + spec + "\": want type=provenance|sbom,…", 2};
    }
    if (FlagError e = Apply("--attest", type, rest, f); !e.message.empty()) {
      return e;
    }
  }
  for (const std::string& value : parser.All("provenance")) {
    std::vector<std::string> rest;
    if (value == "false" || value == "0") {
      rest = {"disabled=true"};
    } else if (value != "true" && value != "1") {
      rest = Fields(value);
    }
    if (FlagError e = Apply("--provenance", "provenance", rest, f);
        !e.message.empty()) {
      return e;
    }
  }
  for (const std::string& value : parser.All("sbom")) {
    if (value == "false" || value == "0") continue;
    return {kNoSbom, 1};
  }
  return {};
}

}  // namespace kiln::cli::internal
