// Fixtures for the image archive tests: stores in a temp dir, test images
// built through the content store and image store APIs (real layer tars made
// with libarchive), and tar files read and written entry by entry.
#ifndef KILN_TESTS_SOLVER_CORE_IMAGE_ARCHIVE_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_IMAGE_ARCHIVE_TEST_UTIL_H_

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/oci.h"
#include "support/archive_util.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::solver::testing {

namespace fs = std::filesystem;

struct TarFile {
  std::string name;
  std::string data;
  enum class Type { kFile, kDir, kSymlink } type = Type::kFile;
  std::string link;
  // As read back:
  int64_t mtime = -1;
  int64_t uid = -1;
  int64_t gid = -1;
  std::string uname;
  std::string gname;
  int mode = 0;
};

inline TarFile File(std::string name, std::string data) {
  TarFile f;
  f.name = std::move(name);
  f.data = std::move(data);
  return f;
}

inline TarFile Dir(std::string name) {
  TarFile f;
  f.name = std::move(name);
  f.type = TarFile::Type::kDir;
  return f;
}

inline TarFile Symlink(std::string name, std::string target) {
  TarFile f;
  f.name = std::move(name);
  f.type = TarFile::Type::kSymlink;
  f.link = std::move(target);
  return f;
}

// Writes entries in the given order, with the given (unchecked) names.
// `filter`: "", "gzip" or "zstd".
inline std::string MakeTar(const std::vector<TarFile>& files,
                           const std::string& filter = "") {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (filter == "gzip") archive_write_add_filter_gzip(a);
  if (filter == "zstd") archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, AppendToString, nullptr),
            ARCHIVE_OK);
  for (const TarFile& f : files) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, f.name.c_str());
    archive_entry_set_mtime(e, 1700000000, 0);
    if (f.type == TarFile::Type::kDir) {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else if (f.type == TarFile::Type::kSymlink) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_perm(e, 0777);
      archive_entry_set_symlink(e, f.link.c_str());
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(f.data.size()));
    }
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK)
        << archive_error_string(a);
    if (f.type == TarFile::Type::kFile && !f.data.empty()) {
      EXPECT_EQ(archive_write_data(a, f.data.data(), f.data.size()),
                static_cast<la_ssize_t>(f.data.size()));
    }
    archive_entry_free(e);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

// Every entry of a (possibly compressed) tar file, in archive order.
inline std::vector<TarFile> ReadTar(const std::string& path) {
  std::vector<TarFile> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 1 << 16), ARCHIVE_OK)
      << archive_error_string(a);
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarFile f;
    f.name = archive_entry_pathname(e);
    if (archive_entry_filetype(e) == AE_IFDIR) f.type = TarFile::Type::kDir;
    if (archive_entry_filetype(e) == AE_IFLNK) {
      f.type = TarFile::Type::kSymlink;
      f.link = archive_entry_symlink(e);
    }
    f.mtime = archive_entry_mtime(e);
    f.uid = archive_entry_uid(e);
    f.gid = archive_entry_gid(e);
    f.uname = archive_entry_uname(e) ? archive_entry_uname(e) : "";
    f.gname = archive_entry_gname(e) ? archive_entry_gname(e) : "";
    f.mode = static_cast<int>(archive_entry_perm(e));
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
      f.data.append(buf, static_cast<size_t>(n));
    }
    out.push_back(std::move(f));
  }
  archive_read_free(a);
  return out;
}

inline const TarFile* FindEntry(const std::vector<TarFile>& files,
                                const std::string& name) {
  for (const TarFile& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// A content store and image store under a fresh temp dir, removed at the end.
class StoreFixture {
 public:
  explicit StoreFixture(const std::string& root) : root_(root) {
    fs::create_directories(root_);
    auto stores = OpenStores(root_);
    EXPECT_TRUE(stores.ok()) << stores.status().ToString();
    if (!stores.ok()) return;
    content_ = std::move(stores->content);
    images_ = std::move(stores->images);
  }

  ContentStore& content() { return *content_; }
  ImageStore& images() { return *images_; }

  Digest Put(const std::string& data) {
    auto d = content_->Put(data);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return *d;
  }

  // Stores an image of the given uncompressed layer tars, each stored as
  // `layer_filters[i]` ("" = uncompressed, "gzip", "zstd"); returns the
  // manifest's descriptor (not yet named).
  oci::Descriptor MakeImage(
      const std::vector<std::string>& layers,
      const std::vector<std::string>& layer_filters,
      const std::string& arch = llb::HostPlatform().architecture,
      const std::string& cmd = "sh") {
    oci::Manifest m;
    m.media_type = std::string(oci::kMediaTypeImageManifest);
    oci::ImageConfig config;
    config.architecture = arch;
    config.os = "linux";
    config.config.cmd = std::vector<std::string>{cmd};
    for (size_t i = 0; i < layers.size(); ++i) {
      config.diff_ids.push_back(Digest::FromBytes(layers[i]));
      std::string filter = i < layer_filters.size() ? layer_filters[i] : "";
      std::string blob =
          filter.empty() ? layers[i] : Compress(layers[i], filter);
      oci::Descriptor d;
      d.media_type = std::string(filter.empty()     ? oci::kMediaTypeLayer
                                 : filter == "gzip" ? oci::kMediaTypeLayerGzip
                                                    : oci::kMediaTypeLayerZstd);
      d.digest = Put(blob);
      d.size = static_cast<int64_t>(blob.size());
      m.layers.push_back(d);
    }
    std::string config_json = oci::ToJson(config);
    m.config.media_type = std::string(oci::kMediaTypeImageConfig);
    m.config.digest = Put(config_json);
    m.config.size = static_cast<int64_t>(config_json.size());
    std::string manifest_json = oci::ToJson(m);
    oci::Descriptor out;
    out.media_type = std::string(oci::kMediaTypeImageManifest);
    out.digest = Put(manifest_json);
    out.size = static_cast<int64_t>(manifest_json.size());
    return out;
  }

  // An index of `children` (with their platforms as given).
  oci::Descriptor MakeIndex(const std::vector<oci::Descriptor>& children) {
    oci::Index index;
    index.media_type = std::string(oci::kMediaTypeImageIndex);
    index.manifests = children;
    std::string json = oci::ToJson(index);
    oci::Descriptor out;
    out.media_type = std::string(oci::kMediaTypeImageIndex);
    out.digest = Put(json);
    out.size = static_cast<int64_t>(json.size());
    return out;
  }

 private:
  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
};

// A small layer tar with one directory and one file.
inline std::string LayerTar(const std::string& file,
                            const std::string& content) {
  return MakeTar({Dir("etc"), File("etc/" + file, content)});
}

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_IMAGE_ARCHIVE_TEST_UTIL_H_
