#include "registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace kiln::solver::testing {
namespace {

namespace fs = std::filesystem;

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string TestRegistry::UnavailableReason() {
  if (!HaveProgram("docker-registry")) {
    return "docker-registry is not installed (apt-get install docker-registry)";
  }
  return "";
}

Result<std::unique_ptr<TestRegistry>> TestRegistry::Start(
    const TestRegistryOptions& options) {
  const std::string dir = MakeTempDir("kiln-registry-");
  if (dir.empty()) return InternalError("mkdtemp failed");
  fs::create_directories(dir + "/data");
  std::string log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = FreePort();
    WriteFile(dir + "/config.yml",
              "version: 0.1\nlog: {level: info}\n"
              "storage: {filesystem: {rootdirectory: " +
                  dir +
                  "/data}, delete: {enabled: true}}\n"
                  "http: {addr: 127.0.0.1:" +
                  std::to_string(port) + "}\n" + options.extra_yaml);
    const pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      // The registry dies with the test process, whatever happens to it.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = open((dir + "/registry.log").c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execlp("docker-registry", "docker-registry", "serve",
             (dir + "/config.yml").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (CanConnect(port))
        return std::unique_ptr<TestRegistry>(new TestRegistry(pid, port, dir));
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    log = ReadFile(dir + "/registry.log");
  }
  RemoveTree(dir);
  return UnavailableError("docker-registry did not start; log:\n" + log);
}

TestRegistry::~TestRegistry() {
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (pid_ != 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  RemoveTree(dir_);
}

std::string TestRegistry::BlobDataPath(const Digest& digest) const {
  const std::string hex(digest.hex());
  return dir_ + "/data/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) +
         "/" + hex + "/data";
}

std::string TestRegistry::Log() const {
  return ReadFile(dir_ + "/registry.log");
}

RegistryConfig TestRegistry::ClientConfig() const {
  RegistryConfig config;
  config.hosts[host()].http = true;
  config.docker_config_path = "/nonexistent/kiln-test/config.json";
  config.retry_initial_backoff = std::chrono::milliseconds(20);
  return config;
}

Result<std::string> MakeBusyboxLayout(const std::string& dir,
                                      const std::string& tag) {
  const std::string layout = dir + "/busybox-oci";
  CommandResult r = RunCommand(
      {"bash", std::string(KILN_SHARED_DIR) + "/tools/make-busybox-oci.sh",
       layout, tag});
  if (r.exit_code != 0)
    return InternalError("make-busybox-oci.sh failed: " + r.output);
  return layout;
}

Result<oci::Descriptor> ImportLayout(const std::string& layout,
                                     ContentStore* store) {
  for (const auto& entry : fs::directory_iterator(layout + "/blobs/sha256")) {
    KILN_ASSIGN_OR_RETURN(
        Digest want,
        Digest::Parse("sha256:" + entry.path().filename().string()));
    Result<Digest> stored = store->Put(ReadFile(entry.path()), &want);
    if (!stored.ok()) return stored.status();
  }
  KILN_ASSIGN_OR_RETURN(oci::Index index,
                        oci::ParseIndex(ReadFile(layout + "/index.json")));
  if (index.manifests.empty())
    return NotFoundError(layout + ": empty index.json");
  oci::Descriptor d = index.manifests.front();
  d.annotations.clear();
  return d;
}

std::string MakeTar(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [path, content] : files) {
    char header[512] = {0};
    std::snprintf(header, 100, "%s", path.c_str());
    std::snprintf(header + 100, 8, "%07o", 0644);
    std::snprintf(header + 108, 8, "%07o", 0);
    std::snprintf(header + 116, 8, "%07o", 0);
    std::snprintf(header + 124, 12, "%011o",
                  static_cast<unsigned>(content.size()));
    std::snprintf(header + 136, 12, "%011o", 0);
    header[156] = '0';
    std::memcpy(header + 257, "ustar", 6);
    std::memcpy(header + 263, "00", 2);
    std::memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : header) sum += c;
    std::snprintf(header + 148, 8, "%06o", sum);
    out.append(header, 512);
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

Result<oci::Descriptor> StoreImage(ContentStore* store,
                                   const llb::Platform& platform,
                                   const std::string& layer,
                                   const std::string& layer_media_type,
                                   bool docker) {
  KILN_ASSIGN_OR_RETURN(Digest layer_digest, store->Put(layer));
  oci::ImageConfig config;
  config.architecture = platform.architecture;
  config.os = platform.os;
  config.variant = platform.variant;
  config.config.cmd = std::vector<std::string>{"sh"};
  config.diff_ids.push_back(layer_digest);  // tests never unpack these layers
  const std::string config_json = oci::ToJson(config);
  KILN_ASSIGN_OR_RETURN(Digest config_digest, store->Put(config_json));
  oci::Manifest manifest;
  manifest.media_type =
      docker ? oci::kMediaTypeDockerManifest : oci::kMediaTypeImageManifest;
  manifest.config = {
      .media_type = std::string(docker ? oci::kMediaTypeDockerConfig
                                       : oci::kMediaTypeImageConfig),
      .digest = config_digest,
      .size = static_cast<int64_t>(config_json.size())};
  manifest.layers.push_back({.media_type = layer_media_type,
                             .digest = layer_digest,
                             .size = static_cast<int64_t>(layer.size())});
  const std::string manifest_json = oci::ToJson(manifest);
  KILN_ASSIGN_OR_RETURN(Digest manifest_digest, store->Put(manifest_json));
  return oci::Descriptor{.media_type = manifest.media_type,
                         .digest = manifest_digest,
                         .size = static_cast<int64_t>(manifest_json.size()),
                         .platform = platform};
}

Result<oci::Descriptor> StoreIndex(
    ContentStore* store, const std::vector<oci::Descriptor>& manifests) {
  oci::Index index;
  index.media_type = oci::kMediaTypeImageIndex;
  index.manifests = manifests;
  const std::string json = oci::ToJson(index);
  KILN_ASSIGN_OR_RETURN(Digest digest, store->Put(json));
  return oci::Descriptor{.media_type = index.media_type,
                         .digest = digest,
                         .size = static_cast<int64_t>(json.size())};
}

void RegistryTest::SetUp() {
  dir_ = MakeTempDir(temp_prefix_);
  ASSERT_FALSE(dir_.empty()) << "mkdtemp: " << std::strerror(errno);
  if (start_registry_) StartRegistry();
}

void RegistryTest::TearDown() {
  registry_.reset();
  RemoveTree(dir_);
}

void RegistryTest::StartRegistry(const TestRegistryOptions& options) {
  if (std::string why = TestRegistry::UnavailableReason(); !why.empty())
    KILN_SKIP_UNLESS_REQUIRED(why);
  Result<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  registry_ = std::move(*registry);
}

std::unique_ptr<ContentStore> RegistryTest::OpenStore(const std::string& name) {
  Result<std::unique_ptr<ContentStore>> store =
      ContentStore::Open(dir_ + "/" + name);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

llb::ImageReference RegistryTest::Ref(const std::string& rest) const {
  Result<llb::ImageReference> ref =
      llb::ParseImageReference(registry_->host() + "/" + rest);
  EXPECT_TRUE(ref.ok()) << ref.status().ToString();
  return ref.value_or(llb::ImageReference{});
}

std::string Base64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(s.data()),
                  static_cast<int>(s.size()));
  return out;
}

}  // namespace kiln::solver::testing
