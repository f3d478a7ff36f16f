// The BridgeServer test fixture: a real Solver over a snapshotter of kind
// `kind_` (copy unless a subclass says otherwise, set before SetUp), the
// server on one end of a socketpair (ServeOnFd) and a client stub on the
// other. Header-only; shared by the unit and root test binaries.
#ifndef KILN_TESTS_GATEWAY_BRIDGE_FIXTURE_H_
#define KILN_TESTS_GATEWAY_BRIDGE_FIXTURE_H_

#include <grpcpp/create_channel_posix.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>

#include "kiln/gateway/bridge_server.h"
#include "kiln/gateway/serve_fd.h"
#include "kiln/llb/file.h"
#include "kiln/llb/state.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::gateway::testing {

namespace fe = ::moby::buildkit::v1::frontend;
using solver::testing::MakeTempDir;
using solver::testing::RemoveTree;

class BridgeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("kiln-gateway");
    auto stores = solver::testing::OpenStores(root_);
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    content_ = std::move(stores->content);
    images_ = std::move(stores->images);
    auto snaps = solver::OpenSnapshotter(root_ + "/snapshots", kind_);
    ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
    snapshots_ = std::move(*snaps);
    solver::SolverOptions options;
    options.root = root_;
    options.images = images_.get();
    options.snapshots = snapshots_.get();
    auto opened = solver::Solver::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    solver_ = std::move(*opened);

    image_source_ = std::make_unique<solver::ImageSource>(
        images_.get(), nullptr, snapshots_.get());
    BuildEnv env;
    env.solver = solver_.get();
    env.snapshots = snapshots_.get();
    if (with_images_) env.images = image_source_.get();
    env.inputs = inputs_;
    env.nested = nested_;
    env.base_request.platform = default_platform_;
    bridge_ = std::make_unique<BridgeServer>(std::move(env));
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    auto server = ServeOnFd(bridge_.get(), sv[0]);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    channel_ = grpc::CreateInsecureChannelFromFd("", sv[1]);
    stub_ = fe::LLBBridge::NewStub(channel_);
  }

  void TearDown() override {
    stub_.reset();
    channel_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    bridge_.reset();
    solver_.reset();
    image_source_.reset();
    snapshots_.reset();
    images_.reset();
    content_.reset();
    if (!root_.empty()) RemoveTree(root_);
  }

  // Solves `state` through the Solve RPC; returns the status and the ref id.
  grpc::Status SolveState(const llb::State& state, std::string* id) {
    auto def = state.Marshal();
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    fe::SolveRequest req;
    *req.mutable_definition() = *def;
    req.set_allowresultreturn(true);
    req.set_allowresultarrayref(true);
    fe::SolveResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->Solve(&ctx, req, &resp);
    if (st.ok()) {
      EXPECT_TRUE(resp.result().has_ref());
      EXPECT_EQ(resp.result().ref().def().def_size(), def->def_size());
      *id = resp.result().ref().id();
    }
    return st;
  }

  // A ref with /hello.txt, /dir/{a,b.md}, /link -> /hello.txt and
  // /escape -> ../../../../etc/passwd.
  std::string SolveSample() {
    llb::State s = llb::Scratch()
                       .File(llb::Mkfile("/hello.txt", 0640, "hello bridge"))
                       .File(llb::Mkdir("/dir", 0755))
                       .File(llb::Mkfile("/dir/a", 0644, "A"))
                       .File(llb::Mkfile("/dir/b.md", 0600, "BB"))
                       .File(llb::Symlink("/hello.txt", "/link"))
                       .File(llb::Symlink("../../../../etc/passwd", "/escape"));
    std::string id;
    grpc::Status st = SolveState(s, &id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_FALSE(id.empty());
    return id;
  }

  grpc::Status Read(const std::string& ref, const std::string& path,
                    std::string* data, const fe::FileRange* range = nullptr) {
    fe::ReadFileRequest req;
    req.set_ref(ref);
    req.set_filepath(path);
    if (range != nullptr) *req.mutable_range() = *range;
    fe::ReadFileResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->ReadFile(&ctx, req, &resp);
    *data = resp.data();
    return st;
  }

  std::string root_;
  std::unique_ptr<solver::ContentStore> content_;
  std::unique_ptr<solver::ImageStore> images_;
  std::unique_ptr<solver::Snapshotter> snapshots_;
  std::unique_ptr<solver::Solver> solver_;
  std::unique_ptr<solver::ImageSource> image_source_;
  bool with_images_ = false;  // set by subclasses before SetUp
  // BuildEnv::inputs and ::nested; set by subclasses before SetUp.
  std::map<std::string, pb::Definition> inputs_;
  NestedFrontends* nested_ = nullptr;
  // BuildEnv::base_request.platform (the default target platform); set by
  // subclasses before SetUp.
  llb::Platform default_platform_;
  // Snapshotter kind; set by subclasses before SetUp.
  solver::SnapshotterKind kind_ = solver::SnapshotterKind::kCopy;
  std::unique_ptr<BridgeServer> bridge_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fe::LLBBridge::Stub> stub_;
};

}  // namespace kiln::gateway::testing

#endif  // KILN_TESTS_GATEWAY_BRIDGE_FIXTURE_H_
