#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kiln/llb/digest.h"

extern char** environ;

namespace kiln::solver::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

void MakeWritable(const std::string& dir) {
  chmod(dir.c_str(), 0700);
  for (const std::string& name : Names(dir)) {
    std::string child = dir + "/" + name;
    struct stat st {};
    if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      MakeWritable(child);
  }
}

void DumpTreeInto(const std::string& root, const std::string& rel, bool times,
                  std::map<std::string, std::string>* out) {
  for (const std::string& name : Names(rel.empty() ? root : root + "/" + rel)) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    std::string path = root + "/" + child;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) continue;
    char mode[16];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    std::string desc;
    if (S_ISDIR(st.st_mode)) {
      desc = std::string("d ") + mode;
    } else if (S_ISREG(st.st_mode)) {
      std::string data = ReadFile(path);
      if (data.size() > 64) {
        // Appended piecewise: GCC 12 -Wrestrict misfires on "<" + to_string.
        std::string summary = "<";
        summary.append(std::to_string(data.size())).append(" bytes ");
        summary.append(Digest::FromBytes(data).str()).append(">");
        data = std::move(summary);
      }
      desc = std::string("f ") + mode + " " + data;
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlink(path.c_str(), target, sizeof(target));
      desc = "l -> " + std::string(target, n < 0 ? 0 : static_cast<size_t>(n));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      desc = std::string(S_ISCHR(st.st_mode) ? "c " : "b ") +
             std::to_string(major(st.st_rdev)) + "," +
             std::to_string(minor(st.st_rdev));
    } else if (S_ISFIFO(st.st_mode)) {
      desc = std::string("p ") + mode;
    }
    if (times && !S_ISLNK(st.st_mode))
      desc += " @" + std::to_string(st.st_mtim.tv_sec);
    (*out)[child] = desc;
    if (S_ISDIR(st.st_mode)) DumpTreeInto(root, child, times, out);
  }
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" +
      prefix + "XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

void RemoveTree(const std::string& path) {
  if (path.empty()) return;
  MakeWritable(path);
  std::error_code ec;
  fs::remove_all(path, ec);
}

TempDir::TempDir(const std::string& prefix) : path_(MakeTempDir(prefix)) {
  EXPECT_FALSE(path_.empty()) << "mkdtemp: " << std::strerror(errno);
}

TempDir::~TempDir() { RemoveTree(path_); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         bool merge_stderr) {
  CommandResult result;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  if (merge_stderr) posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    result.output = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) result.output.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult RunShell(const std::string& script, bool merge_stderr) {
  return RunCommand({"sh", "-c", script}, merge_stderr);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

bool HaveProgram(const std::string& name) {
  return RunShell("command -v " + name).exit_code == 0;
}

pid_t ForkChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  return pid;
}

int WaitExitCode(pid_t pid) {
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::map<std::string, std::string> DumpTree(const std::string& root,
                                            bool times) {
  std::map<std::string, std::string> out;
  DumpTreeInto(root, "", times, &out);
  return out;
}

}  // namespace kiln::solver::testing
