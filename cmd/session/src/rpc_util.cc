#include "rpc_util.h"

#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstdio>

namespace kiln::session::internal {

Status FromGrpc(const grpc::Status& status, const std::string& context) {
  if (status.ok()) return Status::Ok();
  std::string msg = context + ": " + status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::CANCELLED:
      return CancelledError(std::move(msg));
    case grpc::StatusCode::INVALID_ARGUMENT:
      return InvalidArgumentError(std::move(msg));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return DeadlineExceededError(std::move(msg));
    case grpc::StatusCode::NOT_FOUND:
      return NotFoundError(std::move(msg));
    case grpc::StatusCode::ALREADY_EXISTS:
      return AlreadyExistsError(std::move(msg));
    case grpc::StatusCode::PERMISSION_DENIED:
      return PermissionDeniedError(std::move(msg));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ResourceExhaustedError(std::move(msg));
    case grpc::StatusCode::FAILED_PRECONDITION:
      return FailedPreconditionError(std::move(msg));
    case grpc::StatusCode::OUT_OF_RANGE:
      return OutOfRangeError(std::move(msg));
    case grpc::StatusCode::UNIMPLEMENTED:
      return UnimplementedError(std::move(msg));
    case grpc::StatusCode::UNAVAILABLE:
      return UnavailableError(std::move(msg));
    case grpc::StatusCode::DATA_LOSS:
      return DataLossError(std::move(msg));
    case grpc::StatusCode::INTERNAL:
      return InternalError(std::move(msg));
    default:
      return UnknownError(std::move(msg));
  }
}

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

namespace {

bool NeedsEncoding(const std::vector<std::string>& values) {
  for (const auto& v : values) {
    for (unsigned char c : v) {
      if (c > 0x7f) return true;
    }
  }
  return false;
}

// Go's url.QueryEscape.
std::string QueryEscape(const std::string& in) {
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out.append(buf);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string QueryUnescape(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> MetadataValues(const grpc::ServerContext& context,
                                        const std::string& key) {
  const auto& md = context.client_metadata();
  bool encoded = false;
  auto flag = md.equal_range(key + "-encoded");
  for (auto it = flag.first; it != flag.second; ++it) {
    std::string v(it->second.data(), it->second.size());
    if (v == "1" || v == "true" || v == "t" || v == "TRUE" || v == "True") {
      encoded = true;
    }
  }
  std::vector<std::string> out;
  auto range = md.equal_range(key);
  for (auto it = range.first; it != range.second; ++it) {
    std::string v(it->second.data(), it->second.size());
    out.push_back(encoded ? QueryUnescape(v) : v);
  }
  return out;
}

void AddMetadata(grpc::ClientContext& context, const std::string& key,
                 const std::vector<std::string>& values) {
  bool encode = NeedsEncoding(values);
  for (const auto& v : values) {
    context.AddMetadata(key, encode ? QueryEscape(v) : v);
  }
  if (encode) context.AddMetadata(key + "-encoded", "1");
}

std::string RandomId(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kAlphabet[rd() % 36]);
  return out;
}

bool SendAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace kiln::session::internal
