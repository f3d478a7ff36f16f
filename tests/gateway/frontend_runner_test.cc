// Integration tests of FrontendRunner: the static test frontend
// (test_frontend.cc) packed into an image in the embedded store (and pushed
// to a test registry), run by real runc through the real solver. Root only.
#include "kiln/gateway/frontend_runner.h"

#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "kiln/llb/reference.h"
#include "kiln/solver/image_import.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/registry.h"
#include "support/engine_setup.h"
#include "support/registry_fixture.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::gateway {
namespace {

using solver::testing::RecordingSink;

constexpr char kImage[] = "kiln-test/frontend:1";
constexpr char kCaps[] =
    "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests";

// Imports an image whose only layer holds the test frontend at
// /bin/frontend into `images` as `name`.
Result<solver::oci::Descriptor> ImportFrontendImage(solver::ImageStore& images,
                                                    const std::string& name) {
  solver::testing::TempDir dir("kiln-frontend-image-");
  std::filesystem::create_directories(dir.path() + "/rootfs/bin");
  std::error_code ec;
  std::filesystem::copy_file(KILN_TEST_FRONTEND,
                             dir.path() + "/rootfs/bin/frontend", ec);
  if (ec) return InternalError("copying the test frontend: " + ec.message());
  chmod((dir.path() + "/rootfs/bin/frontend").c_str(), 0755);
  solver::ImportOptions options;
  options.source = dir.path() + "/rootfs";
  options.name = name;
  options.source_date_epoch = 0;
  options.config_json =
      std::string(R"({"architecture":"amd64","os":"linux","config":{)") +
      R"("Entrypoint":["/bin/frontend"],"Env":["FROM_IMAGE=1"],)" +
      R"("Labels":{"moby.buildkit.frontend.network.none":"true",)" +
      R"("moby.buildkit.frontend.caps":")" + kCaps + R"("}}})";
  return solver::ImportImage(images, options);
}

class FrontendRunnerTest : public solver::testing::SolverTest {
 protected:
  void SetUp() override {
    import_busybox_ = false;
    solver::testing::SolverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto imported = ImportFrontendImage(*images_, kImage);
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    image_digest_ = imported->digest.str();
    image_source_ = std::make_unique<solver::ImageSource>(
        images_.get(), registry_, snapshots_.get());
  }

  void TearDown() override {
    image_source_.reset();
    solver::testing::SolverTest::TearDown();
  }

  FrontendRunnerOptions Options() {
    FrontendRunnerOptions o;
    o.solver = solver_.get();
    o.snapshots = snapshots_.get();
    o.images = image_source_.get();
    o.executor = executor_.get();
    o.state_dir = root_ + "/frontends";
    o.session_id = "test-session";
    return o;
  }

  static FrontendRequest Request(const std::string& mode,
                                 const std::string& source = kImage) {
    FrontendRequest r;
    r.frontend = "gateway.v0";
    r.opts = {{"source", source}, {"mode", mode}, {"message", "hi " + mode}};
    return r;
  }

  Result<FrontendOutput> Run(FrontendRunner& runner, const FrontendRequest& r,
                             std::stop_token stop = {}) {
    solver::SolveRequest base;
    base.progress = &sink_;
    return runner.Run(r, base, stop);
  }

  std::string OutFile(const FrontendOutput& out) {
    if (!out.result.ref.has_value()) return "<no ref>";
    solver::SolveResult r;
    r.snapshot = out.result.ref->snapshot;
    return ReadResultFile(r, "/out.txt");
  }

  // The error of a run that must fail.
  Status Fails(FrontendRunner& runner, const std::string& mode) {
    auto out = Run(runner, Request(mode));
    EXPECT_FALSE(out.ok()) << mode << " succeeded";
    return out.ok() ? Status::Ok() : out.status();
  }

  void ExpectGood(FrontendRunner& runner, const std::string& message) {
    FrontendRequest r = Request("ok");
    r.opts["message"] = message;
    auto out = Run(runner, r);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(OutFile(*out), message);
  }

  std::string image_digest_;
  std::unique_ptr<solver::ImageSource> image_source_;
  RecordingSink sink_;
};

TEST_F(FrontendRunnerTest, OkFromEmbeddedStoreInSandbox) {
  FrontendRunner runner(Options());
  auto out = Run(runner, Request("ok"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->result.ref.has_value());
  EXPECT_EQ(OutFile(*out), "hi ok");
  EXPECT_EQ(out->result.metadata.count("containerimage.config"), 1u);
  ASSERT_EQ(out->definitions.count(out->result.ref->id), 1u);
  EXPECT_GT(out->definitions.at(out->result.ref->id).def_size(), 0);
  const std::string vertex =
      "[frontend] docker.io/kiln-test/frontend@" + image_digest_;
  bool completed = false;
  for (const solver::VertexProgress& v : sink_.vertices()) {
    if (v.name == vertex && v.completed.has_value()) {
      completed = true;
      EXPECT_EQ(v.error, "");
    }
  }
  EXPECT_TRUE(completed) << "no completed vertex " << vertex;
  // The rootfs snapshot and the metadata dir are gone.
  auto list = snapshots_->List();
  ASSERT_TRUE(list.ok());
  for (const solver::SnapshotInfo& s : *list) {
    EXPECT_FALSE(s.name.starts_with("kiln-frontend-")) << s.name;
  }
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/frontends"));
}

TEST_F(FrontendRunnerTest, EnvironmentAndMetadataContract) {
  FrontendRunner runner(Options());
  auto out = Run(runner, Request("env"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::string env = OutFile(*out);
  EXPECT_NE(env.find("=mode=env\n"), std::string::npos) << env;
  EXPECT_NE(env.find("=source=kiln-test/frontend:1\n"), std::string::npos)
      << env;
  EXPECT_NE(env.find("BUILDKIT_SESSION_ID=test-session\n"), std::string::npos)
      << env;
  EXPECT_NE(env.find("BUILDKIT_EXPORTEDPRODUCT=kiln\n"), std::string::npos)
      << env;
  EXPECT_NE(env.find("BUILDKIT_WORKERS=[{\"id\":\"kiln\""), std::string::npos)
      << env;
  EXPECT_NE(env.find("frontend.bin mode 256 size "), std::string::npos) << env;
}

TEST_F(FrontendRunnerTest, FailuresAreClearAndTheRunnerServesOnAfterwards) {
  FrontendRunner runner(Options());
  const std::string name =
      "frontend docker.io/kiln-test/frontend@" + image_digest_;
  Status crash = Fails(runner, "crash");
  // abort() in a container's pid 1 ends as SIGSEGV (139) when SIGABRT is
  // ignored there; on a host it is SIGABRT (134). Either is a crash.
  EXPECT_TRUE(crash.message().find(name + " exited with code 134") !=
                  std::string::npos ||
              crash.message().find(name + " exited with code 139") !=
                  std::string::npos)
      << crash.ToString();
  EXPECT_NE(crash.message().find("crashing on purpose"), std::string::npos)
      << crash.ToString();

  Status garbage = Fails(runner, "garbage");
  EXPECT_NE(garbage.message().find(name + " exited with code"),
            std::string::npos)
      << garbage.ToString();
  EXPECT_NE(garbage.message().find("wrote garbage"), std::string::npos)
      << garbage.ToString();

  Status steal = Fails(runner, "steal");
  EXPECT_NE(steal.message().find(name + " exited with code 1"),
            std::string::npos)
      << steal.ToString();
  EXPECT_NE(steal.message().find("unknown ref 0123456789abcdef-stolen"),
            std::string::npos)
      << steal.ToString();

  Status noreturn = Fails(runner, "noreturn");
  EXPECT_NE(noreturn.message().find(
                name + " returned no result (exited without calling Return)"),
            std::string::npos)
      << noreturn.ToString();

  Status unknown = Fails(runner, "bogus");  // the frontend's own error
  EXPECT_NE(unknown.message().find("unknown mode \"bogus\""), std::string::npos)
      << unknown.ToString();

  ExpectGood(runner, "still serving");
}

TEST_F(FrontendRunnerTest, HangIsKilledByIdleTimeoutWhileAnotherBuildRuns) {
  FrontendRunnerOptions options = Options();
  options.idle_timeout = std::chrono::seconds(3);
  FrontendRunner runner(options);
  Result<FrontendOutput> hung = InternalError("not run");
  auto start = std::chrono::steady_clock::now();
  std::thread hang([&] { hung = Run(runner, Request("hang")); });
  ExpectGood(runner, "concurrent");
  hang.join();
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.status().code(), StatusCode::kDeadlineExceeded)
      << hung.status().ToString();
  EXPECT_NE(hung.status().message().find("made no request for 3 s"),
            std::string::npos)
      << hung.status().ToString();
  EXPECT_NE(hung.status().message().find("hanging on purpose"),
            std::string::npos)
      << hung.status().ToString();
  EXPECT_LT(took, std::chrono::seconds(30));
}

TEST_F(FrontendRunnerTest, StopCancelsAHangingFrontend) {
  FrontendRunner runner(Options());
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop.request_stop();
  });
  auto out = Run(runner, Request("hang"), stop.get_token());
  stopper.join();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled)
      << out.status().ToString();
}

TEST_F(FrontendRunnerTest, NestedFrontendResultBecomesTheCallersRef) {
  FrontendRunner runner(Options());
  FrontendRequest r = Request("nested");
  r.opts["inner"] = kImage;
  r.opts["message"] = "from the inner frontend";
  auto out = Run(runner, r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(OutFile(*out), "from the inner frontend");
  EXPECT_EQ(out->result.metadata.count("containerimage.config"), 1u);
  ASSERT_TRUE(out->result.ref.has_value());
  ASSERT_EQ(out->definitions.count(out->result.ref->id), 1u);

  FrontendRunnerOptions shallow = Options();
  shallow.max_depth = 0;
  FrontendRunner limited(shallow);
  auto deep = Run(limited, r);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("frontends nested deeper than 0 levels"),
            std::string::npos)
      << deep.status().ToString();
}

TEST_F(FrontendRunnerTest, ExecPathRunsTheHostBinary) {
  FrontendRunnerOptions options = Options();
  options.exec_path = KILN_TEST_FRONTEND;
  FrontendRunner runner(options);
  FrontendRequest r = Request("ok");
  r.opts.erase("source");
  r.opts["nocheck"] = "1";
  r.opts["message"] = "from the host";
  auto out = Run(runner, r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(OutFile(*out), "from the host");

  Status crash = Run(runner, Request("crash")).status();
  EXPECT_NE(crash.message().find("frontend " + std::string(KILN_TEST_FRONTEND) +
                                 " exited with code 134"),
            std::string::npos)
      << crash.ToString();
}

TEST_F(FrontendRunnerTest, PolicyPinAndDenyAreApplied) {
  FrontendRunnerOptions pinned = Options();
  pinned.policy.pins["docker.io/kiln-test/frontend:1"] =
      "sha256:" + std::string(64, '0');
  FrontendRunner pin_runner(pinned);
  auto pin = Run(pin_runner, Request("ok"));
  ASSERT_FALSE(pin.ok());
  EXPECT_EQ(pin.status().code(), StatusCode::kFailedPrecondition)
      << pin.status().ToString();
  EXPECT_NE(pin.status().message().find("pinned"), std::string::npos)
      << pin.status().ToString();

  FrontendRunnerOptions denied = Options();
  denied.policy.deny = {"docker.io/kiln-test/**"};
  FrontendRunner deny_runner(denied);
  auto deny = Run(deny_runner, Request("ok"));
  ASSERT_FALSE(deny.ok());
  EXPECT_EQ(deny.status().code(), StatusCode::kPermissionDenied)
      << deny.status().ToString();
  EXPECT_NE(deny.status().message().find("docker.io/kiln-test/frontend"),
            std::string::npos)
      << deny.status().ToString();
}

TEST_F(FrontendRunnerTest, NamesAndCaps) {
  FrontendRunner runner(Options());
  FrontendRequest bad = Request("ok");
  bad.frontend = "nope.v0";
  EXPECT_EQ(Run(runner, bad).status().message(), "invalid frontend: nope.v0");
  FrontendRequest nosource = Request("ok");
  nosource.opts.erase("source");
  EXPECT_EQ(Run(runner, nosource).status().message(),
            "no source specified for gateway");

  FrontendRequest caps = Request("ok");
  caps.opts["frontend.caps"] =
      "moby.buildkit.frontend.inputs+x,moby.buildkit.frontend.contexts+forward";
  Status missing = Run(runner, caps).status();
  EXPECT_EQ(missing.code(), StatusCode::kUnimplemented) << missing.ToString();
  EXPECT_NE(missing.message().find("moby.buildkit.frontend.contexts"),
            std::string::npos)
      << missing.ToString();
  EXPECT_EQ(missing.message().find("caps moby.buildkit.frontend.inputs"),
            std::string::npos)
      << missing.ToString();

  FrontendRunnerOptions df = Options();
  df.policy.dockerfile = kImage;
  FrontendRunner dockerfile(df);
  FrontendRequest alias = Request("ok");
  alias.frontend = "dockerfile.v0";
  alias.opts.erase("source");
  auto out = Run(dockerfile, alias);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(OutFile(*out), "hi ok");
}

// The same image served by a registry only.
class FrontendRunnerRegistryTest : public FrontendRunnerTest {
 protected:
  void SetUp() override {
    if (std::string why = solver::testing::TestRegistry::UnavailableReason();
        !why.empty()) {
      GTEST_SKIP() << why;
    }
    auto registry = solver::testing::TestRegistry::Start();
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_server_ = std::move(*registry);
    FrontendRunnerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    client_ = std::make_unique<solver::RegistryClient>(
        registry_server_->ClientConfig(), content_.get());
    registry_ = client_.get();
    image_source_.reset();
    CloseEngine();
    ASSERT_NO_FATAL_FAILURE(OpenEngine());
    image_source_ = std::make_unique<solver::ImageSource>(
        images_.get(), registry_, snapshots_.get());

    // Pushed from a separate store: the engine's store never holds it.
    push_root_ = solver::testing::MakeTempDir("kiln-frontend-push");
    auto stores = solver::testing::OpenStores(push_root_);
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    ref_ = registry_server_->host() + "/kiln-test/remote-frontend:2";
    auto pushed_image = ImportFrontendImage(*stores->images, ref_);
    ASSERT_TRUE(pushed_image.ok()) << pushed_image.status().ToString();
    remote_digest_ = pushed_image->digest.str();
    solver::RegistryClient pusher(registry_server_->ClientConfig(),
                                  stores->content.get());
    auto parsed = llb::ParseImageReference(ref_);
    ASSERT_TRUE(parsed.ok());
    Status pushed = pusher.Push(*parsed, *pushed_image);
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  }

  void TearDown() override {
    FrontendRunnerTest::TearDown();
    client_.reset();
    registry_server_.reset();
    if (!push_root_.empty()) solver::testing::RemoveTree(push_root_);
  }

  std::unique_ptr<solver::testing::TestRegistry> registry_server_;
  std::unique_ptr<solver::RegistryClient> client_;
  std::string push_root_;
  std::string ref_;
  std::string remote_digest_;
};

TEST_F(FrontendRunnerRegistryTest, OkFromRegistry) {
  FrontendRunner runner(Options());
  auto out = Run(runner, Request("ok", ref_));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(OutFile(*out), "hi ok");
  bool seen = false;
  for (const solver::VertexProgress& v : sink_.vertices()) {
    seen |= v.name.ends_with("@" + remote_digest_);
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace kiln::gateway
