#include "kiln/llb/digest.h"

#include <openssl/evp.h>

#include <array>

namespace kiln {
namespace {

const EVP_MD* Sha256() {
  // Fetched once: implicit fetching on every call costs a lock and a lookup.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 0xf];
  }
  return out;
}

Digest Digest::FromBytes(std::string_view data) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  int ok = EVP_Digest(data.data(), data.size(), md.data(), &len, Sha256(), nullptr);
  KILN_CHECK(ok == 1 && len == md.size(), "sha256 computation failed");
  return Digest("sha256:" +
                HexEncode(std::string_view(reinterpret_cast<const char*>(md.data()), len)));
}

Result<Digest> Digest::Parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError("invalid digest \"" + std::string(text) +
                                "\": expected algorithm:hex");
  }
  std::string_view algo = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  size_t want = 0;
  if (algo == "sha256") {
    want = 64;
  } else if (algo == "sha384") {
    want = 96;
  } else if (algo == "sha512") {
    want = 128;
  } else {
    return InvalidArgumentError("invalid digest \"" + std::string(text) +
                                "\": unsupported algorithm \"" + std::string(algo) + "\"");
  }
  if (hex.size() != want) {
    return InvalidArgumentError("invalid digest \"" + std::string(text) + "\": " +
                                std::string(algo) + " needs " + std::to_string(want) +
                                " hex characters, got " + std::to_string(hex.size()));
  }
  for (char c : hex) {
    bool lower_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!lower_hex) {
      return InvalidArgumentError("invalid digest \"" + std::string(text) +
                                  "\": hex must be lowercase [0-9a-f]");
    }
  }
  return Digest(std::string(text));
}

std::string_view Digest::algorithm() const {
  std::string_view t = text_;
  return t.substr(0, t.find(':'));
}

std::string_view Digest::hex() const {
  std::string_view t = text_;
  auto colon = t.find(':');
  return colon == std::string_view::npos ? std::string_view() : t.substr(colon + 1);
}

}  // namespace kiln
