// Image archives: OCI and Docker archives saved from one store and loaded
// into another, byte-level determinism, and loads of damaged, hostile and
// hand-made (old docker layout) archives.
#include "kiln/solver/image_archive.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "image_archive_test_util.h"
#include "kiln/llb/platform.h"

namespace kiln::solver {
namespace {

using json = nlohmann::json;
using testing::Compress;
using testing::FindEntry;
using testing::LayerTar;
using testing::ReadFile;
using testing::ReadTar;
using testing::StoreFixture;
using testing::TarFile;
using testing::WriteFile;
namespace fs = std::filesystem;

std::string Hex(const Digest& d) { return std::string(d.hex()); }

class ImageArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.empty());
    src_ = std::make_unique<StoreFixture>(root_ + "/src");
    dst_ = std::make_unique<StoreFixture>(root_ + "/dst");
  }
  void TearDown() override {
    src_.reset();
    dst_.reset();
  }

  std::string Path(const std::string& name) const { return root_ + "/" + name; }

  // Files directly in root_ (archives and any temp file a save left).
  std::vector<std::string> RootFiles() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root_)) {
      if (e.is_regular_file()) out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // An image of a gzip, a zstd and an uncompressed layer named `name`.
  oci::Descriptor PutImage(const std::string& name,
                           const std::string& marker = "kiln") {
    layers_ = {LayerTar("gz", "gzip layer " + marker + "\n"),
               LayerTar("zst", "zstd layer " + marker + "\n"),
               LayerTar("raw", "raw layer " + marker + "\n")};
    oci::Descriptor d = src_->MakeImage(layers_, {"gzip", "zstd", ""});
    EXPECT_TRUE(src_->images().Put(name, d).ok());
    return d;
  }

  testing::TempDir tmp_{"kiln-archive-test-"};
  const std::string root_ = tmp_.path();
  std::unique_ptr<StoreFixture> src_;
  std::unique_ptr<StoreFixture> dst_;
  std::vector<std::string> layers_;
};

TEST_F(ImageArchiveTest, OciRoundTripKeepsManifestDigests) {
  oci::Descriptor app = PutImage("example.com/app:v1", "app");
  oci::Descriptor box =
      src_->MakeImage({LayerTar("box", "busybox\n")}, {"gzip"});
  ASSERT_TRUE(src_->images().Put("busybox", box).ok());
  std::string out = Path("oci.tar");
  Status s = SaveImages(src_->images(), {"example.com/app:v1", "busybox"},
                        ArchiveFormat::kOci, out);
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto entries = ReadTar(out);
  ASSERT_NE(FindEntry(entries, "oci-layout"), nullptr);
  EXPECT_EQ(
      json::parse(FindEntry(entries, "oci-layout")->data)["imageLayoutVersion"],
      "1.0.0");
  EXPECT_EQ(FindEntry(entries, "manifest.json"), nullptr);
  json index = json::parse(FindEntry(entries, "index.json")->data);
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["digest"], app.digest.str());
  EXPECT_EQ(
      index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
      "v1");
  EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "example.com/app:v1");
  EXPECT_EQ(index["manifests"][1]["digest"], box.digest.str());
  EXPECT_EQ(
      index["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"],
      "latest");
  EXPECT_EQ(index["manifests"][1]["annotations"]["io.containerd.image.name"],
            "docker.io/library/busybox:latest");
  // Every blob is there under its digest: 2 manifests, 2 configs, 4 layers.
  int blobs = 0;
  for (const TarFile& f : entries) {
    if (f.name.rfind("blobs/sha256/", 0) != 0 || f.type != TarFile::Type::kFile)
      continue;
    EXPECT_EQ("blobs/sha256/" + Hex(Digest::FromBytes(f.data)), f.name);
    ++blobs;
  }
  EXPECT_EQ(blobs, 8);

  auto loaded = LoadImages(dst_->images(), out);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].name, "example.com/app:v1");
  EXPECT_EQ((*loaded)[0].target.digest, app.digest);
  EXPECT_EQ((*loaded)[1].name, "docker.io/library/busybox:latest");
  EXPECT_EQ((*loaded)[1].target.digest, box.digest);
  auto resolved =
      dst_->images().Resolve((*loaded)[0].target, llb::HostPlatform());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  ASSERT_EQ(resolved->manifest.layers.size(), 3u);
  EXPECT_EQ(resolved->manifest.layers[0].media_type, oci::kMediaTypeLayerGzip);
  EXPECT_EQ(resolved->config.diff_ids[1], Digest::FromBytes(layers_[1]));
}

TEST_F(ImageArchiveTest, DockerRoundTripKeepsConfigAndDiffIds) {
  oci::Descriptor app = PutImage("example.com/app:v1");
  ASSERT_TRUE(src_->images().Put("example.com/app:latest", app).ok());
  auto original = src_->images().Resolve(app, llb::HostPlatform());
  ASSERT_TRUE(original.ok());
  std::string out = Path("docker.tar");
  Status s =
      SaveImages(src_->images(), {"example.com/app:v1", "example.com/app"},
                 ArchiveFormat::kDocker, out);
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto entries = ReadTar(out);
  json manifest = json::parse(FindEntry(entries, "manifest.json")->data);
  ASSERT_EQ(manifest.size(), 1u);  // one image, two tags
  const Digest& config = original->manifest.config.digest;
  EXPECT_EQ(manifest[0]["Config"], "blobs/sha256/" + Hex(config));
  EXPECT_EQ(manifest[0]["RepoTags"],
            json({"example.com/app:v1", "example.com/app:latest"}));
  ASSERT_EQ(manifest[0]["Layers"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    Digest diff_id = Digest::FromBytes(layers_[i]);
    EXPECT_EQ(manifest[0]["Layers"][i], "blobs/sha256/" + Hex(diff_id));
    const TarFile* layer = FindEntry(entries, "blobs/sha256/" + Hex(diff_id));
    ASSERT_NE(layer, nullptr);
    EXPECT_EQ(layer->data, layers_[i])
        << "layer " << i << " is not the uncompressed tar";
  }
  EXPECT_EQ(FindEntry(entries, "blobs/sha256/" + Hex(config))->data,
            original->config_bytes);
  json repos = json::parse(FindEntry(entries, "repositories")->data);
  EXPECT_EQ(repos["example.com/app"]["v1"], Hex(Digest::FromBytes(layers_[2])));
  json index = json::parse(FindEntry(entries, "index.json")->data);
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(
      index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
      "v1");

  auto loaded = LoadImages(dst_->images(), out);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[1].name, "example.com/app:latest");
  auto resolved =
      dst_->images().Resolve((*loaded)[0].target, llb::HostPlatform());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->manifest.config.digest, config);
  EXPECT_EQ(resolved->config.diff_ids, original->config.diff_ids);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(resolved->manifest.layers[i].digest,
              Digest::FromBytes(layers_[i]));
    EXPECT_EQ(resolved->manifest.layers[i].media_type, oci::kMediaTypeLayer);
  }
}

TEST_F(ImageArchiveTest, SavingTwiceGivesIdenticalNormalizedArchives) {
  PutImage("example.com/app:v1");
  for (ArchiveFormat format : {ArchiveFormat::kOci, ArchiveFormat::kDocker}) {
    std::string a = Path("a.tar"), b = Path("b.tar");
    ASSERT_TRUE(
        SaveImages(src_->images(), {"example.com/app:v1"}, format, a).ok());
    ASSERT_TRUE(
        SaveImages(src_->images(), {"example.com/app:v1"}, format, b).ok());
    std::string bytes = ReadFile(a);
    ASSERT_GT(bytes.size(), 1024u);
    EXPECT_EQ(bytes, ReadFile(b));
    auto entries = ReadTar(a);
    std::vector<std::string> names;
    for (const TarFile& f : entries) {
      names.push_back(f.name);
      EXPECT_EQ(f.mtime, 0) << f.name;
      EXPECT_EQ(f.uid, 0) << f.name;
      EXPECT_EQ(f.gid, 0) << f.name;
      EXPECT_EQ(f.uname, "") << f.name;
      EXPECT_EQ(f.gname, "") << f.name;
    }
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    EXPECT_EQ(names.front(), "blobs/");
  }
}

TEST_F(ImageArchiveTest, CorruptBlobIsDataLossAndNamesNothing) {
  for (ArchiveFormat format : {ArchiveFormat::kOci, ArchiveFormat::kDocker}) {
    PutImage("example.com/app:v1", "corrupt-me");
    std::string out = Path("corrupt.tar");
    ASSERT_TRUE(
        SaveImages(src_->images(), {"example.com/app:v1"}, format, out).ok());
    std::string bytes = ReadFile(out);
    size_t at =
        bytes.find("raw layer corrupt-me");  // inside the uncompressed layer
    ASSERT_NE(at, std::string::npos);
    bytes[at] ^= 0x20;
    WriteFile(out, bytes);

    auto loaded = LoadImages(dst_->images(), out);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss)
        << loaded.status().ToString();
    EXPECT_TRUE(dst_->images().List()->empty());
    EXPECT_FALSE(dst_->content().Has(Digest::FromBytes(layers_[2])));
  }
}

TEST_F(ImageArchiveTest, MissingNameIsNotFoundAndWritesNothing) {
  PutImage("example.com/app:v1");
  std::string out = Path("missing.tar");
  Status s = SaveImages(src_->images(),
                        {"example.com/app:v1", "example.com/nothere:1"},
                        ArchiveFormat::kOci, out);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("example.com/nothere:1"), std::string::npos)
      << s.ToString();
  EXPECT_TRUE(RootFiles().empty());
  EXPECT_EQ(SaveImages(src_->images(), {}, ArchiveFormat::kOci, out).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ImageArchiveTest, FailedSaveLeavesNoPartialArchive) {
  PutImage("example.com/app:v1");
  // Damage the stored uncompressed layer behind the store's back.
  std::string blob = src_->content().BlobPath(Digest::FromBytes(layers_[2]));
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  std::string bytes = ReadFile(blob);
  bytes[bytes.find("raw layer")] = 'R';
  WriteFile(blob, bytes);
  std::string out = Path("partial.tar");
  Status s = SaveImages(src_->images(), {"example.com/app:v1"},
                        ArchiveFormat::kOci, out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_TRUE(RootFiles().empty()) << RootFiles().front();
}

TEST_F(ImageArchiveTest, TraversalEntriesAreRejected) {
  std::string layout = R"({"imageLayoutVersion":"1.0.0"})";
  std::vector<std::vector<TarFile>> hostile = {
      {testing::File("oci-layout", layout), testing::File("../x", "boom")},
      {testing::File("oci-layout", layout),
       testing::File("/tmp/kiln-archive-abs", "boom")},
      {testing::File("oci-layout", layout),
       testing::File("blobs/../../x", "boom")},
      {testing::Symlink("blobs", "../../etc"),
       testing::File("manifest.json", "[]")},
  };
  for (size_t i = 0; i < hostile.size(); ++i) {
    std::string out = Path("hostile.tar");
    WriteFile(out, testing::MakeTar(hostile[i]));
    auto loaded = LoadImages(dst_->images(), out);
    ASSERT_FALSE(loaded.ok()) << i;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument)
        << i << ": " << loaded.status().ToString();
    // Rejected for its entry, not for what is missing after it.
    EXPECT_NE(loaded.status().message().find("archive entry \""),
              std::string::npos)
        << i << ": " << loaded.status().ToString();
  }
  EXPECT_FALSE(fs::exists(root_ + "/x"));
  EXPECT_FALSE(fs::exists("/tmp/kiln-archive-abs"));
  EXPECT_TRUE(dst_->images().List()->empty());
}

TEST_F(ImageArchiveTest, NotAnArchiveIsInvalidArgument) {
  WriteFile(Path("junk.tar"), std::string(4096, 'j'));
  EXPECT_EQ(LoadImages(dst_->images(), Path("junk.tar")).status().code(),
            StatusCode::kInvalidArgument);
  WriteFile(Path("empty.tar"),
            testing::MakeTar({testing::File("hello", "world")}));
  EXPECT_EQ(LoadImages(dst_->images(), Path("empty.tar")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadImages(dst_->images(), Path("nothere.tar")).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ImageArchiveTest, CompressedArchivesLoad) {
  oci::Descriptor app = PutImage("example.com/app:v1");
  std::string out = Path("docker.tar");
  ASSERT_TRUE(SaveImages(src_->images(), {"example.com/app:v1"},
                         ArchiveFormat::kDocker, out)
                  .ok());
  std::string gz = Path("docker.tar.gz");
  WriteFile(gz, Compress(ReadFile(out), "gzip"));
  auto loaded = LoadImages(dst_->images(), gz);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].name, "example.com/app:v1");
}

// "-" streams the archive to standard output and loads it from standard
// input (checked in a child process whose stdio is redirected to files).
TEST_F(ImageArchiveTest, StandardOutputAndInput) {
  oci::Descriptor app = PutImage("example.com/app:v1");
  std::string file = Path("stdout.tar");
  auto in_child = [&](int fd, int target, const std::function<bool()>& body) {
    pid_t pid = testing::ForkChild([&] {
      dup2(fd, target);
      return body() ? 0 : 1;
    });
    ASSERT_GE(pid, 0);
    EXPECT_EQ(testing::WaitExitCode(pid), 0);
  };
  int out = open(file.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(out, 0);
  in_child(out, 1, [&] {
    return SaveImages(src_->images(), {"example.com/app:v1"},
                      ArchiveFormat::kOci, "-")
        .ok();
  });
  close(out);
  std::string saved = Path("file.tar");
  ASSERT_TRUE(SaveImages(src_->images(), {"example.com/app:v1"},
                         ArchiveFormat::kOci, saved)
                  .ok());
  EXPECT_EQ(ReadFile(file), ReadFile(saved));

  int in = open(file.c_str(), O_RDONLY);
  ASSERT_GE(in, 0);
  in_child(in, 0, [&] { return LoadImages(dst_->images(), "-").ok(); });
  close(in);
  auto record = dst_->images().Get("example.com/app:v1");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->target.digest, app.digest);
}

// `docker save` before 25: <v1 id>/layer.tar (duplicates as symlinks),
// <config hex>.json, per-layer json/VERSION; one layer file gzip-compressed
// (docker load accepts that too).
TEST_F(ImageArchiveTest, OldDockerLayoutLoads) {
  std::string l1 = LayerTar("one", "1\n"), l2 = LayerTar("two", "2\n");
  oci::ImageConfig config;
  config.architecture = "amd64";
  config.os = "linux";
  config.diff_ids = {Digest::FromBytes(l1), Digest::FromBytes(l2),
                     Digest::FromBytes(l1)};
  std::string config_json = oci::ToJson(config);
  std::string config_name = Hex(Digest::FromBytes(config_json)) + ".json";
  std::string l2gz = Compress(l2, "gzip");
  std::string id1(64, '1'), id2(64, '2'), id3(64, '3');
  json manifest = json::array(
      {{{"Config", config_name},
        {"RepoTags", {"example.com/old:1"}},
        {"Layers",
         {id1 + "/layer.tar", id2 + "/layer.tar", id3 + "/layer.tar"}}}});
  std::vector<TarFile> files = {
      testing::Dir(id1),
      testing::File(id1 + "/VERSION", "1.0"),
      testing::File(id1 + "/json", "{}"),
      testing::File(id1 + "/layer.tar", l1),
      testing::File(id2 + "/layer.tar", l2gz),
      testing::Symlink(id3 + "/layer.tar", "../" + id1 + "/layer.tar"),
      testing::File(config_name, config_json),
      testing::File("manifest.json", manifest.dump()),
      testing::File("repositories",
                    R"({"example.com/old":{"1":")" + id3 + "\"}}"),
  };
  std::string out = Path("old.tar");
  WriteFile(out, testing::MakeTar(files));
  auto loaded = LoadImages(dst_->images(), out);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].name, "example.com/old:1");
  ASSERT_TRUE((*loaded)[0].target.platform.has_value());
  EXPECT_EQ((*loaded)[0].target.platform->architecture, "amd64");
  auto resolved = dst_->images().Resolve((*loaded)[0].target,
                                         *(*loaded)[0].target.platform);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->manifest.config.digest, Digest::FromBytes(config_json));
  ASSERT_EQ(resolved->manifest.layers.size(), 3u);
  EXPECT_EQ(resolved->manifest.layers[0].digest, Digest::FromBytes(l1));
  EXPECT_EQ(resolved->manifest.layers[0].media_type, oci::kMediaTypeLayer);
  EXPECT_EQ(resolved->manifest.layers[1].digest, Digest::FromBytes(l2gz));
  EXPECT_EQ(resolved->manifest.layers[1].media_type, oci::kMediaTypeLayerGzip);
  EXPECT_EQ(resolved->manifest.layers[2].digest, Digest::FromBytes(l1));

  // The same archive with a layer that is not what the config says.
  files[3] = testing::File(id1 + "/layer.tar", LayerTar("one", "tampered\n"));
  WriteFile(out, testing::MakeTar(files));
  StoreFixture fresh(root_ + "/fresh");
  auto bad = LoadImages(fresh.images(), out);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("diff_id"), std::string::npos);
  EXPECT_TRUE(fresh.images().List()->empty());

  // Untagged images need a name.
  manifest[0]["RepoTags"] = nullptr;
  files[3] = testing::File(id1 + "/layer.tar", l1);
  files[7] = testing::File("manifest.json", manifest.dump());
  WriteFile(out, testing::MakeTar(files));
  EXPECT_EQ(LoadImages(fresh.images(), out).status().code(),
            StatusCode::kInvalidArgument);
  auto named = LoadImages(fresh.images(), out, {.name = "example.com/given"});
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ((*named)[0].name, "example.com/given:latest");
}

// An OCI archive whose entry is named only by its tag (as some oci-archive
// writers leave it) needs a name to load.
TEST_F(ImageArchiveTest, BareTagNeedsAName) {
  PutImage("busybox:1.36");
  std::string out = Path("oci.tar");
  ASSERT_TRUE(
      SaveImages(src_->images(), {"busybox:1.36"}, ArchiveFormat::kOci, out)
          .ok());
  auto entries = ReadTar(out);
  for (TarFile& f : entries) {
    if (f.name != "index.json") continue;
    json index = json::parse(f.data);
    index["manifests"][0]["annotations"].erase("io.containerd.image.name");
    f.data = index.dump();
  }
  WriteFile(out, testing::MakeTar(entries));

  auto unnamed = LoadImages(dst_->images(), out);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unnamed.status().message().find("\"1.36\""), std::string::npos)
      << unnamed.status().ToString();
  EXPECT_TRUE(dst_->images().List()->empty());

  auto named = LoadImages(dst_->images(), out, {.name = "example.com/box"});
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ((*named)[0].name, "example.com/box:1.36");
}

// A single-platform pull of a multi-platform image keeps the index and one
// child: the OCI archive carries what is there, the Docker archive the
// requested platform.
TEST_F(ImageArchiveTest, MultiPlatformImages) {
  const llb::Platform& host = llb::HostPlatform();
  std::string other_arch = host.architecture == "s390x" ? "ppc64le" : "s390x";
  std::string absent_arch =
      host.architecture == "riscv64" ? "mips64le" : "riscv64";
  oci::Descriptor mine =
      src_->MakeImage({LayerTar("host", "host\n")}, {"gzip"});
  mine.platform = llb::Platform{.os = "linux",
                                .architecture = host.architecture,
                                .variant = host.variant,
                                .os_version = "",
                                .os_features = {}};
  oci::Descriptor other = src_->MakeImage({LayerTar("other", "other\n")},
                                          {"gzip"}, other_arch, "other");
  other.platform = llb::Platform{.os = "linux",
                                 .architecture = other_arch,
                                 .variant = "",
                                 .os_version = "",
                                 .os_features = {}};
  oci::Descriptor absent = other;
  absent.digest = Digest::FromBytes("a manifest this store never pulled");
  absent.platform->architecture = absent_arch;
  oci::Descriptor index = src_->MakeIndex({mine, other, absent});
  ASSERT_TRUE(src_->images().Put("example.com/multi:1", index).ok());

  std::string oci_out = Path("multi-oci.tar");
  ASSERT_TRUE(SaveImages(src_->images(), {"example.com/multi:1"},
                         ArchiveFormat::kOci, oci_out)
                  .ok());
  auto entries = ReadTar(oci_out);
  EXPECT_NE(FindEntry(entries, "blobs/sha256/" + Hex(index.digest)), nullptr);
  EXPECT_NE(FindEntry(entries, "blobs/sha256/" + Hex(other.digest)), nullptr);
  EXPECT_EQ(FindEntry(entries, "blobs/sha256/" + Hex(absent.digest)), nullptr);
  auto loaded = LoadImages(dst_->images(), oci_out);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)[0].target.digest, index.digest);

  std::string docker_out = Path("multi-docker.tar");
  SaveOptions want_other{.platform = *other.platform};
  ASSERT_TRUE(SaveImages(src_->images(), {"example.com/multi:1"},
                         ArchiveFormat::kDocker, docker_out, want_other)
                  .ok());
  json manifest =
      json::parse(FindEntry(ReadTar(docker_out), "manifest.json")->data);
  auto other_image = src_->images().Resolve(other, *other.platform);
  ASSERT_TRUE(other_image.ok());
  EXPECT_EQ(manifest[0]["Config"],
            "blobs/sha256/" + Hex(other_image->manifest.config.digest));

  SaveOptions want_absent{.platform = *absent.platform};
  Status s = SaveImages(src_->images(), {"example.com/multi:1"},
                        ArchiveFormat::kDocker, docker_out + ".2", want_absent);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_FALSE(fs::exists(docker_out + ".2"));

  // An explicit platform must match a single-platform image too.
  ASSERT_TRUE(src_->images().Put("example.com/single:1", mine).ok());
  s = SaveImages(src_->images(), {"example.com/single:1"},
                 ArchiveFormat::kDocker, docker_out + ".3", want_other);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(SaveImages(src_->images(), {"example.com/single:1"},
                         ArchiveFormat::kDocker, docker_out + ".3")
                  .ok());
}

}  // namespace
}  // namespace kiln::solver
