// kilnd addresses, as buildkitd and buildctl spell them: unix:///run/x.sock
// (or unix:PATH) and tcp://HOST:PORT; and the client's connection to one.
#ifndef KILN_CMD_CONTROL_ADDRESS_H_
#define KILN_CMD_CONTROL_ADDRESS_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::control {

// The daemon's default socket.
inline constexpr std::string_view kDefaultAddress =
    "unix:///run/kiln/kilnd.sock";

struct Address {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;              // kUnix: absolute socket path
  std::string host;              // kTcp: name or IP (IPv6 without brackets)
  int port = 0;                  // kTcp: 0..65535 (0 = any, for a listener)
  std::string ToString() const;  // the canonical URL form
};

// Errors: InvalidArgument naming the address (unknown scheme, relative
// socket path, missing or bad port).
Result<Address> ParseAddress(std::string_view text);

// True for localhost, 127.0.0.0/8 and ::1.
bool IsLoopbackHost(std::string_view host);

// PEM file paths for mutual TLS; all empty = no TLS.
struct TlsFiles {
  std::string ca;    // the CA that signed the peer's certificate
  std::string cert;  // our certificate
  std::string key;   // its key
  bool enabled() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

// The three files' contents. InvalidArgument when only some are given;
// the read error (naming the file) when one cannot be read.
struct TlsPem {
  std::string ca, cert, key;
};
Result<TlsPem> ReadTlsFiles(const TlsFiles& files, std::string_view what);

// A channel to the daemon at `address` (not yet connected): unix sockets
// plain, tcp with TLS when `tls` is enabled (the server's name is checked
// against `address.host`), else plain. Errors: those of ReadTlsFiles.
Result<std::shared_ptr<grpc::Channel>> DialDaemon(const Address& address,
                                                  const TlsFiles& tls);

}  // namespace kiln::control

#endif  // KILN_CMD_CONTROL_ADDRESS_H_
