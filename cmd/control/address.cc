#include "control/address.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace kiln::control {
namespace {

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgumentError("address \"" + std::string(text) +
                              "\": " + std::string(why));
}

Result<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("reading " + path + ": cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InternalError("reading " + path + " failed");
  return ss.str();
}

}  // namespace

std::string Address::ToString() const {
  if (kind == Kind::kUnix) return "unix://" + path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "tcp://" + h + ":" + std::to_string(port);
}

Result<Address> ParseAddress(std::string_view text) {
  Address out;
  if (text.starts_with("unix://") || text.starts_with("unix:")) {
    std::string_view path = text.substr(text.starts_with("unix://") ? 7 : 5);
    if (path.empty() || path[0] != '/') {
      return Bad(text, "the socket path must be absolute");
    }
    out.kind = Address::Kind::kUnix;
    out.path = std::string(path);
    return out;
  }
  if (!text.starts_with("tcp://")) {
    return Bad(text, "expected unix://PATH or tcp://HOST:PORT");
  }
  std::string_view rest = text.substr(6);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host, port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() ||
        rest[close + 1] != ':') {
      return Bad(text, "expected tcp://[IPV6]:PORT");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Bad(text, "missing :PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Bad(text, "missing host");
  int n = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || n < 0 ||
      n > 65535) {
    return Bad(text, "port must be a number from 0 to 65535");
  }
  out.kind = Address::Kind::kTcp;
  out.host = std::string(host);
  out.port = n;
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

Result<TlsPem> ReadTlsFiles(const TlsFiles& files, std::string_view what) {
  if (files.ca.empty() || files.cert.empty() || files.key.empty()) {
    return InvalidArgumentError(
        std::string(what) +
        ": mutual TLS needs all of the CA, certificate and key files");
  }
  TlsPem pem;
  KILN_ASSIGN_OR_RETURN(pem.ca, ReadPem(files.ca));
  KILN_ASSIGN_OR_RETURN(pem.cert, ReadPem(files.cert));
  KILN_ASSIGN_OR_RETURN(pem.key, ReadPem(files.key));
  return pem;
}

Result<std::shared_ptr<grpc::Channel>> DialDaemon(const Address& address,
                                                  const TlsFiles& tls) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (address.kind == Address::Kind::kUnix) {
    return grpc::CreateCustomChannel("unix:" + address.path,
                                     grpc::InsecureChannelCredentials(), args);
  }
  std::string target =
      (address.host.find(':') != std::string::npos ? "[" + address.host + "]"
                                                   : address.host) +
      ":" + std::to_string(address.port);
  if (!tls.enabled()) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                     args);
  }
  KILN_ASSIGN_OR_RETURN(TlsPem pem, ReadTlsFiles(tls, "--addr " + target));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.ca;
  options.pem_private_key = pem.key;
  options.pem_cert_chain = pem.cert;
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(options), args);
}

}  // namespace kiln::control
