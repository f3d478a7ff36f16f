// FileSend: exporter output from the daemon into the client's targets.
#include <grpcpp/impl/rpc_method.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "diff_copy.h"
#include "kiln/session/file_send.h"
#include "kiln/solver/local_source.h"
#include "packet_stream.h"
#include "session_harness.h"

namespace kiln::session {
namespace {

using solver::testing::DumpTree;
using solver::testing::Exists;
using solver::testing::ReadFile;
using solver::testing::WriteFile;
using testing::SessionHarness;

class FileSendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.ok());
    out_dir_ = h_.dir() + "/out/tree";
    out_file_ = h_.dir() + "/out/image.tar";
    auto c = h_.Connect(
        {.exports = {{"0", {ExportTarget::Kind::kDirectory, out_dir_}},
                     {"1", {ExportTarget::Kind::kFile, out_file_}}}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    auto s = h_.manager().Get(client_->id());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    session_ = *s;
  }
  void TearDown() override {
    if (client_) {
      EXPECT_TRUE(client_->Close().ok());
    }
  }

  SessionHarness h_;
  std::string out_dir_;
  std::string out_file_;
  std::unique_ptr<ClientSession> client_;
  std::shared_ptr<Session> session_;
};

TEST_F(FileSendTest, DirectoryArrivesWhole) {
  std::string result = h_.dir() + "/result";
  WriteFile(result + "/bin/app", "#!/bin/sh\necho hi\n");
  chmod((result + "/bin/app").c_str(), 0755);
  WriteFile(result + "/etc/conf", "k=v\n");
  symlink("bin/app", (result + "/run").c_str());
  std::string big(1 << 20, 'z');
  WriteFile(result + "/data/big", big);
  auto sent = SendDirToClient(*session_, "0", result);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(sent->files_requested, 3u);  // every regular file is new
  EXPECT_FALSE(Exists(out_dir_)) << "a new directory waits for the commit";
  ASSERT_TRUE(client_->CommitExports().ok());
  EXPECT_EQ(DumpTree(out_dir_), DumpTree(result));
  EXPECT_EQ(ReadFile(out_dir_ + "/data/big"), big);
  EXPECT_GE(client_->export_stats().data_bytes, big.size());

  // Into an existing directory: merged, other entries kept.
  WriteFile(out_dir_ + "/mine.txt", "keep me\n");
  WriteFile(result + "/etc/conf", "k=v2\n");
  auto again = SendDirToClient(*session_, "0", result);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadFile(out_dir_ + "/etc/conf"), "k=v2\n");
  EXPECT_EQ(ReadFile(out_dir_ + "/mine.txt"), "keep me\n");
}

TEST_F(FileSendTest, FileArrivesWholeOrNotAtAll) {
  std::string tar = h_.dir() + "/export.tar";
  std::string bytes;
  for (int i = 0; i < 300000; ++i) bytes.push_back(static_cast<char>(i * 31));
  WriteFile(tar, bytes);
  Status sent = SendFileToClient(*session_, "1", tar, {{"image.name", "x"}});
  ASSERT_TRUE(sent.ok()) << sent.ToString();
  EXPECT_FALSE(Exists(out_file_)) << "the file waits for the commit";
  ASSERT_TRUE(client_->CommitExports().ok());
  EXPECT_EQ(ReadFile(out_file_), bytes);

  // An aborted transfer leaves the previous file and no temporary.
  auto writer = OpenClientFile(*session_, "1");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write("half of a tar").ok());
  (*writer)->Abort();
  writer->reset();
  client_->Close().IgnoreError();  // waits for the client's handlers
  EXPECT_EQ(ReadFile(out_file_), bytes);
  client_.reset();  // the failed build's session: its leftovers go
  EXPECT_EQ(ReadFile(out_file_), bytes);
  for (const auto& [path, what] : DumpTree(h_.dir() + "/out")) {
    EXPECT_EQ(path.find(".kiln-incoming"), std::string::npos) << path;
  }
}

TEST_F(FileSendTest, ACompleteTransferOfAFailedBuildIsDiscarded) {
  // The daemon sent everything, then the build failed (or the stream was
  // cut where a message ends): the receiver cannot tell, so nothing appears
  // until CommitExports, and DiscardExports leaves no trace.
  std::string tar = h_.dir() + "/export.tar";
  WriteFile(tar, "a whole tar\n");
  ASSERT_TRUE(SendFileToClient(*session_, "1", tar, {}).ok());
  std::string result = h_.dir() + "/result";
  WriteFile(result + "/f", "x\n");
  ASSERT_TRUE(SendDirToClient(*session_, "0", result).ok());
  client_->DiscardExports();
  EXPECT_FALSE(Exists(out_file_));
  EXPECT_FALSE(Exists(out_dir_));
  for (const auto& [path, what] : DumpTree(h_.dir() + "/out")) {
    EXPECT_EQ(path.find(".kiln-incoming"), std::string::npos) << path;
  }
  // A later commit has nothing left to rename.
  EXPECT_TRUE(client_->CommitExports().ok());
  EXPECT_FALSE(Exists(out_file_));
}

TEST_F(FileSendTest, NewDirectoryDoesNotAppearWhenTheSenderFails) {
  // A listing naming a file the sender then cannot open: it sends ERR, the
  // export fails and the destination directory never appears.
  std::string result = h_.dir() + "/result";
  WriteFile(result + "/ok", "ok\n");
  auto entries = solver::ListLocal(result, {});
  ASSERT_TRUE(entries.ok());
  solver::LocalEntry ghost = entries->back();
  ghost.path = "zz-vanished";
  entries->push_back(ghost);
  grpc::ClientContext ctx;
  ctx.AddMetadata(kMetaExporterId, "0");
  grpc::internal::RpcMethod method(kMethodFileSendDiffCopy,
                                   grpc::internal::RpcMethod::BIDI_STREAMING);
  auto channel = session_->channel();
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::Create(channel.get(), method,
                                                         &ctx));
  internal::RawPacketStream ps(stream.get(), &ctx);
  TransferStats stats;
  Status s = internal::SendDiffCopy(ps, result, *entries, stats);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("zz-vanished"), std::string::npos) << s.ToString();
  (void)stream->Finish();
  client_->Close().IgnoreError();  // waits for the client's handler
  client_.reset();
  EXPECT_FALSE(Exists(out_dir_));
  for (const auto& [path, what] : DumpTree(h_.dir() + "/out")) {
    EXPECT_EQ(path.find(".kiln-incoming"), std::string::npos) << path;
  }

  // And an exporter id the client does not know is NotFound.
  auto other =
      h_.Connect({.exports = {{"0", {ExportTarget::Kind::kDirectory, out_dir_}},
                              {"1", {ExportTarget::Kind::kFile, out_file_}}}});
  ASSERT_TRUE(other.ok());
  auto os = h_.manager().Get((*other)->id());
  ASSERT_TRUE(os.ok());
  auto unknown = SendDirToClient(**os, "7", result);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound)
      << unknown.status().ToString();
  EXPECT_TRUE((*other)->Close().ok());
}

TEST_F(FileSendTest, ClientWithoutFileSendIsAFailedPrecondition) {
  auto plain = h_.Connect({});
  ASSERT_TRUE(plain.ok());
  auto s = h_.manager().Get((*plain)->id());
  ASSERT_TRUE(s.ok());
  auto sent = SendDirToClient(**s, "0", h_.dir());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*plain)->Close().ok());
}

}  // namespace
}  // namespace kiln::session
