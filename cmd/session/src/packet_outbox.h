// The receiver's sending side: packets (REQ, FIN, ERR) queued by the
// reading thread and sent by a thread of their own. Private to kiln_session.
//
// Thread safety: Push from any thread; Close once, from the owner.
#ifndef KILN_SESSION_SRC_PACKET_OUTBOX_H_
#define KILN_SESSION_SRC_PACKET_OUTBOX_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "packet_stream.h"

namespace kiln::session::internal {

// Packets to send, sent by one thread so that reading never waits on
// writing (the peer may be sending DATA while we request more).
class Outbox {
 public:
  explicit Outbox(PacketStream& stream) : stream_(stream) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Outbox() { Close(std::chrono::seconds(2)); }

  void Push(Packet p) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(p));
    }
    cv_.notify_all();
  }
  uint64_t sent() const { return sent_; }

  // Sends what is queued (waiting at most `grace`, then cancelling the
  // stream) and stops the thread.
  void Close(std::chrono::milliseconds grace) {
    if (!thread_.joinable()) return;
    std::unique_lock lock(mu_);
    closing_ = true;
    cv_.notify_all();
    if (!cv_.wait_for(lock, grace, [&] { return stopped_; })) {
      lock.unlock();
      stream_.Cancel();
    } else {
      lock.unlock();
    }
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) break;
      Packet p = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      bool ok = !failed_ && stream_.Send(p);
      lock.lock();
      if (ok) ++sent_;
      if (!ok) failed_ = true;
    }
    stopped_ = true;
    cv_.notify_all();
  }

  PacketStream& stream_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Packet> queue_;
  bool closing_ = false;
  bool stopped_ = false;
  bool failed_ = false;
  uint64_t sent_ = 0;
  std::thread thread_;
};

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_PACKET_OUTBOX_H_
