#include "state_root.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "kiln/solver/registry_config.h"

namespace kiln::cli {

std::string DefaultRootDir() {
  if (const char* env = std::getenv("KILN_ROOT");
      env != nullptr && *env != '\0')
    return env;
  if (geteuid() == 0) return "/var/lib/kiln";
  if (const char* xdg = std::getenv("XDG_DATA_HOME");
      xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/kiln";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/share/kiln";
}

std::string ConfigPath() {
  if (const char* env = std::getenv("KILN_CONFIG");
      env != nullptr && *env != '\0')
    return env;
  std::error_code ec;
  if (std::filesystem::exists("/etc/kiln/kiln.toml", ec))
    return "/etc/kiln/kiln.toml";
  return "";
}

Result<solver::ContentStore*> Root::Content() {
  if (!content_) {
    KILN_ASSIGN_OR_RETURN(content_,
                          solver::ContentStore::Open(dir_ + "/content"));
  }
  return content_.get();
}

Result<solver::ImageStore*> Root::Images() {
  if (!images_) {
    KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, Content());
    KILN_ASSIGN_OR_RETURN(images_,
                          solver::ImageStore::Open(dir_ + "/images", content));
  }
  return images_.get();
}

Result<solver::RegistryClient*> Root::Registry() {
  if (!registry_) {
    KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, Content());
    solver::RegistryConfig config;
    if (std::string path = ConfigPath(); !path.empty()) {
      KILN_ASSIGN_OR_RETURN(config, solver::LoadRegistryConfig(path));
    }
    registry_ =
        std::make_unique<solver::RegistryClient>(std::move(config), content);
  }
  return registry_.get();
}

Result<solver::Snapshotter*> Root::Snapshots() {
  if (!snapshots_) {
    KILN_ASSIGN_OR_RETURN(
        snapshots_, solver::OpenSnapshotter(dir_ + "/snapshots",
                                            solver::SnapshotterKind::kAuto));
  }
  return snapshots_.get();
}

}  // namespace kiln::cli
