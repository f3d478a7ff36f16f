// Convert() against upstream BuildKit v0.11.6's output for the cases in
// ../shared/conformance/llb/<case>/: the Definition must be equivalent to
// llb.pb (same graph of ops with the same content; metadata and the random
// local.unique attr ignored) and the image config must equal
// image-config.json (without rootfs, which the exporter fills).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "conformance_cases.h"
#include "kiln/dockerfile/convert.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/dump.h"

namespace kiln::dockerfile {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kDigest[] =
    "sha256:109dee47a1d67d8dbe720e5f348f596f97e17bfdce7208882449a823a9bd6d88";
constexpr char kBaseConfig[] = R"({"architecture":"amd64","os":"linux",
  "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},
  "rootfs":{"type":"layers","diff_ids":["sha256:b135c3f5401085b39f1a97ee49493ae3863a42bfa7a001a68fc56f5ddb6415ef"]},
  "history":[{"created":"1970-01-01T00:00:00Z","created_by":"busybox-static from Debian"}]})";

using conformance_cases::CaseName;
using conformance_cases::ReadFile;

fs::path CasesDir() { return conformance_cases::ConformanceDir() / "llb"; }

// Each op's structural key: its content (metadata excluded, local.unique
// dropped, input digests replaced by the inputs' keys), hashed.
struct Graph {
  std::map<std::string, std::string> key_of;  // op digest → key
  std::map<std::string, std::string> text;    // key → readable content
  std::string terminal;
  int file_platforms = 0;  // file ops that carry a platform
  int secret_inputs = 0;   // secret/ssh mounts with an input other than -1
};

Graph Structure(const llb::LoadedDefinition& def) {
  Graph g;
  for (const llb::LoadedOp& op : def.ops) {  // inputs come first
    Json j = Json::parse(llb::MessageToGoJson(op.op));
    if (j.contains("inputs")) {
      for (Json& in : j["inputs"]) {
        in["digest"] = g.key_of[in["digest"].get<std::string>()].substr(0, 19);
      }
    }
    if (j.contains("Op") && j["Op"].contains("source") &&
        j["Op"]["source"].contains("attrs")) {
      j["Op"]["source"]["attrs"].erase("local.unique");
    }
    // kiln's llb never writes a platform on file ops; v0.11.6 does.
    if (j.contains("Op") && j["Op"].contains("file")) {
      if (j.contains("platform")) ++g.file_platforms;
      j.erase("platform");
    }
    // Secret and ssh mounts have no input: v0.11.6 leaves Go's zero (0)
    // there, kiln's llb writes -1. Neither is read by the engine.
    if (j.contains("Op") && j["Op"].contains("exec") &&
        j["Op"]["exec"].contains("mounts")) {
      for (Json& m : j["Op"]["exec"]["mounts"]) {
        int type = m.value("mountType", 0);
        if (type == 1 || type == 2) {
          if (m.value("input", 0) != -1) ++g.secret_inputs;
          m["input"] = -1;
        }
      }
    }
    std::string text = j.dump();
    std::string key = Digest::FromBytes(text).str();
    g.key_of[op.digest.str()] = key;
    g.text[key] = text;
    g.terminal = key;
  }
  return g;
}

class ConvertConformance : public testing::TestWithParam<std::string> {};

TEST_P(ConvertConformance, MatchesUpstream) {
  fs::path dir = CasesDir() / GetParam();
  ConvertOptions opts;
  opts.build_platform = {.os = "linux", .architecture = "amd64"};
  opts.target_platform = {.os = "linux", .architecture = "amd64"};
  std::vector<std::string> resolved;
  opts.resolve_image = [&](std::string_view ref,
                           const llb::Platform& p) -> Result<ImageMeta> {
    resolved.emplace_back(ref);
    EXPECT_EQ(llb::FormatPlatform(p), "linux/amd64");
    return ImageMeta{std::string(ref), kDigest, kBaseConfig};
  };
  auto result = Convert(ReadFile(dir / "Dockerfile"), opts);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (const std::string& r : resolved) {
    EXPECT_EQ(r, "127.0.0.1:5000/library/busybox:latest");
  }

  auto want_def = llb::ParseDefinition(ReadFile(dir / "llb.pb"));
  ASSERT_TRUE(want_def.ok());
  auto want = llb::LoadDefinition(*want_def);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  auto got = llb::LoadDefinition(result->definition);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Graph gw = Structure(*want), gg = Structure(*got);
  EXPECT_EQ(got->ops.size(), want->ops.size());
  for (const auto& [key, text] : gw.text) {
    EXPECT_TRUE(gg.text.count(key))
        << "upstream op missing from kiln's graph:\n"
        << text;
  }
  for (const auto& [key, text] : gg.text) {
    EXPECT_TRUE(gw.text.count(key)) << "kiln op not in upstream's graph:\n"
                                    << text;
  }
  EXPECT_EQ(gg.terminal, gw.terminal) << "graphs differ";
  if (gw.file_platforms != gg.file_platforms) {
    std::cout << "note: " << gw.file_platforms
              << " upstream file ops carry a platform, " << gg.file_platforms
              << " of kiln's\n";
  }
  if (gw.secret_inputs != gg.secret_inputs) {
    std::cout << "note: " << gw.secret_inputs
              << " upstream secret/ssh mounts have input 0, "
              << gg.secret_inputs << " of kiln's\n";
  }

  // Names are metadata (may differ): reported, not checked.
  auto names = [](const pb::Definition& d) {
    std::multiset<std::string> out;
    for (const auto& [dg, md] : d.metadata()) {
      auto it = md.description().find("llb.customname");
      if (it != md.description().end()) out.insert(it->second);
    }
    return out;
  };
  auto want_names = names(*want_def), got_names = names(result->definition);
  if (want_names != got_names) {
    for (const auto& n : want_names) {
      if (!got_names.count(n))
        std::cout << "note: upstream op name not in kiln's: " << n << "\n";
    }
    for (const auto& n : got_names) {
      if (!want_names.count(n))
        std::cout << "note: kiln op name not in upstream's: " << n << "\n";
    }
  }

  Json want_cfg = Json::parse(ReadFile(dir / "image-config.json"));
  want_cfg.erase("rootfs");
  Json got_cfg = Json::parse(result->image_config, nullptr, false);
  ASSERT_FALSE(got_cfg.is_discarded()) << result->image_config;
  EXPECT_FALSE(got_cfg.contains("rootfs"));
  for (const auto& [field, value] : want_cfg.items()) {
    EXPECT_EQ(got_cfg[field], value) << "image config field " << field;
  }
}

std::vector<std::string> CaseNames() {
  return conformance_cases::CaseNames(CasesDir());
}

INSTANTIATE_TEST_SUITE_P(Llb, ConvertConformance,
                         testing::ValuesIn(CaseNames()), CaseName);

TEST(ConvertConformanceData, FiveCases) { EXPECT_EQ(CaseNames().size(), 5u); }

}  // namespace
}  // namespace kiln::dockerfile
