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
  std::lock_guard lock(mu_);
  if (!content_) {
    KILN_ASSIGN_OR_RETURN(content_,
                          solver::ContentStore::Open(dir_ + "/content"));
  }
  return content_.get();
}

Result<solver::ImageStore*> Root::Images() {
  std::lock_guard lock(mu_);
  if (!images_) {
    KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, Content());
    KILN_ASSIGN_OR_RETURN(images_,
                          solver::ImageStore::Open(dir_ + "/images", content));
  }
  return images_.get();
}

Result<solver::RegistryClient*> Root::Registry() {
  std::lock_guard lock(mu_);
  if (!registry_) {
    KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, Content());
    solver::RegistryConfig config;
    if (!config_path_.empty()) {
      KILN_ASSIGN_OR_RETURN(config, solver::LoadRegistryConfig(config_path_));
    }
    registry_ =
        std::make_unique<solver::RegistryClient>(std::move(config), content);
  }
  return registry_.get();
}

Result<solver::Snapshotter*> Root::Snapshots() {
  std::lock_guard lock(mu_);
  if (!snapshots_) {
    KILN_ASSIGN_OR_RETURN(
        snapshots_, solver::OpenSnapshotter(dir_ + "/snapshots",
                                            solver::SnapshotterKind::kAuto));
  }
  return snapshots_.get();
}

std::string Root::executor_error() const {
  std::lock_guard lock(mu_);
  return executor_error_;
}

Result<std::string> Root::FrontendStateDir() {
  std::lock_guard lock(mu_);
  const std::string state_dir = dir_ + "/frontends";
  if (!frontend_state_clean_) {
    std::error_code ec;
    std::filesystem::remove_all(state_dir, ec);
    if (ec) {
      return InternalError("removing stale frontend state " + state_dir + ": " +
                           ec.message());
    }
    frontend_state_clean_ = true;
  }
  return state_dir;
}

}  // namespace kiln::cli
