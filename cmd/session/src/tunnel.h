// The byte connection under a session: one end of a socketpair, pumped to
// and from a gRPC stream of BytesMessage (Control.Session), the other end
// handed to gRPC as an HTTP/2 transport. Private to kiln_session.
//
// Thread safety: Run* each once, from their own threads; Stop() from any.
#ifndef KILN_SESSION_SRC_TUNNEL_H_
#define KILN_SESSION_SRC_TUNNEL_H_

#include <functional>
#include <memory>
#include <string>

#include "fs_at.h"
#include "kiln/llb/status.h"

namespace kiln::session::internal {

class Tunnel {
 public:
  // A connected socketpair (both ends close-on-exec) and a stop pipe.
  static Result<std::unique_ptr<Tunnel>> Create();
  ~Tunnel();
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // The end for gRPC, made non-blocking (the fd server needs it); the
  // caller takes ownership. Call once.
  int TakeTransportFd();

  // stream → socket: calls `read` until it returns false, writing each
  // message's bytes; then shuts the socket's write side (EOF for gRPC).
  void RunInbound(const std::function<bool(std::string*)>& read);
  // socket → stream: reads the socket and calls `write` with each chunk
  // until EOF, a failed write or Stop(); then calls `done` (may be empty).
  void RunOutbound(const std::function<bool(const std::string&)>& write,
                   const std::function<void()>& done);
  // Makes RunOutbound return (and any later call at once).
  void Stop();

 private:
  Tunnel(Fd near, int far, Fd stop_read, Fd stop_write)
      : near_(std::move(near)),
        far_(far),
        stop_read_(std::move(stop_read)),
        stop_write_(std::move(stop_write)) {}
  Fd near_;
  int far_;
  Fd stop_read_;
  Fd stop_write_;
};

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_TUNNEL_H_
