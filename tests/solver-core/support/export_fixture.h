// Test support for the exporter tests: a copy snapshotter, the content and
// image stores and an ExportEnv in a temporary directory, the sources to
// export (one per platform) and ExportPlatforms over them.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_EXPORT_FIXTURE_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_EXPORT_FIXTURE_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/solver/exporter.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::solver::testing {

class ExportFixture : public ::testing::Test {
 protected:
  explicit ExportFixture(const char* temp_prefix) : tmp_(temp_prefix) {}

  // Subclasses commit their snapshots and fill sources_ after calling this.
  void SetUp() override {
    auto snaps =
        OpenSnapshotter(tmp_.path() + "/snaps", SnapshotterKind::kCopy);
    ASSERT_TRUE(snaps.ok());
    snaps_ = std::move(*snaps);
    auto stores = OpenStores(tmp_.path());
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    content_ = std::move(stores->content);
    images_ = std::move(stores->images);
    std::filesystem::create_directories(tmp_.path() + "/work");
    env_ = ExportEnv{snaps_.get(), content_.get(), images_.get(),
                     nullptr,      nullptr,        tmp_.path() + "/work"};
  }

  // ExportPlatforms of sources_ with the --output `spec`.
  Result<std::map<std::string, std::string>> Run(const std::string& spec) {
    auto req = ParseOutputSpec(spec);
    if (!req.ok()) return req.status();
    return ExportPlatforms(*req, sources_, env_);
  }

  // The JSON blob `digest` of the content store (null when unreadable, with
  // a test failure).
  nlohmann::json Blob(const std::string& digest) {
    auto d = Digest::Parse(digest);
    EXPECT_TRUE(d.ok()) << digest;
    if (!d.ok()) return nullptr;
    auto bytes = content_->ReadAll(*d);
    EXPECT_TRUE(bytes.ok()) << digest;
    return nlohmann::json::parse(bytes.ok() ? *bytes : std::string("null"));
  }

  TempDir tmp_;
  std::unique_ptr<Snapshotter> snaps_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
  ExportEnv env_;
  std::vector<ExportSource> sources_;
};

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_EXPORT_FIXTURE_H_
