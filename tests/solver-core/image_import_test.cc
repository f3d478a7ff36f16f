#include "kiln/solver/image_import.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/store_test.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

struct TarEntry {
  std::string path;
  mode_t type = 0;  // AE_IF*
  mode_t perm = 0;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 0;
  bool atime_set = false, ctime_set = false;
  std::string uname, gname;
  std::string symlink, hardlink;
  std::string data;
  std::map<std::string, std::string> xattrs;
};

// Reads every entry of a (possibly compressed) tar held in memory.
std::vector<TarEntry> ReadTar(const std::string& bytes) {
  std::vector<TarEntry> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()),
            ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.path = archive_entry_pathname(e);
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    EXPECT_EQ(archive_entry_mtime_nsec(e), 0) << t.path;
    t.atime_set = archive_entry_atime_is_set(e);
    t.ctime_set = archive_entry_ctime_is_set(e);
    if (archive_entry_uname(e) != nullptr) t.uname = archive_entry_uname(e);
    if (archive_entry_gname(e) != nullptr) t.gname = archive_entry_gname(e);
    if (archive_entry_symlink(e) != nullptr)
      t.symlink = archive_entry_symlink(e);
    if (archive_entry_hardlink(e) != nullptr)
      t.hardlink = archive_entry_hardlink(e);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs[name] = std::string(static_cast<const char*>(value), size);
    }
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
      t.data.append(buf, n);
    out.push_back(std::move(t));
  }
  archive_read_free(a);
  return out;
}

// Decompresses a gzip blob with libarchive's raw reader.
std::string Gunzip(const std::string& bytes) {
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  std::string out;
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()),
            ARCHIVE_OK);
  archive_entry* e = nullptr;
  if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) out.append(buf, n);
  }
  archive_read_free(a);
  return out;
}

struct WriteSpec {
  std::string path;
  mode_t type;
  mode_t perm;
  std::string data;
  std::string link;  // symlink target or hardlink target
  bool hardlink = false;
};

// Writes a tar (with `filter`: "none", "gzip", "zstd") in the given order.
void WriteTar(const std::string& path, const std::vector<WriteSpec>& specs,
              const std::string& filter) {
  archive* a = archive_write_new();
  archive_write_set_format_gnutar(a);
  if (filter == "gzip") archive_write_add_filter_gzip(a);
  if (filter == "zstd") {
    ASSERT_EQ(archive_write_add_filter_zstd(a), ARCHIVE_OK);
  }
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& s : specs) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, s.path.c_str());
    archive_entry_set_filetype(e, s.type);
    archive_entry_set_perm(e, s.perm);
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 5678);
    archive_entry_copy_uname(e, "someone");
    archive_entry_set_mtime(e, 1700000000, 123);
    archive_entry_set_atime(e, 1700000001, 0);
    if (s.hardlink) {
      archive_entry_copy_hardlink(e, s.link.c_str());
    } else if (s.type == AE_IFLNK) {
      archive_entry_copy_symlink(e, s.link.c_str());
    }
    archive_entry_set_size(
        e, s.type == AE_IFREG && !s.hardlink ? s.data.size() : 0);
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK)
        << archive_error_string(a);
    if (!s.data.empty() && !s.hardlink)
      archive_write_data(a, s.data.data(), s.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

void WriteFileWithMode(const std::string& path, const std::string& data,
                       mode_t mode) {
  testing::WriteFile(path, data);
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

void SetMtime(const std::string& path, int64_t seconds) {
  struct timespec times[2] = {{seconds, 500}, {seconds, 999}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0)
      << path;
}

class ImageImportTest : public testing::StoreTest {
 protected:
  ImageImportTest() : StoreTest("kiln-import-test-") {}

  // A small tree: dirs, modes, a symlink, a hardlink, a fifo, a socket-free
  // layout whose sorted order differs from creation order.
  std::string MakeTree() {
    std::string t = root_ + "/tree";
    fs::create_directories(t + "/bin");
    fs::create_directories(t + "/a/b");
    fs::create_directories(t + "/tmp");
    EXPECT_EQ(chmod((t + "/tmp").c_str(), 01777), 0);
    WriteFileWithMode(t + "/bin/tool", "#!/bin/sh\necho tool\n", 04755);
    WriteFileWithMode(t + "/a.txt", "sibling of a\n", 0644);
    WriteFileWithMode(t + "/a/b/secret", "secret\n", 0600);
    WriteFileWithMode(t + "/a/empty", "", 0640);
    EXPECT_EQ(link((t + "/bin/tool").c_str(), (t + "/a/b/tool-link").c_str()),
              0);
    EXPECT_EQ(symlink("tool", (t + "/bin/sh").c_str()), 0);
    EXPECT_EQ(mkfifo((t + "/a/fifo").c_str(), 0620), 0);
    EXPECT_EQ(chmod((t + "/a/fifo").c_str(), 0620), 0);  // past the umask
    xattrs_ = setxattr((t + "/a.txt").c_str(), "user.kiln", "v1", 2, 0) == 0;
    for (const char* p : {"/bin/tool", "/a.txt", "/a/b/secret", "/a/empty",
                          "/bin/sh", "/a/fifo", "/a/b", "/a", "/bin", "/tmp"}) {
      SetMtime(t + p, 1600000000);
    }
    SetMtime(t + "/a.txt", 2000000000);  // later than the epoch used: clamped
    return t;
  }

  Result<oci::Descriptor> Import(const std::string& source,
                                 const std::string& name = "t:1") {
    ImportOptions options;
    options.source = source;
    options.name = name;
    options.source_date_epoch = 1700000000;
    options.history_comment = "from a test";
    return ImportImage(*images_, options);
  }

  ResolvedImage ResolveImage(const oci::Descriptor& d) {
    auto resolved = images_->Resolve(d, llb::HostPlatform());
    EXPECT_TRUE(resolved.ok()) << resolved.status().ToString();
    return *resolved;
  }

  std::string LayerBytes(const ResolvedImage& image) {
    EXPECT_EQ(image.manifest.layers.size(), 1u);
    auto bytes = content_->ReadAll(image.manifest.layers[0].digest);
    EXPECT_TRUE(bytes.ok());
    return *bytes;
  }

  bool xattrs_ = false;
};

TEST_F(ImageImportTest, DirectoryBecomesOneNormalizedLayer) {
  std::string tree = MakeTree();
  auto desc = Import(tree);
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  EXPECT_EQ(desc->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(images_->Get("t:1")->target.digest, desc->digest);

  ResolvedImage image = ResolveImage(*desc);
  EXPECT_EQ(image.manifest.config.media_type,
            "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(image.manifest.layers[0].media_type,
            "application/vnd.oci.image.layer.v1.tar+gzip");
  std::string gz = LayerBytes(image);
  EXPECT_EQ(static_cast<int64_t>(gz.size()), image.manifest.layers[0].size);
  // gzip header: deflate, no flags (no name), zero mtime.
  ASSERT_GT(gz.size(), 18u);
  EXPECT_EQ(gz.substr(0, 8),
            std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8));
  std::string tar = Gunzip(gz);
  ASSERT_FALSE(tar.empty());
  // The blob ends with the gzip trailer (ISIZE), not block padding.
  uint32_t isize =
      static_cast<uint8_t>(gz[gz.size() - 4]) |
      static_cast<uint8_t>(gz[gz.size() - 3]) << 8 |
      static_cast<uint8_t>(gz[gz.size() - 2]) << 16 |
      static_cast<uint32_t>(static_cast<uint8_t>(gz[gz.size() - 1])) << 24;
  EXPECT_EQ(isize, static_cast<uint32_t>(tar.size()));
  EXPECT_EQ(tar.size() % 512, 0u);
  ASSERT_EQ(image.config.diff_ids.size(), 1u);
  EXPECT_EQ(image.config.diff_ids[0], Digest::FromBytes(tar));
  EXPECT_EQ(image.config.created, "2023-11-14T22:13:20Z");
  ASSERT_EQ(image.config.history.size(), 1u);
  EXPECT_EQ(image.config.history[0].created_by, "kiln image import");
  EXPECT_EQ(image.config.history[0].comment, "from a test");
  EXPECT_EQ(image.config.os, llb::HostPlatform().os);
  EXPECT_EQ(image.config.architecture, llb::HostPlatform().architecture);

  std::vector<TarEntry> entries = ReadTar(tar);
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  EXPECT_EQ(paths,
            (std::vector<std::string>{
                "a/", "a/b/", "a/b/secret", "a/b/tool-link", "a/empty",
                "a/fifo", "a.txt", "bin/", "bin/sh", "bin/tool", "tmp/"}));
  std::map<std::string, TarEntry> by;
  for (const auto& e : entries) by[e.path] = e;
  const int64_t uid = getuid(), gid = getgid();
  for (const auto& e : entries) {
    EXPECT_EQ(e.uid, uid) << e.path;
    EXPECT_EQ(e.gid, gid) << e.path;
    EXPECT_FALSE(e.atime_set) << e.path;
    EXPECT_FALSE(e.ctime_set) << e.path;
    EXPECT_EQ(e.uname, "") << e.path;
    EXPECT_EQ(e.mtime, e.path == "a.txt" ? 1700000000 : 1600000000) << e.path;
  }
  EXPECT_EQ(by["a/"].type, AE_IFDIR);
  EXPECT_EQ(by["tmp/"].perm, 01777u);
  EXPECT_EQ(by["a/b/secret"].perm, 0600u);
  EXPECT_EQ(by["a/b/secret"].data, "secret\n");
  // The first path in order carries the data; the later one links to it.
  EXPECT_EQ(by["a/b/tool-link"].type, AE_IFREG);
  EXPECT_EQ(by["a/b/tool-link"].hardlink, "");
  EXPECT_EQ(by["a/b/tool-link"].data, "#!/bin/sh\necho tool\n");
  EXPECT_EQ(by["a/b/tool-link"].perm, 04755u);
  EXPECT_EQ(by["bin/tool"].hardlink, "a/b/tool-link");
  EXPECT_EQ(by["bin/tool"].data, "");
  EXPECT_EQ(by["bin/sh"].type, AE_IFLNK);
  EXPECT_EQ(by["bin/sh"].symlink, "tool");
  EXPECT_EQ(by["a/fifo"].type, AE_IFIFO);
  EXPECT_EQ(by["a/fifo"].perm, 0620u);
  EXPECT_EQ(by["a/empty"].data, "");
  EXPECT_EQ(by["a/empty"].perm, 0640u);
  if (xattrs_) {
    EXPECT_EQ(by["a.txt"].xattrs,
              (std::map<std::string, std::string>{{"user.kiln", "v1"}}));
    EXPECT_NE(tar.find("SCHILY.xattr.user.kiln=v1"), std::string::npos);
    EXPECT_EQ(tar.find("LIBARCHIVE.xattr"), std::string::npos);
  }
}

TEST_F(ImageImportTest, PreservesNumericOwnersWhenRoot) {
  if (getuid() != 0) KILN_SKIP_UNLESS_REQUIRED("chown needs root");
  std::string tree = MakeTree();
  ASSERT_EQ(lchown((tree + "/a/b/secret").c_str(), 1234, 5678), 0);
  ASSERT_EQ(lchown((tree + "/bin/sh").c_str(), 99, 98), 0);
  auto desc = Import(tree);
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  std::map<std::string, TarEntry> by;
  for (auto& e : ReadTar(Gunzip(LayerBytes(ResolveImage(*desc)))))
    by[e.path] = e;
  EXPECT_EQ(by["a/b/secret"].uid, 1234);
  EXPECT_EQ(by["a/b/secret"].gid, 5678);
  EXPECT_EQ(by["bin/sh"].uid, 99);
  EXPECT_EQ(by["bin/sh"].gid, 98);
}

TEST_F(ImageImportTest, SameInputGivesSameDigests) {
  std::string tree = MakeTree();
  auto first = Import(tree, "one");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Reading the files again changes their atimes, which must not matter.
  for (const auto& e : fs::recursive_directory_iterator(tree)) {
    if (e.is_regular_file() && !e.is_symlink()) std::ifstream(e.path()).get();
  }
  auto second = Import(tree, "two");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->digest, second->digest);
  EXPECT_EQ(first->size, second->size);

  // A fresh store computes the same bytes.
  auto content2 = ContentStore::Open(root_ + "/content2");
  ASSERT_TRUE(content2.ok());
  auto images2 = ImageStore::Open(root_ + "/images2", content2->get());
  ASSERT_TRUE(images2.ok());
  ImportOptions options;
  options.source = tree;
  options.name = "three";
  options.source_date_epoch = 1700000000;
  options.history_comment = "from a test";
  auto third = ImportImage(**images2, options);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->digest, first->digest);
}

TEST_F(ImageImportTest, TarballsAreRepackedSortedAndNormalized) {
  std::vector<WriteSpec> specs = {
      {"./z/", AE_IFDIR, 0755, "", ""},
      {"./z/data", AE_IFREG, 0644, "shared bytes", ""},
      {"/a/", AE_IFDIR, 0700, "", ""},
      {"a/link", AE_IFREG, 0644, "", "z/data",
       true},  // sorts before its target
      {"a//sym", AE_IFLNK, 0777, "", "../z/data"},
      {"./", AE_IFDIR, 0755, "", ""},
      {"c", AE_IFREG, 0600, "old", ""},
      {"c", AE_IFREG, 0640, "new contents", ""},  // a later entry replaces
  };
  std::map<std::string, Digest> digests;
  for (const std::string filter : {"none", "gzip", "zstd"}) {
    std::string path = root_ + "/input." + filter;
    WriteTar(path, specs, filter);
    auto desc = Import(path, "tar-" + filter);
    ASSERT_TRUE(desc.ok()) << filter << ": " << desc.status().ToString();
    digests[filter] = desc->digest;
  }
  EXPECT_EQ(digests["none"], digests["gzip"]);
  EXPECT_EQ(digests["none"], digests["zstd"]);

  auto record = images_->Get("tar-none");
  ASSERT_TRUE(record.ok());
  std::string tar = Gunzip(LayerBytes(ResolveImage(record->target)));
  std::vector<TarEntry> entries = ReadTar(tar);
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a/", "a/link", "a/sym", "c", "z/",
                                             "z/data"}));
  std::map<std::string, TarEntry> by;
  for (const auto& e : entries) by[e.path] = e;
  for (const auto& e : entries) {
    EXPECT_EQ(e.uid, 1234) << e.path;
    EXPECT_EQ(e.gid, 5678) << e.path;
    EXPECT_EQ(e.uname, "") << e.path;
    EXPECT_EQ(e.mtime, 1700000000) << e.path;
    EXPECT_FALSE(e.atime_set) << e.path;
  }
  EXPECT_EQ(by["a/"].perm, 0700u);
  EXPECT_EQ(by["a/link"].data, "shared bytes");
  EXPECT_EQ(by["a/link"].hardlink, "");
  EXPECT_EQ(by["z/data"].hardlink, "a/link");
  EXPECT_EQ(by["a/sym"].symlink, "../z/data");
  EXPECT_EQ(by["c"].data, "new contents");
  EXPECT_EQ(by["c"].perm, 0640u);

  // Re-importing an imported layer is a fixed point.
  std::string layer_tar = root_ + "/layer.tar";
  testing::WriteFile(layer_tar, tar);
  auto again = Import(layer_tar, "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ResolveImage(*again).config.diff_ids[0], Digest::FromBytes(tar));
}

TEST_F(ImageImportTest, ConfigAndPlatform) {
  std::string tree = MakeTree();
  ImportOptions options;
  options.source = tree;
  options.name = "cfg";
  options.created = "2024-01-02T03:04:05Z";
  options.config_json =
      R"({"architecture":"arm64","os":"linux","config":{"Env":["A=1"],"Cmd":["sh"]},)"
      R"("rootfs":{"type":"layers","diff_ids":["sha256:)" +
      std::string(64, 'a') + R"("]},"history":[{"created_by":"old"}]})";
  auto desc = ImportImage(*images_, options);
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  ASSERT_TRUE(desc->platform.has_value());
  EXPECT_EQ(desc->platform->architecture, "arm64");
  auto image = images_->Resolve(*desc, llb::Platform{"linux", "arm64"});
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->config.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(image->config.config.env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(image->config.config.cmd, std::vector<std::string>{"sh"});
  ASSERT_EQ(image->config.diff_ids.size(), 1u);
  EXPECT_NE(image->config.diff_ids[0].str(), "sha256:" + std::string(64, 'a'));
  ASSERT_EQ(image->config.history.size(), 1u);
  EXPECT_EQ(image->config.history[0].created_by, "kiln image import");

  options.platform = llb::Platform{"linux", "arm", "v7"};
  auto arm = ImportImage(*images_, options);
  ASSERT_TRUE(arm.ok());
  EXPECT_EQ(arm->platform->variant, "v7");
  EXPECT_NE(arm->digest, desc->digest);
}

TEST_F(ImageImportTest, SourceDateEpochFromEnvironment) {
  std::string tree = MakeTree();
  ASSERT_EQ(setenv("SOURCE_DATE_EPOCH", "86400", 1), 0);
  ImportOptions options;
  options.source = tree;
  options.name = "env";
  auto desc = ImportImage(*images_, options);
  ASSERT_EQ(setenv("SOURCE_DATE_EPOCH", "yesterday", 1), 0);
  auto bad = ImportImage(*images_, options);
  unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  ResolvedImage image = ResolveImage(*desc);
  EXPECT_EQ(image.config.created, "1970-01-02T00:00:00Z");
  for (const auto& e : ReadTar(Gunzip(LayerBytes(image))))
    EXPECT_EQ(e.mtime, 86400) << e.path;
}

TEST_F(ImageImportTest, Errors) {
  std::string tree = MakeTree();
  ImportOptions options;
  options.source = tree;
  EXPECT_EQ(ImportImage(*images_, options).status().code(),
            StatusCode::kInvalidArgument);
  options.name = "Bad:Name:x";
  EXPECT_EQ(ImportImage(*images_, options).status().code(),
            StatusCode::kInvalidArgument);
  options.name = "ok";
  options.created = "yesterday";
  EXPECT_EQ(ImportImage(*images_, options).status().code(),
            StatusCode::kInvalidArgument);
  options.created.clear();
  options.config_json = "{not json";
  EXPECT_EQ(ImportImage(*images_, options).status().code(),
            StatusCode::kInvalidArgument);
  options.config_json.clear();
  options.source = root_ + "/absent";
  EXPECT_EQ(ImportImage(*images_, options).status().code(),
            StatusCode::kNotFound);

  options.source = root_ + "/evil.tar";
  WriteTar(options.source, {{"../escape", AE_IFREG, 0644, "x", ""}}, "none");
  auto evil = ImportImage(*images_, options);
  EXPECT_EQ(evil.status().code(), StatusCode::kInvalidArgument)
      << evil.status().ToString();
  WriteTar(options.source, {{"link", AE_IFREG, 0644, "", "nowhere", true}},
           "none");
  EXPECT_EQ(ImportImage(*images_, options).status().code(),
            StatusCode::kInvalidArgument);
  options.source = root_ + "/garbage";
  testing::WriteFile(options.source, "this is not a tarball at all");
  EXPECT_FALSE(ImportImage(*images_, options).ok());
  EXPECT_EQ(images_->Get("ok").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(root_ + "/content/ingest"));
}

}  // namespace
}  // namespace kiln::solver
