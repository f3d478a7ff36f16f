// Helpers for the layer unpack and snapshotter tests: layer tars built with
// libarchive's writer (pax, with xattrs, devices, whiteouts), compression,
// and test images of such layers. Temp dirs, files and DumpTree come from
// support/test_util.h.
#ifndef KILN_TESTS_SOLVER_CORE_LAYER_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_LAYER_TEST_UTIL_H_

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/snapshotter.h"
#include "support/archive_util.h"
#include "support/test_util.h"

namespace kiln::solver::testing {

struct LayerTarEntry {
  std::string path;
  char type = 'f';   // f file, d dir, l symlink, h hardlink, c/b device, p fifo
  std::string data;  // file content, or symlink/hardlink target
  mode_t mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1700000000;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline LayerTarEntry TarFile(std::string path, std::string data,
                             mode_t mode = 0644) {
  return {.path = std::move(path),
          .type = 'f',
          .data = std::move(data),
          .mode = mode};
}
inline LayerTarEntry TarDir(std::string path, mode_t mode = 0755) {
  return {.path = std::move(path), .type = 'd', .mode = mode};
}
inline LayerTarEntry TarSymlink(std::string path, std::string target) {
  return {.path = std::move(path),
          .type = 'l',
          .data = std::move(target),
          .mode = 0777};
}
inline LayerTarEntry TarHardlink(std::string path, std::string target) {
  return {.path = std::move(path), .type = 'h', .data = std::move(target)};
}

// An uncompressed pax tar of `entries`, padded to libarchive's 10240-byte
// blocks (so bytes follow the end-of-archive marker, as in many real tars).
inline std::string BuildLayerTar(const std::vector<LayerTarEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &out, nullptr, AppendToString, nullptr);
  for (const LayerTarEntry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, e.mtime, 0);
    for (const auto& [k, v] : e.xattrs)
      archive_entry_xattr_add_entry(entry, k.c_str(), v.data(), v.size());
    switch (e.type) {
      case 'f':
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
        break;
      case 'd':
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case 'l':
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.data.c_str());
        break;
      case 'h':
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.data.c_str());
        break;
      case 'c':
      case 'b':
        archive_entry_set_filetype(entry, e.type == 'c' ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdev(entry, e.rdev);
        break;
      case 'p':
        archive_entry_set_filetype(entry, AE_IFIFO);
        break;
    }
    EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK)
        << archive_error_string(a);
    if (e.type == 'f' && !e.data.empty()) {
      EXPECT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// `data` compressed with libarchive's gzip or zstd filter (kNone: as is).
inline std::string CompressLayer(const std::string& data,
                                 oci::Compression compression) {
  if (compression == oci::Compression::kNone) return data;
  return Compress(data,
                  compression == oci::Compression::kGzip ? "gzip" : "zstd");
}

inline std::string MediaTypeFor(oci::Compression c) {
  switch (c) {
    case oci::Compression::kGzip:
      return std::string(oci::kMediaTypeLayerGzip);
    case oci::Compression::kZstd:
      return std::string(oci::kMediaTypeLayerZstd);
    case oci::Compression::kNone:
      break;
  }
  return std::string(oci::kMediaTypeLayer);
}

inline std::string GetXattr(const std::string& path, const std::string& name) {
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  return n < 0 ? std::string("<none>")
               : std::string(buf, static_cast<size_t>(n));
}

struct TestLayer {
  std::vector<LayerTarEntry> entries;
  oci::Compression compression = oci::Compression::kGzip;
};

struct TestImage {
  oci::Manifest manifest;
  oci::ImageConfig config;
};

// Stores each layer's blob in `store` and returns a manifest and config
// describing them (diff_ids computed from the uncompressed tars).
inline TestImage MakeTestImage(ContentStore& store,
                               const std::vector<TestLayer>& layers) {
  TestImage image;
  for (const TestLayer& layer : layers) {
    std::string tar = BuildLayerTar(layer.entries);
    std::string blob = CompressLayer(tar, layer.compression);
    auto digest = store.Put(blob);
    EXPECT_TRUE(digest.ok()) << digest.status().ToString();
    oci::Descriptor desc;
    desc.media_type = MediaTypeFor(layer.compression);
    desc.digest = digest.ok() ? *digest : Digest();
    desc.size = static_cast<int64_t>(blob.size());
    image.manifest.layers.push_back(desc);
    image.config.diff_ids.push_back(Digest::FromBytes(tar));
  }
  image.manifest.media_type = std::string(oci::kMediaTypeImageManifest);
  return image;
}

// Three layers (gzip, zstd, uncompressed) that replace, delete (files and a
// directory), make a directory opaque, add below a lower directory that the
// layer does not list, and swap a file for a symlink.
inline std::vector<TestLayer> ThreeTestLayers() {
  return {
      {{TarDir("etc"), TarFile("etc/passwd", "root:x:0:0"), TarDir("bin"),
        TarFile("bin/sh", "sh", 0755), TarDir("opt"), TarFile("opt/a", "a"),
        TarDir("opt/sub"), TarFile("opt/sub/b", "b"), TarDir("var"),
        TarDir("var/log"), TarFile("var/log/old", "old"), TarDir("tmp", 01777),
        TarFile("gone", "gone")},
       oci::Compression::kGzip},
      {{TarDir("etc"), TarFile("etc/passwd", "root:x:0:0\nuser"),
        TarFile(".wh.gone", ""), TarDir("var"), TarFile("var/.wh.log", ""),
        TarDir("opt"), TarFile("opt/.wh..wh..opq", ""), TarFile("opt/c", "c"),
        TarDir("usr"), TarDir("usr/lib"), TarSymlink("lib", "usr/lib"),
        TarFile("new", "n")},
       oci::Compression::kZstd},
      {{TarFile("etc/.wh.passwd", ""), TarDir("bin"),
        TarSymlink("bin/sh", "busybox"), TarFile("bin/busybox", "bb", 0755),
        TarFile("opt/.wh.c", ""), TarFile("opt/d", "d"), TarFile("tmp/t", "t"),
        TarDir("empty")},
       oci::Compression::kNone},
  };
}

struct UnpackedTestImage {
  TestImage image;
  std::string top;  // the top snapshot's name
};

// MakeTestImage(content, ThreeTestLayers()) unpacked on `snapshotter`.
// Fatal failures unless it unpacks and the top snapshot is named by the
// chain id of all three layers: call under ASSERT_NO_FATAL_FAILURE.
inline void UnpackThreeTestLayers(Snapshotter& snapshotter,
                                  ContentStore& content,
                                  UnpackedTestImage* out) {
  out->image = MakeTestImage(content, ThreeTestLayers());
  auto top =
      UnpackImage(snapshotter, content, out->image.manifest, out->image.config);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  out->top = *top;
  ASSERT_EQ(out->top, ChainIds(out->image.config.diff_ids)[2].str());
}

// DumpTree() of the three layers applied in order.
inline std::map<std::string, std::string> ThreeTestLayersTree() {
  return {{"bin", "d 0755"},          {"bin/busybox", "f 0755 bb"},
          {"bin/sh", "l -> busybox"}, {"empty", "d 0755"},
          {"etc", "d 0755"},          {"lib", "l -> usr/lib"},
          {"new", "f 0644 n"},        {"opt", "d 0755"},
          {"opt/d", "f 0644 d"},      {"tmp", "d 1777"},
          {"tmp/t", "f 0644 t"},      {"usr", "d 0755"},
          {"usr/lib", "d 0755"},      {"var", "d 0755"}};
}

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_LAYER_TEST_UTIL_H_
