// Private helpers for reading and writing OCI JSON documents (oci.cc,
// oci_config.cc): a field reader that records the first error with its path,
// and writers that leave out empty optional fields.
#ifndef KILN_SOLVER_SRC_OCI_JSON_H_
#define KILN_SOLVER_SRC_OCI_JSON_H_

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"

namespace kiln::solver::oci::internal {

using Json = nlohmann::ordered_json;

// Reads typed fields out of a JSON object, remembering the first error with
// the path of the field ("manifest: layers[2]: digest: …").
class Reader {
 public:
  Reader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  bool IsObject() {
    if (j_.is_object()) return true;
    Fail(path_, "not a JSON object");
    return false;
  }
  const Json* Field(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  void String(const char* key, std::string* out) {
    if (const Json* v = Field(key)) {
      if (v->is_string())
        *out = v->get<std::string>();
      else
        Fail(Path(key), "not a string");
    }
  }
  template <typename Int>
  void Integer(const char* key, Int* out) {
    if (const Json* v = Field(key)) {
      if (v->is_number_integer())
        *out = v->get<Int>();
      else
        Fail(Path(key), "not an integer");
    }
  }
  void Bool(const char* key, bool* out) {
    if (const Json* v = Field(key)) {
      if (v->is_boolean())
        *out = v->get<bool>();
      else
        Fail(Path(key), "not a boolean");
    }
  }
  void Strings(const char* key, std::vector<std::string>* out) {
    const Json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_array()) return Fail(Path(key), "not an array");
    for (const Json& e : *v) {
      if (!e.is_string()) return Fail(Path(key), "holds a non-string");
      out->push_back(e.get<std::string>());
    }
  }
  void OptionalStrings(const char* key,
                       std::optional<std::vector<std::string>>* out) {
    if (Field(key) == nullptr) return;
    out->emplace();
    Strings(key, &**out);
  }
  // A JSON object used as a set ({"80/tcp":{}}): its keys, sorted.
  void KeySet(const char* key, std::vector<std::string>* out) {
    const Json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_object()) return Fail(Path(key), "not an object");
    for (auto it = v->begin(); it != v->end(); ++it) out->push_back(it.key());
    std::sort(out->begin(), out->end());
  }
  void StringMap(const char* key, std::map<std::string, std::string>* out) {
    const Json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_object()) return Fail(Path(key), "not an object");
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string())
        return Fail(Path(key) + "." + it.key(), "not a string");
      (*out)[it.key()] = it->get<std::string>();
    }
  }
  void DigestField(const char* key, Digest* out, bool required) {
    std::string text;
    String(key, &text);
    if (text.empty()) {
      if (required && status_.ok()) Fail(Path(key), "missing");
      return;
    }
    auto d = Digest::Parse(text);
    if (!d.ok()) return Fail(Path(key), d.status().message());
    *out = *d;
  }

  std::string Path(const char* key) const { return path_ + "." + key; }
  void Fail(const std::string& where, std::string_view what) {
    if (status_.ok())
      status_ = InvalidArgumentError(where + ": " + std::string(what));
  }
  void Merge(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  const Status& status() const { return status_; }

 private:
  const Json& j_;
  std::string path_;
  Status status_;
};

inline Result<Json> ParseJson(std::string_view text, std::string_view what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return InvalidArgumentError(std::string(what) + ": not valid JSON");
  return j;
}

inline void PutIf(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
inline void PutIf(Json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}
inline void PutIf(Json& j, const char* key,
                  const std::map<std::string, std::string>& v) {
  if (!v.empty()) j[key] = v;
}
inline void PutKeySet(Json& j, const char* key,
                      const std::vector<std::string>& v) {
  if (v.empty()) return;
  Json set = Json::object();
  for (const auto& k : v) set[k] = Json::object();
  j[key] = std::move(set);
}

inline std::string Dump(const Json& j) {
  // Go's encoding/json escapes <, > and & in strings; nlohmann does not, so
  // kiln-made documents differ from Go-made ones only there. Both are valid.
  // Invalid UTF-8 (which Go would also replace) becomes U+FFFD.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace kiln::solver::oci::internal

#endif  // KILN_SOLVER_SRC_OCI_JSON_H_
