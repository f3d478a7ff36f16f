#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "diff_copy.h"
#include "go_mode.h"

namespace kiln::session::internal {
namespace {

constexpr size_t kChunk = 32 << 10;  // fsutil's buffer size

// What the reading thread hands to the sending one.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Packet> packets;  // REQ, FIN or ERR
  bool ended = false;          // the stream ended without FIN/ERR
};

void ReadLoop(PacketStream& stream, Inbox& inbox, uint64_t& received) {
  Packet p;
  while (stream.Receive(&p)) {
    ++received;
    bool last = p.type() == fsutil::types::PACKET_FIN ||
                p.type() == fsutil::types::PACKET_ERR;
    {
      std::lock_guard lock(inbox.mu);
      inbox.packets.push_back(std::move(p));
    }
    inbox.cv.notify_one();
    if (last) return;
    p.Clear();
  }
  std::lock_guard lock(inbox.mu);
  inbox.ended = true;
  inbox.cv.notify_one();
}

Packet StatPacket(const solver::LocalEntry& e) {
  Packet p;
  p.set_type(fsutil::types::PACKET_STAT);
  fsutil::types::Stat* st = p.mutable_stat();
  st->set_path(e.path);
  st->set_mode(GoModeFromStMode(e.mode));
  st->set_uid(e.uid);
  st->set_gid(e.gid);
  st->set_size(e.size);
  st->set_modtime(e.mtime_ns);
  if (S_ISLNK(e.mode)) st->set_linkname(e.link_target);
  return p;
}

class Sender {
 public:
  Sender(PacketStream& stream, const std::string& root,
         const std::vector<solver::LocalEntry>& entries, TransferStats& stats)
      : stream_(stream), root_(root), entries_(entries), stats_(stats) {}

  Status Run() {
    uint64_t received = 0;
    std::thread reader([&] { ReadLoop(stream_, inbox_, received); });
    Status status = Serve();
    // A stream the peer ended keeps its own status for the caller.
    if (!status.ok() && !closed_) stream_.Cancel();
    reader.join();
    stats_.packets_received += received;
    return status;
  }

 private:
  bool Send(const Packet& p) {
    ++stats_.packets_sent;
    return stream_.Send(p);
  }

  Status Fail(Status status) {
    Packet err;
    err.set_type(fsutil::types::PACKET_ERR);
    err.set_data(status.message());
    Send(err);
    return status;
  }

  Status Serve() {
    for (const auto& e : entries_) {
      if (!Send(StatPacket(e))) return Closed();
      ++stats_.entries_listed;
    }
    Packet end;
    end.set_type(fsutil::types::PACKET_STAT);
    if (!Send(end)) return Closed();
    while (true) {
      Packet p;
      {
        std::unique_lock lock(inbox_.mu);
        inbox_.cv.wait(lock,
                       [&] { return !inbox_.packets.empty() || inbox_.ended; });
        if (inbox_.packets.empty()) return Closed();
        p = std::move(inbox_.packets.front());
        inbox_.packets.pop_front();
      }
      switch (p.type()) {
        case fsutil::types::PACKET_REQ:
          KILN_RETURN_IF_ERROR(SendFile(p.id()));
          break;
        case fsutil::types::PACKET_FIN: {
          Packet fin;
          fin.set_type(fsutil::types::PACKET_FIN);
          if (!Send(fin)) return Closed();
          return Status::Ok();
        }
        case fsutil::types::PACKET_ERR:
          return UnknownError("receiver: " + p.data());
        default:
          return Fail(
              InvalidArgumentError("diffcopy sender: unexpected packet type " +
                                   std::to_string(p.type())));
      }
    }
  }

  Status Closed() {
    closed_ = true;
    return UnavailableError("diffcopy sender: the stream ended before FIN");
  }

  Status SendFile(uint32_t id) {
    if (id >= entries_.size() || !S_ISREG(entries_[id].mode)) {
      return Fail(InvalidArgumentError("diffcopy sender: invalid file id " +
                                       std::to_string(id)));
    }
    ++stats_.files_requested;
    const std::string path = root_ + "/" + entries_[id].path;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      return Fail(
          InternalError("opening " + path + ": " + std::strerror(errno)));
    }
    Packet data;
    data.set_type(fsutil::types::PACKET_DATA);
    data.set_id(id);
    std::string* buf = data.mutable_data();
    while (true) {
      buf->resize(kChunk);
      ssize_t n = read(fd, buf->data(), kChunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        close(fd);
        return Fail(
            InternalError("reading " + path + ": " + std::strerror(err)));
      }
      buf->resize(static_cast<size_t>(n));
      if (n == 0) break;
      stats_.data_bytes += static_cast<uint64_t>(n);
      if (!Send(data)) {
        close(fd);
        return Closed();
      }
    }
    close(fd);
    if (!Send(data)) return Closed();  // empty DATA: end of this file
    return Status::Ok();
  }

  PacketStream& stream_;
  const std::string& root_;
  const std::vector<solver::LocalEntry>& entries_;
  TransferStats& stats_;
  Inbox inbox_;
  bool closed_ = false;
};

}  // namespace

Status SendDiffCopy(PacketStream& stream, const std::string& root,
                    const std::vector<solver::LocalEntry>& entries,
                    TransferStats& stats) {
  return Sender(stream, root, entries, stats).Run();
}

}  // namespace kiln::session::internal
