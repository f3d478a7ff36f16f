// Streaming sha256 over OpenSSL's EVP interface, for blobs too large to hold
// in memory (content store writers, layer tars). Private to solver-core.
//
// Thread safety: one hasher per thread; distinct hashers are independent.
#ifndef KILN_SOLVER_SRC_SHA256_HASHER_H_
#define KILN_SOLVER_SRC_SHA256_HASHER_H_

#include <openssl/evp.h>

#include <array>
#include <string_view>

#include "kiln/llb/digest.h"

namespace kiln::solver::internal {

class Sha256Hasher {
 public:
  Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
    KILN_CHECK(
        ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1,
        "sha256 init failed");
  }
  ~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view data) {
    KILN_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1,
               "sha256 update failed");
  }

  // The digest of everything passed to Update(); call once.
  Digest Finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    KILN_CHECK(EVP_DigestFinal_ex(ctx_, md.data(), &len) == 1 && len == 32,
               "sha256 final failed");
    auto hex = HexEncode(
        std::string_view(reinterpret_cast<const char*>(md.data()), len));
    return *Digest::Parse("sha256:" + hex);
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SHA256_HASHER_H_
