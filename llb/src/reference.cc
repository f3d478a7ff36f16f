#include "kiln/llb/reference.h"

#include <algorithm>
#include <cctype>

#include "kiln/llb/digest.h"

namespace kiln::llb {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr size_t kNameTotalLengthMax = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// path-component: [a-z0-9]+ ( ( [_.] | __ | -+ ) [a-z0-9]+ )*
bool ValidPathComponent(std::string_view s) {
  size_t i = 0;
  auto alnum_run = [&] {
    size_t start = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

// domain-component: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool ValidDomainComponent(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

// host[:port] where host is a dotted name or a bracketed IPv6 address.
bool ValidDomain(std::string_view s) {
  std::string_view host = s;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view v6 = s.substr(1, close - 1);
    if (v6.empty() || !std::all_of(v6.begin(), v6.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return false;
    }
    std::string_view rest = s.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':' || rest.size() == 1) return false;
    rest.remove_prefix(1);
    return std::all_of(rest.begin(), rest.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  }
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    host = s.substr(0, colon);
    std::string_view port = s.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view comp =
        host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!ValidDomainComponent(comp)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// tag: [\w][\w.-]{0,127}
bool ValidTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !IsWord(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsWord(c) || c == '.' || c == '-'; });
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string ImageReference::Name() const { return domain + "/" + path; }

std::string ImageReference::String() const {
  std::string out = Name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string ImageReference::FamiliarString() const {
  std::string out;
  if (domain == kDefaultDomain) {
    std::string_view p = path;
    if (p.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix &&
        p.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
      p.remove_prefix(kOfficialRepoPrefix.size());
    }
    out = std::string(p);
  } else {
    out = Name();
  }
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageReference> ParseImageReference(std::string_view input) {
  auto fail = [&](std::string_view why) {
    return InvalidArgumentError("invalid image reference \"" + std::string(input) + "\": " +
                                std::string(why));
  };
  if (input.empty()) return fail("repository name must have at least one component");
  if (IsHex64(input)) return fail("cannot specify 64-byte hexadecimal strings");

  // Split off the registry domain the way docker does: the first component is
  // a domain only if it looks like one (has '.' or ':', is localhost, or has
  // uppercase letters).
  ImageReference ref;
  std::string_view remainder = input;
  size_t slash = input.find('/');
  std::string_view first =
      slash == std::string_view::npos ? std::string_view() : input.substr(0, slash);
  if (slash == std::string_view::npos ||
      (first.find_first_of(".:") == std::string_view::npos && first != "localhost" &&
       Lower(first) == first)) {
    ref.domain = std::string(kDefaultDomain);
  } else {
    ref.domain = std::string(first);
    remainder = input.substr(slash + 1);
  }
  if (ref.domain == kLegacyDefaultDomain) ref.domain = std::string(kDefaultDomain);

  std::string rest(remainder);
  if (ref.domain == kDefaultDomain && rest.find('/') == std::string::npos) {
    rest = std::string(kOfficialRepoPrefix) + rest;
  }

  // [name][:tag][@digest]
  std::string_view body = rest;
  size_t at = body.find('@');
  if (at != std::string_view::npos) {
    std::string_view dgst = body.substr(at + 1);
    auto parsed = Digest::Parse(dgst);
    if (!parsed.ok()) return fail(parsed.status().message());
    ref.digest = parsed->str();
    body = body.substr(0, at);
  }
  size_t last_slash = body.rfind('/');
  size_t colon = body.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = body.substr(colon + 1);
    if (!ValidTag(tag)) {
      return fail("invalid tag \"" + std::string(tag) +
                  "\" (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
    }
    ref.tag = std::string(tag);
    body = body.substr(0, colon);
  }
  if (body.empty()) return fail("repository name must have at least one component");
  if (Lower(body) != body) return fail("repository name must be lowercase");
  ref.path = std::string(body);

  if (!ValidDomain(ref.domain)) return fail("invalid registry domain \"" + ref.domain + "\"");
  size_t start = 0;
  while (true) {
    size_t next = ref.path.find('/', start);
    std::string_view comp = std::string_view(ref.path).substr(
        start, next == std::string::npos ? next : next - start);
    if (!ValidPathComponent(comp)) {
      return fail("invalid repository path component \"" + std::string(comp) + "\"");
    }
    if (next == std::string::npos) break;
    start = next + 1;
  }
  if (ref.Name().size() > kNameTotalLengthMax) {
    return fail("repository name must not be more than 255 characters");
  }
  return ref;
}

ImageReference TagNameOnly(ImageReference ref) {
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace kiln::llb
