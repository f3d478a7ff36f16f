// Git and http source detection and Dockerfile git-ref parsing (upstream's
// gitutil.ParseGitRef), shared by ADD <git> and git named contexts.
#include <cctype>
#include <string>
#include <string_view>

#include "convert_internal.h"

namespace kiln::dockerfile::convert {
namespace {

// Go's strconv.ParseBool; an empty value (a bare key) is true.
Result<bool> ParseBool(const std::string& key, const std::string& value) {
  if (value.empty() || value == "1" || value == "t" || value == "T" ||
      value == "true" || value == "TRUE" || value == "True") {
    return true;
  }
  if (value == "0" || value == "f" || value == "F" || value == "false" ||
      value == "FALSE" || value == "False") {
    return false;
  }
  return InvalidArgumentError("invalid git query " + key + "=" + value +
                              ": not a bool");
}

// Decodes %XX and '+' of a query component.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(
          std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool IsHttpUrl(std::string_view src) {
  return src.starts_with("http://") || src.starts_with("https://");
}

bool IsGitUrl(std::string_view src) {
  if (src.starts_with("git@") || src.starts_with("git://") ||
      src.starts_with("ssh://")) {
    return true;
  }
  if (!IsHttpUrl(src)) return false;
  std::string_view path = src.substr(0, src.find_first_of("?#"));
  return path.ends_with(".git");
}

Result<GitRef> ParseGitRef(std::string_view src) {
  GitRef out;
  std::string_view rest = src;
  std::string fragment;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  out.remote = std::string(rest);
  out.ref = fragment;
  if (query.empty()) return out;

  std::string ref;
  std::string subdir;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key = Unescape(item.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? "" : Unescape(item.substr(eq + 1));
    if (key == "ref") {
      ref = value;
    } else if (key == "tag") {
      ref = "refs/tags/" + value;
    } else if (key == "branch") {
      ref = "refs/heads/" + value;
    } else if (key == "subdir") {
      subdir = value;
    } else if (key == "checksum" || key == "commit") {
      out.checksum = value;
    } else if (key == "keep-git-dir") {
      KILN_ASSIGN_OR_RETURN(bool keep, ParseBool(key, value));
      out.keep_git_dir = keep;
    } else if (key == "submodules") {
      KILN_ASSIGN_OR_RETURN(bool sub, ParseBool(key, value));
      out.skip_submodules = !sub;
    } else if (key == "mtime") {
      if (value != "checkout" && value != "commit") {
        return InvalidArgumentError("invalid git query mtime=" + value +
                                    ": want checkout or commit");
      }
      out.mtime = value;
    } else {
      return InvalidArgumentError("unexpected git query key " + key + " in " +
                                  std::string(src));
    }
  }
  if (!fragment.empty() && (!ref.empty() || !subdir.empty())) {
    return InvalidArgumentError(
        "git ref and subdir cannot be given in both the fragment and the "
        "query of " +
        std::string(src));
  }
  if (fragment.empty()) out.ref = subdir.empty() ? ref : ref + ":" + subdir;
  return out;
}

}  // namespace kiln::dockerfile::convert
