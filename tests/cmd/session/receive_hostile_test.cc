// The DiffCopy receiver against scripted (hostile) senders: bad listings are
// rejected and nothing is written outside the destination.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "diff_copy.h"
#include "go_mode.h"
#include "support/test_util.h"

namespace kiln::session::internal {
namespace {

using solver::testing::DumpTree;
using solver::testing::Exists;
using solver::testing::ReadFile;
using solver::testing::TempDir;
using solver::testing::WriteFile;

// A sender that replays packets; REQs it receives are recorded and answered
// with DATA `contents[id]` and the empty DATA (only the first for ids in
// `truncate`, after which the stream ends).
class ScriptedSender final : public PacketStream {
 public:
  explicit ScriptedSender(std::vector<Packet> script) {
    for (auto& p : script) queue_.push_back(std::move(p));
  }
  std::map<uint32_t, std::string> contents;
  std::set<uint32_t> truncate;

  bool Send(const Packet& p) override {
    std::lock_guard lock(mu_);
    sent_.push_back(p);
    if (p.type() == fsutil::types::PACKET_REQ) {
      auto it = contents.find(p.id());
      if (it != contents.end()) {
        Packet d;
        d.set_type(fsutil::types::PACKET_DATA);
        d.set_id(p.id());
        d.set_data(it->second);
        queue_.push_back(d);
        if (truncate.contains(p.id())) {
          closed_ = true;
        } else {
          d.clear_data();
          queue_.push_back(d);
        }
      }
    }
    if (p.type() == fsutil::types::PACKET_FIN) {
      Packet fin;
      fin.set_type(fsutil::types::PACKET_FIN);
      queue_.push_back(fin);
    }
    cv_.notify_all();
    return true;
  }
  // Waits for the script to go on (REQs are sent from another thread);
  // false when it has nothing more.
  bool Receive(Packet* p) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5),
                 [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    *p = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  void Cancel() override {}
  std::vector<Packet> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::deque<Packet> queue_;
  std::vector<Packet> sent_;
};

Packet Entry(const std::string& path, uint32_t go_mode,
             const std::string& link = "", int64_t size = 0) {
  Packet p;
  p.set_type(fsutil::types::PACKET_STAT);
  p.mutable_stat()->set_path(path);
  p.mutable_stat()->set_mode(go_mode);
  p.mutable_stat()->set_linkname(link);
  p.mutable_stat()->set_size(size);
  p.mutable_stat()->set_modtime(1000000000);
  return p;
}
Packet End() {
  Packet p;
  p.set_type(fsutil::types::PACKET_STAT);
  return p;
}
constexpr uint32_t kDir = kGoModeDir | 0755;
constexpr uint32_t kFile = 0644;
constexpr uint32_t kLink = kGoModeSymlink | 0777;

class ReceiveHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dest_ = tmp_.path() + "/dest";
    outside_ = tmp_.path() + "/outside";
    ASSERT_EQ(mkdir(dest_.c_str(), 0755), 0);
    WriteFile(outside_ + "/victim", "original\n");
  }

  // Runs `script` (file ids answered from `contents`) and returns the status.
  Status Receive(std::vector<Packet> script,
                 std::map<uint32_t, std::string> contents = {}) {
    ScriptedSender sender(std::move(script));
    sender.contents = std::move(contents);
    ReceiveResult result;
    Status s = ReceiveDiffCopy(sender, dest_, {}, result);
    requests_ = 0;
    for (const auto& p : sender.sent()) {
      if (p.type() == fsutil::types::PACKET_REQ) ++requests_;
    }
    return s;
  }

  void ExpectOutsideUntouched() {
    EXPECT_EQ(ReadFile(outside_ + "/victim"), "original\n");
    EXPECT_EQ(DumpTree(outside_).size(), 1u);
  }

  TempDir tmp_;
  std::string dest_;
  std::string outside_;
  int requests_ = 0;
};

TEST_F(ReceiveHostileTest, WellFormedListingIsWritten) {
  Status s = Receive({Entry("d", kDir), Entry("d/f", kFile, "", 5),
                      Entry("l", kLink, "d/f"), End()},
                     {{1, "hello"}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadFile(dest_ + "/d/f"), "hello");
  EXPECT_EQ(requests_, 1);
}

TEST_F(ReceiveHostileTest, DotDotAndAbsolutePathsAreRejected) {
  for (const std::string& bad :
       {std::string("../outside/victim"), std::string("/tmp/x"),
        std::string("a/../../outside/victim"), std::string("./a"),
        std::string("a//b"), std::string("a/"), std::string("..")}) {
    Status s = Receive({Entry(bad, kFile, "", 4), End()}, {{0, "evil"}});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument)
        << bad << ": " << s.ToString();
    EXPECT_EQ(requests_, 0) << bad;
  }
  ExpectOutsideUntouched();
  EXPECT_TRUE(DumpTree(dest_).empty());
}

TEST_F(ReceiveHostileTest, EntryUnderASymlinkIsRejected) {
  // A symlink pointing outside, then a file "inside" it.
  Status s = Receive(
      {Entry("esc", kLink, outside_), Entry("esc/victim", kFile, "", 4), End()},
      {{1, "evil"}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(requests_, 0);
  ExpectOutsideUntouched();
  // Relative escape, and a directory entry under the link.
  s = Receive({Entry("up", kLink, "../outside"), Entry("up/x", kDir), End()});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  ExpectOutsideUntouched();
}

TEST_F(ReceiveHostileTest, ExistingSymlinkInDestDoesNotRedirectWrites) {
  // dest already holds a symlink "d" → outside (e.g. from an earlier sync);
  // the listing now says "d" is a directory with a file in it.
  ASSERT_EQ(symlink(outside_.c_str(), (dest_ + "/d").c_str()), 0);
  Status s = Receive({Entry("d", kDir), Entry("d/victim", kFile, "", 4), End()},
                     {{1, "evil"}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectOutsideUntouched();
  struct stat st {};
  ASSERT_EQ(lstat((dest_ + "/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(ReadFile(dest_ + "/d/victim"), "evil");
}

TEST_F(ReceiveHostileTest, OutOfOrderDuplicateAndOrphanEntriesAreRejected) {
  EXPECT_EQ(Receive({Entry("b", kFile), Entry("a", kFile), End()}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Receive({Entry("a", kFile), Entry("a", kFile), End()}).code(),
            StatusCode::kInvalidArgument);
  // "x/y" without "x" listed.
  EXPECT_EQ(Receive({Entry("x/y", kFile), End()}).code(),
            StatusCode::kInvalidArgument);
  // A file entry, then something under it.
  EXPECT_EQ(Receive({Entry("f", kFile), Entry("f/g", kFile), End()}).code(),
            StatusCode::kInvalidArgument);
  // A hard link to something not listed before.
  EXPECT_EQ(Receive({Entry("h", kFile, "../outside/victim"), End()}).code(),
            StatusCode::kInvalidArgument);
  ExpectOutsideUntouched();
}

TEST_F(ReceiveHostileTest, DataForUnrequestedIdsAndSenderErrorsFail) {
  Packet data;
  data.set_type(fsutil::types::PACKET_DATA);
  data.set_id(7);
  data.set_data("x");
  EXPECT_EQ(Receive({Entry("a", kFile), data}).code(),
            StatusCode::kInvalidArgument);
  Packet err;
  err.set_type(fsutil::types::PACKET_ERR);
  err.set_data("disk on fire");
  Status s = Receive({Entry("a", kFile), err});
  EXPECT_EQ(s.code(), StatusCode::kUnknown);
  EXPECT_NE(s.message().find("disk on fire"), std::string::npos);
  // No temporary file is left behind by a transfer cut mid-file.
  ScriptedSender sender({Entry("p", kFile, "", 100), End()});
  sender.contents = {{0, "partial"}};
  sender.truncate = {0};
  ReceiveResult result;
  Status cut = ReceiveDiffCopy(sender, dest_, {}, result);
  EXPECT_FALSE(cut.ok());
  EXPECT_FALSE(Exists(dest_ + "/p"));
  for (const auto& [path, what] : DumpTree(dest_)) {
    EXPECT_EQ(path.find(".kiln-incoming"), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace kiln::session::internal
