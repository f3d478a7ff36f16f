// OCI image-spec and Docker v2 schema 2 documents as plain structs, with
// JSON parsing and serialization.
//
// Parsing accepts both OCI and Docker media types and keeps what kiln uses;
// a document pulled or loaded from elsewhere is always stored with its
// original bytes (its digest is of those bytes), so fields kiln does not model
// are never lost. Serializing produces compact JSON with keys in the order
// the Go structs of the specs declare them (what BuildKit and containerd
// write), omitting empty optional fields, so that kiln-made documents are
// stable and byte-for-byte reproducible.
#ifndef KILN_SOLVER_OCI_H_
#define KILN_SOLVER_OCI_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"

namespace kiln::solver::oci {

// Media types.
inline constexpr std::string_view kMediaTypeImageIndex =
    "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaTypeImageManifest =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaTypeImageConfig =
    "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kMediaTypeLayer =
    "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kMediaTypeLayerGzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kMediaTypeLayerZstd =
    "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kMediaTypeLayerNonDistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kMediaTypeDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kMediaTypeDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kMediaTypeDockerConfig =
    "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kMediaTypeDockerLayer =
    "application/vnd.docker.image.rootfs.diff.tar";  // uncompressed (ctr import, docker load)
inline constexpr std::string_view kMediaTypeDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kMediaTypeDockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

// Annotations.
inline constexpr std::string_view kAnnotationRefName =
    "org.opencontainers.image.ref.name";
inline constexpr std::string_view kAnnotationCreated =
    "org.opencontainers.image.created";
// containerd's full image name annotation, which `ctr`/nerdctl and BuildKit's
// oci exporter write next to the short ref name.
inline constexpr std::string_view kAnnotationImageName =
    "io.containerd.image.name";

bool IsIndexMediaType(std::string_view media_type);  // OCI index or Docker list
bool IsManifestMediaType(
    std::string_view media_type);  // OCI or Docker manifest
bool IsLayerMediaType(std::string_view media_type);

enum class Compression { kNone, kGzip, kZstd };
// The compression a layer media type declares. InvalidArgument for a media
// type that is not a known layer type.
Result<Compression> LayerCompression(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<llb::Platform> platform;
  std::string artifact_type;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // empty is allowed by OCI
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::string artifact_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};

// The runtime part of an image config ("config" in the JSON), with Docker's
// field names (Env, Cmd, …) as both OCI and Docker images use them.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp"; a JSON object of {}
  std::vector<std::string> env;
  std::optional<std::vector<std::string>> entrypoint;  // null vs [] matter
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> volumes;  // a JSON object of {}
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<std::string> on_build;        // Docker extension
  std::vector<std::string> shell;           // Docker extension
  std::optional<HealthConfig> healthcheck;  // Docker extension
  bool args_escaped = false;                // Docker extension (Windows)
};

struct History {
  std::string created;  // RFC 3339; empty = absent
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string created;  // RFC 3339; empty = absent
  std::string author;
  std::string architecture;
  std::string os;
  std::string os_version;
  std::vector<std::string> os_features;
  std::string variant;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids, type "layers"
  std::vector<History> history;

  llb::Platform platform() const;
};

// Parsing. InvalidArgument names what is wrong ("manifest: layers[2]: digest
// …: …"). Unknown fields are ignored.
Result<Descriptor> ParseDescriptor(std::string_view json);
Result<Manifest> ParseManifest(std::string_view json);
Result<Index> ParseIndex(std::string_view json);
Result<ImageConfig> ParseImageConfig(std::string_view json);
// The "mediaType" field of any document, or empty (for sniffing what a
// registry or a layout entry holds).
Result<std::string> SniffMediaType(std::string_view json);

// Serialization (compact, stable key order; see the file comment).
std::string ToJson(const Descriptor& d);
std::string ToJson(const Manifest& m);
std::string ToJson(const Index& i);
std::string ToJson(const ImageConfig& c);

// Platform matching as containerd's default matcher does: os and
// architecture equal after normalization, and the variant equal, or for arm
// and arm64 a lower-or-equal compatible variant (arm/v7 runs arm/v6 and
// arm/v5). A descriptor without platform never matches.
bool PlatformMatches(const llb::Platform& want, const llb::Platform& have);

// Picks the manifest for `want` from an index: among matching entries the
// best variant, first in index order on ties. NotFound, listing the
// platforms the index offers, when none matches.
Result<Descriptor> SelectManifest(const Index& index,
                                  const llb::Platform& want);

}  // namespace kiln::solver::oci

#endif  // KILN_SOLVER_OCI_H_
