// The layer diff round trip shared by the copy (unit) and overlay (root)
// tests: a chain of snapshots with adds, changes, deletions, type changes,
// hardlinks and an empty step; each snapshot's layer made with CreateLayer,
// the layers applied on an empty directory, the result compared with the
// snapshot's own mounted view.
#ifndef KILN_TESTS_SOLVER_CORE_LAYER_DIFF_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_LAYER_DIFF_TEST_UTIL_H_

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kiln/solver/content_store.h"
#include "kiln/solver/layer_diff.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/snapshotter.h"
#include "support/test_util.h"

namespace kiln::solver::testing {

// Mounts (or, for a single bind, just uses) a snapshot's mount spec.
class DiffTestMount {
 public:
  DiffTestMount(const std::vector<Mount>& mounts, const std::string& target) {
    if (mounts.size() != 1) {
      error_ = "expected one mount";
      return;
    }
    const Mount& m = mounts[0];
    if (m.type == "bind") {  // no need to mount: use the tree itself
      path_ = m.source;
      return;
    }
    std::filesystem::create_directories(target);
    std::string data;
    for (const auto& opt : m.options) data += (data.empty() ? "" : ",") + opt;
    if (mount(m.source.c_str(), target.c_str(), m.type.c_str(), 0,
              data.c_str()) != 0) {
      error_ = "mount -o " + data + ": " + std::strerror(errno);
      return;
    }
    path_ = target;
    mounted_ = true;
  }
  ~DiffTestMount() {
    if (mounted_ && umount2(path_.c_str(), 0) != 0)
      umount2(path_.c_str(), MNT_DETACH);
  }
  DiffTestMount(const DiffTestMount&) = delete;
  DiffTestMount& operator=(const DiffTestMount&) = delete;
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::string error_;
  bool mounted_ = false;
};

inline void SetMtime(const std::string& path, int64_t sec, long nsec = 0) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0)
      << path;
}

// Commits a snapshot `name` on `parent` after `edit` changed its mounted
// writable view.
inline void CommitStep(Snapshotter& snaps, const std::string& scratch,
                       const std::string& name, const std::string& parent,
                       const std::function<void(const std::string&)>& edit) {
  std::string key = "active-" + name;
  ASSERT_TRUE(snaps.Prepare(key, parent).ok());
  {
    auto mounts = snaps.Mounts(key);
    ASSERT_TRUE(mounts.ok());
    DiffTestMount m(*mounts, scratch + "/edit-" + name);
    ASSERT_EQ(m.error(), "");
    edit(m.path());
  }
  ASSERT_TRUE(snaps.Commit(name, key).ok()) << name;
}

// The tree of committed `name`, as DumpTree with times.
inline std::map<std::string, std::string> SnapshotTree(
    Snapshotter& snaps, const std::string& scratch, const std::string& name) {
  std::string key = "view-" + name;
  auto mounts = snaps.View(key, name);
  EXPECT_TRUE(mounts.ok());
  if (!mounts.ok()) return {};
  std::map<std::string, std::string> tree;
  {
    DiffTestMount m(*mounts, scratch + "/view-" + name);
    EXPECT_EQ(m.error(), "");
    tree = DumpTree(m.path(), true);
  }
  EXPECT_TRUE(snaps.Remove(key).ok());
  return tree;
}

// The names of the entries (directories without their trailing '/') of an uncompressed or gzip tar blob, in order.
inline std::vector<std::string> TarNames(const std::string& path) {
  std::vector<std::string> names;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    archive_read_free(a);
    return names;
  }
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.size() > 1 && name.back() == '/') name.pop_back();  // dirs
    names.push_back(name);
  }
  archive_read_free(a);
  return names;
}

// Builds the chain l1..l4 (l4 changes nothing), checks each layer's entries
// and that applying l1..lN on an empty dir gives lN's tree.
inline void RunLayerDiffRoundTrip(Snapshotter& snaps, ContentStore& content,
                                  const std::string& scratch) {
  constexpr int64_t kT = 1700000000;
  CommitStep(snaps, scratch, "l1", "", [&](const std::string& d) {
    std::filesystem::create_directories(d + "/etc");
    std::filesystem::create_directories(d + "/bin");
    std::filesystem::create_directories(d + "/keep/sub/deep");
    std::filesystem::create_directories(d + "/gone/inner");
    WriteFile(d + "/etc/a", "alpha\n");
    WriteFile(d + "/etc/b", "bravo\n");
    chmod((d + "/etc/b").c_str(), 0600);
    WriteFile(d + "/etc/same", "aaaa");
    SetMtime(d + "/etc/same", kT);
    WriteFile(d + "/bin/tool", "#!/bin/sh\necho tool\n");
    chmod((d + "/bin/tool").c_str(), 04755);
    ASSERT_EQ(symlink("tool", (d + "/bin/link").c_str()), 0);
    WriteFile(d + "/etc/hl1", "linked\n");
    ASSERT_EQ(link((d + "/etc/hl1").c_str(), (d + "/etc/hl2").c_str()), 0);
    WriteFile(d + "/keep/sub/deep/f", "deep\n");
    WriteFile(d + "/gone/inner/x", "x\n");
    ASSERT_EQ(mkfifo((d + "/bin/fifo").c_str(), 0640), 0);
    WriteFile(d + "/big", std::string(3 << 20, 'z'));
  });
  CommitStep(snaps, scratch, "l2", "l1", [&](const std::string& d) {
    WriteFile(d + "/etc/a", "alpha, changed\n");
    chmod((d + "/etc/b").c_str(), 0640);
    std::filesystem::remove_all(d + "/gone");
    unlink((d + "/bin/link").c_str());
    WriteFile(d + "/new/dir/file", "new\n");
    WriteFile(d + "/etc/hl3", "second pair\n");
    ASSERT_EQ(link((d + "/etc/hl3").c_str(), (d + "/new/hl4").c_str()), 0);
  });
  CommitStep(snaps, scratch, "l3", "l2", [&](const std::string& d) {
    unlink((d + "/etc/b").c_str());
    WriteFile(d + "/etc/b/x", "now a dir\n");
    std::filesystem::remove_all(d + "/keep/sub");
    WriteFile(d + "/keep/sub", "now a file\n");
    WriteFile(d + "/etc/same", "bbbb");  // same size, same second
    SetMtime(d + "/etc/same", kT);
  });
  CommitStep(snaps, scratch, "l4", "l3", [](const std::string&) {});

  auto chain = SnapshotChain(snaps, "l4");
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(*chain, (std::vector<std::string>{"l1", "l2", "l3", "l4"}));

  TempDir applied("kiln-diff-apply-");
  std::map<std::string, std::vector<std::string>> names;
  for (const std::string& name : *chain) {
    auto layer = CreateLayer(snaps, name, content);
    ASSERT_TRUE(layer.ok()) << layer.status().ToString();
    EXPECT_EQ(layer->descriptor.media_type,
              "application/vnd.oci.image.layer.v1.tar+gzip");
    std::string blob = content.BlobPath(layer->descriptor.digest);
    names[name] = TarNames(blob);
    ApplyOptions opts;
    opts.force_unprivileged = geteuid() != 0;
    auto stats =
        ApplyLayer(blob, oci::Compression::kGzip, applied.path(), opts);
    ASSERT_TRUE(stats.ok()) << name << ": " << stats.status().ToString();
    EXPECT_EQ(stats->diff_id, layer->diff_id) << name;
    EXPECT_EQ(DumpTree(applied.path(), true),
              SnapshotTree(snaps, scratch, name))
        << "after applying " << name;
    if (name == "l4")
      EXPECT_EQ(layer->diff_id, EmptyLayerDiffId());
    else
      EXPECT_NE(layer->diff_id, EmptyLayerDiffId());
  }
  struct stat h1 {
  }, h2{};
  ASSERT_EQ(lstat((applied.path() + "/etc/hl1").c_str(), &h1), 0);
  ASSERT_EQ(lstat((applied.path() + "/etc/hl2").c_str(), &h2), 0);
  EXPECT_EQ(h1.st_ino, h2.st_ino) << "hardlink kept";
  ASSERT_EQ(lstat((applied.path() + "/etc/hl3").c_str(), &h1), 0);
  ASSERT_EQ(lstat((applied.path() + "/new/hl4").c_str(), &h2), 0);
  EXPECT_EQ(h1.st_ino, h2.st_ino) << "hardlink kept";

  // Layer contents: sorted, with whiteouts, only what changed.
  std::vector<std::string> l2 = names["l2"];
  std::vector<std::string> l2_want = {"bin",          "bin/.wh.link", "etc",
                                      "etc/a",        "etc/b",        "etc/hl3",
                                      ".wh.gone",     "new",          "new/dir",
                                      "new/dir/file", "new/hl4"};
  std::set<std::string> got(l2.begin(), l2.end());
  std::set<std::string> want(l2_want.begin(), l2_want.end());
  EXPECT_EQ(got, want);
  // Path order: each directory's children by bytes, depth first ('/' sorts
  // before every other byte).
  for (const auto& [name, list] : names) {
    for (size_t i = 1; i < list.size(); ++i) {
      std::string a = list[i - 1], b = list[i];
      std::replace(a.begin(), a.end(), '/', '\0');
      std::replace(b.begin(), b.end(), '/', '\0');
      EXPECT_LT(a, b) << name << ": " << list[i - 1] << " before " << list[i];
    }
  }
  EXPECT_TRUE(names["l4"].empty());
  std::set<std::string> l3(names["l3"].begin(), names["l3"].end());
  EXPECT_TRUE(l3.count("etc/same")) << "same-size same-second rewrite seen";
  EXPECT_TRUE(l3.count("etc/b/x"));
  EXPECT_TRUE(l3.count("keep/sub"));
  EXPECT_FALSE(l3.count("etc/a"));
}

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_LAYER_DIFF_TEST_UTIL_H_
