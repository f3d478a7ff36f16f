// BridgeServer over the overlay snapshotter: file RPCs must mount a
// committed overlay snapshot read-only, and the destructor must unmount it.
// Needs root (mount); skips otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "bridge_fixture.h"

namespace kiln::gateway {
namespace {

namespace fe = ::moby::buildkit::v1::frontend;

// Mount table lines naming a gateway ref mountpoint.
int GatewayMounts() {
  std::ifstream in("/proc/self/mountinfo");
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("kiln-gateway-ref-") != std::string::npos) ++n;
  }
  return n;
}

class BridgeServerOverlayTest : public testing::BridgeServerTest {
 protected:
  BridgeServerOverlayTest() { kind_ = solver::SnapshotterKind::kOverlay; }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "overlay snapshots need root";
    BridgeServerTest::SetUp();
  }
};

TEST_F(BridgeServerOverlayTest, ReadsAMountedOverlaySnapshotAndUnmounts) {
  ASSERT_EQ(snapshots_->kind(), solver::SnapshotterKind::kOverlay);
  // Two file ops: the result is a chain of two overlay layers.
  llb::State s = llb::Scratch()
                     .File(llb::Mkfile("/base.txt", 0644, "base"))
                     .File(llb::Mkfile("/top.txt", 0644, "top"));
  std::string id;
  grpc::Status st = SolveState(s, &id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  int before = GatewayMounts();
  std::string data;
  ASSERT_TRUE(Read(id, "/base.txt", &data).ok());
  EXPECT_EQ(data, "base");
  ASSERT_TRUE(Read(id, "/top.txt", &data).ok());
  EXPECT_EQ(data, "top");
  fe::ReadDirRequest req;
  req.set_ref(id);
  req.set_dirpath("/");
  fe::ReadDirResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ReadDir(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.entries_size(), 2);
  EXPECT_EQ(resp.entries(0).path(), "base.txt");
  EXPECT_EQ(resp.entries(1).path(), "top.txt");
  EXPECT_EQ(GatewayMounts(), before + 1);  // mounted once, reused

  stub_.reset();
  server_->Shutdown();
  server_.reset();
  bridge_.reset();
  EXPECT_EQ(GatewayMounts(), before);
}

}  // namespace
}  // namespace kiln::gateway
