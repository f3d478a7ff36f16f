// Test support for the registry client: a real Debian docker-registry on
// 127.0.0.1 with a free port and a temporary storage directory (like
// shared/tools/start-registry.sh), a base fixture around it, and helpers to
// build small images in a content store. Re-exports test_util.h (temp dirs,
// files, running tools such as skopeo, umoci and htpasswd).
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_FIXTURE_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/registry_config.h"
#include "test_util.h"

namespace kiln::solver::testing {

struct TestRegistryOptions {
  // Extra top-level YAML for the registry's config.yml, e.g. an auth section:
  //   "auth:\n  htpasswd:\n    realm: kiln\n    path: /tmp/x/htpasswd\n"
  std::string extra_yaml;
};

class TestRegistry {
 public:
  // Empty when docker-registry can be run here, else why not (for GTEST_SKIP).
  static std::string UnavailableReason();

  // Starts a registry and waits until it accepts connections. Errors say why
  // and include its log.
  static Result<std::unique_ptr<TestRegistry>> Start(
      const TestRegistryOptions& options = {});
  // Kills the registry and removes its directory.
  ~TestRegistry();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  // The registry's file holding a blob's bytes (filesystem storage driver).
  std::string BlobDataPath(const Digest& digest) const;
  std::string Log() const;
  // A client config allowing plain http to this registry.
  RegistryConfig ClientConfig() const;

 private:
  TestRegistry(pid_t pid, int port, std::string dir)
      : pid_(pid), port_(port), dir_(std::move(dir)) {}
  pid_t pid_;
  int port_;
  std::string dir_;
};

// Base fixture of the registry tests: dir_ is a fresh temporary directory,
// removed after the test, and registry_ a started TestRegistry (the test is
// skipped when docker-registry cannot run here) unless the fixture passes
// start_registry = false, to start it later (StartRegistry) or never.
class RegistryTest : public ::testing::Test {
 protected:
  explicit RegistryTest(std::string temp_prefix, bool start_registry = true)
      : temp_prefix_(std::move(temp_prefix)), start_registry_(start_registry) {}

  // Derived fixtures call this first, then return if IsSkipped() or
  // HasFatalFailure().
  void SetUp() override;
  // Stops the registry, then removes dir_.
  void TearDown() override;

  // Starts registry_ (with `options`); a fatal failure when it does not
  // start, a skip when docker-registry is not installed. Callers:
  //   ASSERT_NO_FATAL_FAILURE(StartRegistry()); if (IsSkipped()) return;
  void StartRegistry(const TestRegistryOptions& options = {});
  // A content store at dir_/<name>; nullptr (and a test failure) on error.
  std::unique_ptr<ContentStore> OpenStore(const std::string& name);
  // "<registry host>/<rest>" parsed (a test failure when it does not parse).
  llb::ImageReference Ref(const std::string& rest) const;

  std::unique_ptr<TestRegistry> registry_;
  std::string dir_;

 private:
  std::string temp_prefix_;
  bool start_registry_;
};

// A port of 127.0.0.1 that was free a moment ago.
int FreePort();

// Builds the busybox OCI layout (shared/tools/make-busybox-oci.sh) in `dir`
// with tag `tag`; returns the layout's path.
Result<std::string> MakeBusyboxLayout(const std::string& dir,
                                      const std::string& tag);
// Copies every blob of an OCI layout into `store`; returns index.json's
// first manifest descriptor.
Result<oci::Descriptor> ImportLayout(const std::string& layout,
                                     ContentStore* store);

// An uncompressed tar holding regular files (path → content), deterministic.
std::string MakeTar(const std::map<std::string, std::string>& files);
// Stores a one-layer image for `platform` whose layer is `layer` (stored
// as-is with `layer_media_type`) and returns its manifest descriptor (with
// platform set). `docker` selects Docker v2 media types for manifest/config.
Result<oci::Descriptor> StoreImage(ContentStore* store,
                                   const llb::Platform& platform,
                                   const std::string& layer,
                                   const std::string& layer_media_type,
                                   bool docker = false);
// Stores an OCI index of `manifests` and returns its descriptor.
Result<oci::Descriptor> StoreIndex(
    ContentStore* store, const std::vector<oci::Descriptor>& manifests);

// Standard base64 (with padding), as docker config "auth" fields use.
std::string Base64(const std::string& s);

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_FIXTURE_H_
