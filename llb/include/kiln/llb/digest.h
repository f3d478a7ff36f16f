// Content digests in OCI form: "sha256:<64 lowercase hex>".
//
// Digest is a small value type. Only sha256 is computed; Parse() also accepts
// sha384 and sha512 digests (as OCI descriptors may carry them) so that they
// can be compared and printed, never recomputed here.
#ifndef KILN_LLB_DIGEST_H_
#define KILN_LLB_DIGEST_H_

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln {

class Digest {
 public:
  // The empty digest; valid() is false.
  Digest() = default;

  // sha256 of `data`.
  static Digest FromBytes(std::string_view data);

  // Parses "algo:hex", checking the algorithm and hex length and that the hex
  // is lowercase. Errors are InvalidArgument and quote the input.
  static Result<Digest> Parse(std::string_view text);

  bool valid() const { return !text_.empty(); }
  // "sha256:..."; empty when !valid().
  const std::string& str() const { return text_; }
  std::string_view algorithm() const;
  std::string_view hex() const;

  friend auto operator<=>(const Digest&, const Digest&) = default;
  friend bool operator==(const Digest&, const Digest&) = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Lowercase hex of raw bytes.
std::string HexEncode(std::string_view bytes);

}  // namespace kiln

template <>
struct std::hash<kiln::Digest> {
  size_t operator()(const kiln::Digest& d) const noexcept {
    return std::hash<std::string>()(d.str());
  }
};

#endif  // KILN_LLB_DIGEST_H_
