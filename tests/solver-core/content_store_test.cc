#include "kiln/solver/content_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

using testing::ForkChild;
using testing::ReadFile;
using testing::WaitExitCode;

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path() + "/content";
    auto store = ContentStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override { store_.reset(); }

  std::vector<std::string> IngestFiles() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ + "/ingest")) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

  static std::string Pattern(size_t size) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
      s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    return s;
  }

  // A child process's work: opens the store at dir_ anew and writes `part`
  // (a prefix of the blob `digest`, `size` bytes in all) to a writer in
  // pieces of at most `piece` bytes. Its exit code: 2, 3 or 4 when the open,
  // the writer or a write fails, else what `then` returns.
  int WriteInChild(const Digest& digest, int64_t size, std::string_view part,
                   size_t piece,
                   const std::function<int(ContentWriter&)>& then) {
    auto store = ContentStore::Open(dir_);
    if (!store.ok()) return 2;
    auto writer = (*store)->Writer(digest, size);
    if (!writer.ok()) return 3;
    for (size_t off = 0; off < part.size(); off += piece) {
      if (!(*writer)->Write(part.substr(off, piece)).ok()) return 4;
    }
    return then(**writer);
  }

  testing::TempDir tmp_{"kiln-content-test-"};
  std::string dir_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(ContentStoreTest, PutGetListDelete) {
  auto digest = store_->Put("hello");
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(digest->str(),
            "sha256:"
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_TRUE(store_->Has(*digest));
  EXPECT_EQ(store_->BlobPath(*digest),
            dir_ + "/blobs/sha256/" + std::string(digest->hex()));
  EXPECT_EQ(ReadFile(store_->BlobPath(*digest)), "hello");
  auto info = store_->Info(*digest);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 5);
  auto bytes = store_->ReadAll(*digest);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "hello");
  EXPECT_EQ(store_->ReadAll(*digest, 4).status().code(),
            StatusCode::kFailedPrecondition);

  auto second = store_->Put("world!");
  ASSERT_TRUE(second.ok());
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_LT((*list)[0].digest, (*list)[1].digest);
  for (const auto& blob : *list) {
    EXPECT_EQ(blob.size, blob.digest == *digest ? 5 : 6);
  }

  ASSERT_TRUE(store_->Delete(*digest).ok());
  EXPECT_FALSE(store_->Has(*digest));
  EXPECT_EQ(store_->Delete(*digest).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ReadAll(*digest).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Info(*digest).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->List()->size(), 1u);
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, PutWithWrongExpectedDigestStoresNothing) {
  Digest wrong = Digest::FromBytes("other");
  auto digest = store_->Put("hello", &wrong);
  EXPECT_EQ(digest.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(store_->List()->empty());
  Digest right = Digest::FromBytes("hello");
  EXPECT_TRUE(store_->Put("hello", &right).ok());
}

TEST_F(ContentStoreTest, DigestMismatchIsDataLossAndStoresNothing) {
  Digest expected = Digest::FromBytes("abc");
  auto writer = store_->Writer(expected, 3);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("abd").ok());
  Status s = (*writer)->Commit();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("digest mismatch"), std::string::npos)
      << s.message();
  EXPECT_FALSE(store_->Has(expected));
  EXPECT_FALSE(store_->Has(Digest::FromBytes("abd")));
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, SizeMismatchIsDataLoss) {
  Digest expected = Digest::FromBytes("abc");
  auto short_writer = store_->Writer(expected, 4);
  ASSERT_TRUE(short_writer.ok());
  ASSERT_TRUE((*short_writer)->Write("abc").ok());
  EXPECT_EQ((*short_writer)->Commit().code(), StatusCode::kDataLoss);

  auto long_writer = store_->Writer(expected, 2);
  ASSERT_TRUE(long_writer.ok());
  EXPECT_EQ((*long_writer)->Write("abc").code(), StatusCode::kDataLoss);
  EXPECT_EQ((*long_writer)->written(), 0);
  long_writer->reset();
  EXPECT_FALSE(store_->Has(expected));
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, StreamsLargeBlobsAndUnknownDigests) {
  std::string data = Pattern(5 << 20);
  auto writer = store_->WriterForUnknown();
  ASSERT_TRUE(writer.ok());
  for (size_t off = 0; off < data.size(); off += 100000) {
    ASSERT_TRUE(
        (*writer)->Write(std::string_view(data).substr(off, 100000)).ok());
  }
  EXPECT_FALSE(ContentStore::CommittedDigest(**writer).valid());
  ASSERT_TRUE((*writer)->Commit().ok());
  Digest digest = ContentStore::CommittedDigest(**writer);
  EXPECT_EQ(digest, Digest::FromBytes(data));
  EXPECT_EQ(store_->Info(digest)->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(ReadFile(store_->BlobPath(digest)), data);
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, CommittingPresentBlobKeepsExistingFile) {
  auto digest = store_->Put("same");
  ASSERT_TRUE(digest.ok());
  struct stat before {};
  ASSERT_EQ(stat(store_->BlobPath(*digest).c_str(), &before), 0);
  EXPECT_EQ(before.st_mode & 0777, 0444u);
  auto writer = store_->Writer(*digest, 4);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("same").ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  struct stat after {};
  ASSERT_EQ(stat(store_->BlobPath(*digest).c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, AbandonedWriterRemovesIngestFile) {
  auto writer = store_->Writer(Digest::FromBytes("abc"), 3);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("ab").ok());
  EXPECT_EQ(IngestFiles().size(), 1u);
  writer->reset();
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, RejectsDigestsItCannotVerify) {
  EXPECT_EQ(store_->Writer(Digest()).status().code(),
            StatusCode::kInvalidArgument);
  auto sha512 = Digest::Parse("sha512:" + std::string(128, 'a'));
  ASSERT_TRUE(sha512.ok());
  EXPECT_EQ(store_->Writer(*sha512).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ContentStoreTest, ConcurrentWritersFromThreadsStoreOneBlob) {
  std::string data = Pattern(1 << 20);
  Digest digest = Digest::FromBytes(data);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto writer = store_->Writer(digest, static_cast<int64_t>(data.size()));
      if (!writer.ok()) return;
      for (size_t off = 0; off < data.size(); off += 65536) {
        if (!(*writer)->Write(std::string_view(data).substr(off, 65536)).ok())
          return;
      }
      if ((*writer)->Commit().ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(ReadFile(store_->BlobPath(digest)), data);
  EXPECT_EQ(store_->List()->size(), 1u);
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, ConcurrentWritersFromProcessesStoreOneBlob) {
  std::string data = Pattern(1 << 20);
  Digest digest = Digest::FromBytes(data);
  std::vector<pid_t> children;
  for (int p = 0; p < 8; ++p) {
    pid_t pid = ForkChild([&] {
      return WriteInChild(
          digest, static_cast<int64_t>(data.size()), data, 65536,
          [](ContentWriter& writer) { return writer.Commit().ok() ? 0 : 5; });
    });
    ASSERT_GE(pid, 0);
    children.push_back(pid);
  }
  for (pid_t pid : children) ASSERT_EQ(WaitExitCode(pid), 0);
  EXPECT_EQ(ReadFile(store_->BlobPath(digest)), data);
  EXPECT_EQ(store_->List()->size(), 1u);
  EXPECT_TRUE(IngestFiles().empty());
}

TEST_F(ContentStoreTest, CrashedWriterLeavesNoBlobAndOpenCleansUp) {
  std::string data = Pattern(200000);
  Digest digest = Digest::FromBytes(data);
  std::string_view half = std::string_view(data).substr(0, data.size() / 2);
  pid_t pid = ForkChild([&] {
    return WriteInChild(digest, static_cast<int64_t>(data.size()), half,
                        half.size(), [](ContentWriter&) -> int {
                          _exit(9);  // dies mid-write: no destructor, no commit
                        });
  });
  ASSERT_GE(pid, 0);
  ASSERT_EQ(WaitExitCode(pid), 9);

  EXPECT_FALSE(store_->Has(digest));
  auto left = IngestFiles();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].rfind(std::string(digest.hex()) + ".", 0), 0u) << left[0];
  EXPECT_EQ(fs::file_size(dir_ + "/ingest/" + left[0]), data.size() / 2);

  auto reopened = ContentStore::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(IngestFiles().empty());
  auto put = (*reopened)->Put(data);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(ReadFile((*reopened)->BlobPath(digest)), data);
}

TEST_F(ContentStoreTest, OpenKeepsIngestFilesOfLiveWriters) {
  auto writer = store_->Writer(Digest::FromBytes("live"), 4);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("li").ok());
  auto other = ContentStore::Open(dir_);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(IngestFiles().size(), 1u);
  ASSERT_TRUE((*writer)->Write("ve").ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE((*other)->Has(Digest::FromBytes("live")));
}

TEST_F(ContentStoreTest, FaultHookSimulatesCrash) {
  std::vector<int64_t> seen;
  store_->set_write_fault_hook([&](const Digest&, int64_t written) {
    seen.push_back(written);
    return written < 100;
  });
  std::string data = Pattern(256);
  Digest digest = Digest::FromBytes(data);
  auto writer = store_->Writer(digest, 256);
  ASSERT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->Write(std::string_view(data).substr(0, 64)).ok());
  Status s = (*writer)->Write(std::string_view(data).substr(64, 64));
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_EQ(seen, (std::vector<int64_t>{64, 128}));
  EXPECT_FALSE((*writer)->Commit().ok());
  writer->reset();
  EXPECT_FALSE(store_->Has(digest));
  EXPECT_EQ(IngestFiles().size(), 1u);  // as a dead process would leave it

  store_->set_write_fault_hook(nullptr);
  auto reopened = ContentStore::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(IngestFiles().empty());
  EXPECT_TRUE((*reopened)->Put(data).ok());
  EXPECT_TRUE(store_->Has(digest));
}

}  // namespace
}  // namespace kiln::solver
