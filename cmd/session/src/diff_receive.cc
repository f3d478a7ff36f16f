// The receiving half of DiffCopy: the protocol loop and the entry decisions.
// Writing goes through fs_at.h (directory fds, no symlink following).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "diff_copy.h"
#include "fs_at.h"
#include "go_mode.h"
#include "packet_outbox.h"
#include "receive_write.h"

namespace kiln::session::internal {
namespace {

using fsutil::types::Stat;

class Receiver {
 public:
  Receiver(PacketStream& stream, const std::string& dest,
           const ReceiveOptions& options, ReceiveResult& result)
      : stream_(stream),
        dest_(dest),
        options_(options),
        result_(result),
        stats_(result.stats),
        chown_(options.keep_owner && geteuid() == 0) {}

  Status Run() {
    root_ = Fd(open(dest_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_.valid()) return ErrnoError("opening " + dest_, errno);
    KILN_ASSIGN_OR_RETURN(Fd root_dup, OpenDirBelow(root_.get(), ""));
    stack_.push_back({"", std::move(root_dup)});
    Status status;
    {
      Outbox outbox(stream_);
      outbox_ = &outbox;
      status = Loop();
      if (!status.ok() && !peer_failed_ && !stream_ended_) {
        Packet err;
        err.set_type(fsutil::types::PACKET_ERR);
        err.set_data(status.message());
        outbox.Push(std::move(err));
      }
      outbox.Close(std::chrono::seconds(2));
      stats_.packets_sent += outbox.sent();
      outbox_ = nullptr;
    }
    if (!status.ok()) {
      // A stream the peer ended keeps its own status for the caller.
      if (!stream_ended_) stream_.Cancel();
      DropTemps();
    }
    return status;
  }

 private:
  struct Frame {
    std::string path;
    Fd fd;
  };
  struct Pending {
    std::string path;
    Stat stat;
    Fd parent;
    Fd file;
    std::string temp;
  };

  Status Loop() {
    Packet p;
    bool finished = false;
    while (true) {
      p.Clear();
      if (!stream_.Receive(&p)) {
        stream_ended_ = true;
        if (next_id_ == 0 && !listing_done_) result_.closed_early = true;
        return UnavailableError(
            "diffcopy: the stream ended before the transfer finished");
      }
      ++stats_.packets_received;
      switch (p.type()) {
        case fsutil::types::PACKET_STAT:
          if (listing_done_) {
            return InvalidArgumentError("diffcopy: entry after the listing");
          }
          if (!p.has_stat()) {
            listing_done_ = true;
            KILN_RETURN_IF_ERROR(EndListing());
          } else {
            KILN_RETURN_IF_ERROR(HandleEntry(p.stat()));
          }
          break;
        case fsutil::types::PACKET_DATA:
          KILN_RETURN_IF_ERROR(HandleData(p.id(), p.data()));
          break;
        case fsutil::types::PACKET_FIN:
          if (!finished) {
            return InvalidArgumentError(
                "diffcopy: the sender finished before the transfer did");
          }
          return Status::Ok();
        case fsutil::types::PACKET_ERR:
          peer_failed_ = true;
          return UnknownError("sender: " + p.data());
        default:
          return InvalidArgumentError("diffcopy: unexpected packet type " +
                                      std::to_string(p.type()));
      }
      if (listing_done_ && pending_.empty() && !finished) {
        KILN_RETURN_IF_ERROR(Finish());
        finished = true;
        Packet fin;
        fin.set_type(fsutil::types::PACKET_FIN);
        outbox_->Push(std::move(fin));
      }
    }
  }

  Status Invalid(const std::string& path, const std::string& why) {
    return InvalidArgumentError("diffcopy: invalid entry \"" + path +
                                "\": " + why);
  }

  bool Unchanged(const struct stat& cur, const Stat& st, uint32_t mode) const {
    if ((cur.st_mode & 07777) != (mode & 07777)) return false;
    if (chown_ && (cur.st_uid != st.uid() || cur.st_gid != st.gid())) {
      return false;
    }
    return true;
  }

  Status HandleEntry(const Stat& st) {
    const uint32_t id = next_id_++;
    const std::string& path = st.path();
    // Bounds on what one client can make the daemon hold: entries listed
    // (each kept in memory until the end) and directory depth (an open fd
    // per level).
    if (next_id_ > kMaxEntries) {
      return InvalidArgumentError("diffcopy: more than " +
                                  std::to_string(kMaxEntries) +
                                  " entries in one directory transfer");
    }
    if (stack_.size() > kMaxDepth) {
      return Invalid(path, "nested deeper than " + std::to_string(kMaxDepth) +
                               " directories");
    }
    if (!IsCleanRelative(path))
      return Invalid(path, "not a clean relative path");
    if (!last_path_.empty() && !WalkOrderLess(last_path_, path)) {
      return Invalid(path, "out of order or repeated");
    }
    last_path_ = path;
    auto [parent, name] = SplitParent(path);
    if (IsTempName(name)) return Invalid(path, "reserved name");
    while (stack_.size() > 1 && stack_.back().path != parent) stack_.pop_back();
    if (stack_.back().path != parent) {
      return Invalid(path, "not inside a listed directory");
    }
    const uint32_t mode = StModeFromGoMode(st.mode());
    if (mode == 0) return Invalid(path, "unsupported file mode");
    ++stats_.entries_listed;
    const int pfd = stack_.back().fd.get();
    struct stat cur {};
    bool exists = fstatat(pfd, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
      return ErrnoError("inspecting " + path, errno);
    const std::string where = dest_ + "/" + path;
    if (exists && S_ISDIR(cur.st_mode) && !S_ISDIR(mode)) {
      KILN_RETURN_IF_ERROR(RemoveAllAt(pfd, name, where));
      exists = false;
    }
    switch (mode & S_IFMT) {
      case S_IFDIR: {
        listed_[path] = 'd';
        if (exists && !S_ISDIR(cur.st_mode)) {
          if (unlinkat(pfd, name.c_str(), 0) != 0) {
            return ErrnoError("replacing " + where, errno);
          }
          exists = false;
        }
        if (!exists && mkdirat(pfd, name.c_str(), 0700) != 0) {
          return ErrnoError("creating directory " + where, errno);
        }
        Fd fd(openat(pfd, name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd.valid()) return ErrnoError("opening " + where, errno);
        stack_.push_back({path, std::move(fd)});
        dirs_.push_back(st);
        ++result_.dirs;
        return Status::Ok();
      }
      case S_IFREG:
        listed_[path] = 'f';
        if (!st.linkname().empty()) {
          auto it = listed_.find(st.linkname());
          if (it == listed_.end() || it->second != 'f' ||
              st.linkname() == path) {
            return Invalid(path, "hard link to an unlisted file");
          }
          hardlinks_.push_back(st);
          return Status::Ok();
        }
        if (exists && S_ISREG(cur.st_mode) && cur.st_size == st.size() &&
            MtimeNs(cur) == st.modtime() && Unchanged(cur, st, mode)) {
          ++stats_.files_unchanged;
          return Status::Ok();
        }
        {
          Pending& pend = pending_[id];
          pend.path = path;
          pend.stat = st;
        }
        {
          Packet req;
          req.set_type(fsutil::types::PACKET_REQ);
          req.set_id(id);
          outbox_->Push(std::move(req));
        }
        ++stats_.files_requested;
        return Status::Ok();
      case S_IFLNK:
        listed_[path] = 'o';
        if (exists && S_ISLNK(cur.st_mode) && Unchanged(cur, st, cur.st_mode)) {
          std::string target(static_cast<size_t>(cur.st_size) + 1, '\0');
          ssize_t n =
              readlinkat(pfd, name.c_str(), target.data(), target.size());
          if (n >= 0 && static_cast<size_t>(n) < target.size()) {
            target.resize(static_cast<size_t>(n));
            if (target == st.linkname()) {
              ++stats_.files_unchanged;
              return Status::Ok();
            }
          }
        }
        return Replace(pfd, name, st, mode, where);
      case S_IFSOCK:
        listed_[path] = 'o';  // not recreated (nothing can use it)
        return Status::Ok();
      default:  // fifos and devices
        listed_[path] = 'o';
        if (exists && (cur.st_mode & S_IFMT) == (mode & S_IFMT) &&
            cur.st_rdev == makedev(st.devmajor(), st.devminor()) &&
            Unchanged(cur, st, mode)) {
          ++stats_.files_unchanged;
          return Status::Ok();
        }
        return Replace(pfd, name, st, mode, where);
    }
  }

  Status HandleData(uint32_t id, const std::string& data) {
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      return InvalidArgumentError("diffcopy: data for file id " +
                                  std::to_string(id) +
                                  ", which was not requested");
    }
    Pending& f = it->second;
    const std::string where = dest_ + "/" + f.path;
    auto [parent, name] = SplitParent(f.path);
    if (!f.file.valid()) {
      // A sender streams a few files at once; this many open at a time
      // means it is trying to exhaust the daemon's file descriptors.
      if (open_files_ >= kMaxOpenFiles) {
        return InvalidArgumentError("diffcopy: more than " +
                                    std::to_string(kMaxOpenFiles) +
                                    " files transferred at once");
      }
      ++open_files_;
      KILN_ASSIGN_OR_RETURN(f.parent, OpenDirBelow(root_.get(), parent));
      f.temp = TempName(name);
      f.file = Fd(openat(f.parent.get(), f.temp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600));
      if (!f.file.valid()) return ErrnoError("writing " + where, errno);
      temps_.insert(parent.empty() ? f.temp : parent + "/" + f.temp);
    }
    if (!data.empty()) {
      size_t off = 0;
      while (off < data.size()) {
        ssize_t n = write(f.file.get(), data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoError("writing " + where, errno);
        off += static_cast<size_t>(n);
      }
      stats_.data_bytes += data.size();
      return Status::Ok();
    }
    // End of this file: attributes, then rename into place.
    const Stat& st = f.stat;
    uint32_t mode = StModeFromGoMode(st.mode());
    if (chown_ && fchown(f.file.get(), st.uid(), st.gid()) != 0) {
      return ErrnoError("setting the owner of " + where, errno);
    }
    if (fchmod(f.file.get(), mode & 07777) != 0) {
      return ErrnoError("setting the mode of " + where, errno);
    }
    timespec times[2] = {{0, UTIME_OMIT}, Nanos(st.modtime())};
    if (futimens(f.file.get(), times) != 0) {
      return ErrnoError("setting the mtime of " + where, errno);
    }
    f.file.Reset();
    if (renameat(f.parent.get(), f.temp.c_str(), f.parent.get(),
                 name.c_str()) != 0) {
      return ErrnoError("renaming into " + where, errno);
    }
    temps_.erase(parent.empty() ? f.temp : parent + "/" + f.temp);
    ++stats_.files_written;
    pending_.erase(it);
    --open_files_;
    return Status::Ok();
  }

  Status EndListing() {
    stack_.resize(1);
    if (options_.merge) return Status::Ok();
    return DeleteUnlisted("", stack_[0].fd.get());
  }

  Status DeleteUnlisted(const std::string& rel, int dir_fd) {
    KILN_ASSIGN_OR_RETURN(
        auto names, ListDirFd(dir_fd, rel.empty() ? dest_ : dest_ + "/" + rel));
    for (const auto& n : names) {
      std::string child = rel.empty() ? n : rel + "/" + n;
      if (IsTempName(n) && temps_.contains(child)) continue;
      auto it = listed_.find(child);
      if (it == listed_.end()) {
        KILN_RETURN_IF_ERROR(RemoveAllAt(dir_fd, n, dest_ + "/" + child));
        ++stats_.entries_deleted;
        continue;
      }
      if (it->second != 'd') continue;
      Fd sub(openat(dir_fd, n.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid())
        return ErrnoError("opening " + dest_ + "/" + child, errno);
      KILN_RETURN_IF_ERROR(DeleteUnlisted(child, sub.get()));
    }
    return Status::Ok();
  }

  Status Finish() {
    for (const Stat& st : hardlinks_) {
      KILN_RETURN_IF_ERROR(Link(st));
    }
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      const Stat& st = *it;
      const std::string where = dest_ + "/" + st.path();
      KILN_ASSIGN_OR_RETURN(Fd fd, OpenDirBelow(root_.get(), st.path()));
      if (chown_ && fchown(fd.get(), st.uid(), st.gid()) != 0) {
        return ErrnoError("setting the owner of " + where, errno);
      }
      if (fchmod(fd.get(), StModeFromGoMode(st.mode()) & 07777) != 0) {
        return ErrnoError("setting the mode of " + where, errno);
      }
      timespec times[2] = {{0, UTIME_OMIT}, Nanos(st.modtime())};
      if (futimens(fd.get(), times) != 0) {
        return ErrnoError("setting the mtime of " + where, errno);
      }
    }
    return Status::Ok();
  }

  Status Link(const Stat& st) {
    KILN_ASSIGN_OR_RETURN(bool written, LinkAt(root_.get(), dest_, st));
    ++(written ? stats_.files_written : stats_.files_unchanged);
    return Status::Ok();
  }

  // A symlink, fifo or device node, made under a temporary name and renamed
  // over `name`.
  Status Replace(int pfd, const std::string& name, const Stat& st,
                 uint32_t mode, const std::string& where) {
    KILN_RETURN_IF_ERROR(ReplaceSpecialAt(pfd, name, st, mode, chown_, where));
    ++stats_.files_written;
    return Status::Ok();
  }

  void DropTemps() {
    for (auto& [id, f] : pending_) {
      if (f.parent.valid() && !f.temp.empty()) {
        unlinkat(f.parent.get(), f.temp.c_str(), 0);
      }
    }
  }

  PacketStream& stream_;
  const std::string& dest_;
  const ReceiveOptions& options_;
  ReceiveResult& result_;
  TransferStats& stats_;
  const bool chown_;
  Outbox* outbox_ = nullptr;
  Fd root_;
  std::vector<Frame> stack_;
  uint32_t next_id_ = 0;
  std::string last_path_;
  bool listing_done_ = false;
  bool peer_failed_ = false;
  bool stream_ended_ = false;
  std::unordered_map<std::string, char> listed_;  // 'd' dir, 'f' file, 'o'
  std::vector<Stat> dirs_;
  std::vector<Stat> hardlinks_;
  static constexpr uint32_t kMaxEntries = 4'000'000;
  static constexpr size_t kMaxDepth = 512;
  static constexpr int kMaxOpenFiles = 256;
  int open_files_ = 0;  // pending files with an fd open
  std::unordered_map<uint32_t, Pending> pending_;
  std::unordered_set<std::string> temps_;  // temporary files being written
};

}  // namespace

Status ReceiveDiffCopy(PacketStream& stream, const std::string& dest,
                       const ReceiveOptions& options, ReceiveResult& result) {
  return Receiver(stream, dest, options, result).Run();
}

}  // namespace kiln::session::internal
