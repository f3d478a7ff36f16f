// SecretFile: a secret's bytes on a private tmpfs (exec_mounts.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "exec_mounts_internal.h"
#include "fs_util.h"
#include "kiln/solver/exec_mounts.h"

namespace kiln::solver {
namespace internal {

Result<std::string> MakePrivateTempDir(const std::string& prefix) {
  const char* base = access("/run", W_OK | X_OK) == 0 ? "/run" : "/tmp";
  // The owner's pid is in the name so that a later engine can tell the
  // directories of a dead one (RemoveStaleExecMountDirs).
  std::string tmpl =
      std::string(base) + "/" + prefix + std::to_string(getpid()) + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoError("creating private dir", tmpl, errno);
  }
  if (chmod(tmpl.c_str(), 0700) != 0) {
    int err = errno;
    rmdir(tmpl.c_str());
    return ErrnoError("setting mode of", tmpl, err);
  }
  return tmpl;
}

}  // namespace internal

Status RemoveStaleExecMountDirs() {
  for (const char* base : {"/run", "/tmp"}) {
    auto names = internal::ListDir(base);
    if (!names.ok()) continue;
    for (const std::string& name : *names) {
      std::string rest;
      for (const char* prefix : {"kiln-secret-", "kiln-ssh-"}) {
        if (name.starts_with(prefix)) rest = name.substr(strlen(prefix));
      }
      const size_t dash = rest.find('-');
      if (dash == std::string::npos || dash == 0) continue;
      char* end = nullptr;
      const long pid = std::strtol(rest.c_str(), &end, 10);
      if (end != rest.c_str() + dash || pid <= 0) continue;
      if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
      const std::string dir = std::string(base) + "/" + name;
      umount2(dir.c_str(), MNT_DETACH);  // a secret's tmpfs, if mounted
      KILN_RETURN_IF_ERROR(internal::RemoveTree(dir));
    }
  }
  return Status::Ok();
}

namespace {

constexpr size_t kPage = 4096;

// Unmounts the tmpfs at `dir` (lazily when busy) and removes `dir`.
void UnmountAndRemove(const std::string& dir) {
  if (umount2(dir.c_str(), 0) != 0 && errno == EBUSY) {
    umount2(dir.c_str(), MNT_DETACH);
  }
  rmdir(dir.c_str());
}

}  // namespace

Result<std::unique_ptr<SecretFile>> SecretFile::Create(std::string_view data,
                                                       uint32_t uid,
                                                       uint32_t gid,
                                                       uint32_t mode) {
  KILN_ASSIGN_OR_RETURN(std::string dir,
                        internal::MakePrivateTempDir("kiln-secret-"));
  // Room for the data plus a few pages of slack; tmpfs counts whole pages.
  const size_t size = ((data.size() + kPage - 1) / kPage + 4) * kPage;
  const std::string opts = "size=" + std::to_string(size) + ",mode=0700";
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            opts.c_str()) != 0) {
    int err = errno;
    rmdir(dir.c_str());
    return internal::ErrnoStatus("mounting secret tmpfs on " + dir, err);
  }
  // Keep it out of other mount namespaces that share /run's propagation.
  mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr);

  std::string path = dir + "/secret";
  auto fail = [&](std::string_view what, int err) {
    unlink(path.c_str());
    UnmountAndRemove(dir);
    return internal::ErrnoError(what, path, err);
  };
  internal::UniqueFd fd(
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
           0600));
  if (!fd.valid()) return fail("creating secret file", errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("writing secret file", n < 0 ? errno : ENOSPC);
    done += static_cast<size_t>(n);
  }
  if (fchown(fd.get(), uid, gid) != 0) return fail("chowning", errno);
  if (fchmod(fd.get(), mode & 0777) != 0) return fail("chmodding", errno);
  fd = internal::UniqueFd();
  return std::unique_ptr<SecretFile>(
      new SecretFile(std::move(dir), std::move(path)));
}

SecretFile::~SecretFile() {
  unlink(path_.c_str());
  UnmountAndRemove(dir_);
}

}  // namespace kiln::solver
