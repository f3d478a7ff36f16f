// ParseMount: one `RUN --mount=` spec, as upstream's parseMount and
// validateMount (commands_runmount.go).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "go_values.h"
#include "kiln/dockerfile/instructions.h"
#include "suggest.h"

namespace kiln::dockerfile {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const std::vector<std::string>& MountTypeNames() {
  static const std::vector<std::string> kNames = {"bind", "cache", "tmpfs",
                                                  "secret", "ssh"};
  return kNames;
}

const std::vector<std::string>& SharingNames() {
  static const std::vector<std::string> kNames = {"shared", "private",
                                                  "locked"};
  return kNames;
}

const std::vector<std::string>& MountKeys() {
  static const std::vector<std::string> kKeys = {
      "type", "from",      "source",   "target",      "readonly",
      "id",   "sharing",   "required", "mode",        "uid",
      "gid",  "src",       "dst",      "destination", "ro",
      "rw",   "readwrite", "size",     "env"};
  return kKeys;
}

// "\"text\"", built by appending (GCC 12 warns falsely on `"\"" + s`).
std::string Quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  out.append(text);
  out.push_back('"');
  return out;
}

bool AllowsRequired(MountType type) {
  return type == MountType::kSecret || type == MountType::kSsh;
}

Status UnexpectedKey(std::string_view key, MountType type) {
  return InvalidArgumentError("unexpected key '" + std::string(key) +
                              "' for mount type '" +
                              std::string(MountTypeName(type)) + "'");
}

Status InvalidValue(std::string_view key, std::string_view value) {
  return InvalidArgumentError("invalid value for " + std::string(key) + ": " +
                              std::string(value));
}

Status Validate(Mount* m, bool read_only_auto) {
  const bool file_info_allowed = m->type == MountType::kSecret ||
                                 m->type == MountType::kSsh ||
                                 m->type == MountType::kCache;
  const std::string quoted_type = Quoted(MountTypeName(m->type));
  if (!file_info_allowed) {
    if (m->mode)
      return InvalidArgumentError("mode not allowed for " + quoted_type +
                                  " type mounts");
    if (m->uid)
      return InvalidArgumentError("uid not allowed for " + quoted_type +
                                  " type mounts");
    if (m->gid)
      return InvalidArgumentError("gid not allowed for " + quoted_type +
                                  " type mounts");
  }
  if (read_only_auto) {
    m->read_only =
        !(m->type == MountType::kCache || m->type == MountType::kTmpfs);
  }
  if (m->type == MountType::kSecret) {
    if (!m->from.empty())
      return InvalidArgumentError("secret mount should not have a from");
    if (m->sharing)
      return InvalidArgumentError("secret mount should not define sharing");
    if (m->source.empty() && m->target.empty() && m->id.empty() && !m->env)
      return InvalidArgumentError(
          "invalid secret mount: one of source, target, id or env required");
    if (!m->source.empty() && !m->id.empty())
      return InvalidArgumentError("both source and id can't be set");
  }
  if (m->sharing && m->type != MountType::kCache) {
    return InvalidArgumentError("invalid cache sharing set for " +
                                std::string(MountTypeName(m->type)) + " mount");
  }
  return Status::Ok();
}

// Applies one `key=value` field whose value is final.
Status ApplyField(Mount* m, const std::string& key, const std::string& value,
                  const std::string& field, bool* read_only_auto) {
  if (key == "type") {
    const std::string lower = Lower(value);
    for (size_t i = 0; i < MountTypeNames().size(); ++i) {
      if (MountTypeNames()[i] == lower) {
        m->type = static_cast<MountType>(i);
        return Status::Ok();
      }
    }
    return InvalidArgumentError(
        WithSuggestion("unsupported mount type " + Quoted(value), value,
                       MountTypeNames(), true));
  }
  if (key == "from") {
    m->from = value;
  } else if (key == "source" || key == "src") {
    m->source = value;
  } else if (key == "target" || key == "dst" || key == "destination") {
    m->target = value;
  } else if (key == "readonly" || key == "ro" || key == "readwrite" ||
             key == "rw") {
    std::optional<bool> b = govalue::ParseBool(value);
    if (!b) return InvalidValue(key, value);
    m->read_only = (key == "readonly" || key == "ro") ? *b : !*b;
    *read_only_auto = false;
  } else if (key == "required") {
    if (!AllowsRequired(m->type)) return UnexpectedKey(key, m->type);
    std::optional<bool> b = govalue::ParseBool(value);
    if (!b) return InvalidValue(key, value);
    m->required = *b;
  } else if (key == "size") {
    if (m->type != MountType::kTmpfs) return UnexpectedKey(key, m->type);
    std::optional<int64_t> size = govalue::RamInBytes(value);
    if (!size) return InvalidValue(key, value);
    m->size_limit = *size;
  } else if (key == "env") {
    if (m->type != MountType::kSecret) return UnexpectedKey(key, m->type);
    m->env = value;
  } else if (key == "id") {
    m->id = value;
  } else if (key == "sharing") {
    const std::string lower = Lower(value);
    for (size_t i = 0; i < SharingNames().size(); ++i) {
      if (SharingNames()[i] == lower) {
        m->sharing = static_cast<MountSharing>(i);
        return Status::Ok();
      }
    }
    return InvalidArgumentError(
        WithSuggestion("unsupported sharing value " + Quoted(value), value,
                       SharingNames(), true));
  } else if (key == "mode" || key == "uid" || key == "gid") {
    std::optional<uint64_t> n =
        govalue::ParseUint(value, key == "mode" ? 8 : 10, 0xFFFFFFFFu);
    if (!n)
      return InvalidArgumentError("invalid value " + value + " for " + key);
    std::optional<uint32_t>& slot =
        key == "mode" ? m->mode : (key == "uid" ? m->uid : m->gid);
    slot = static_cast<uint32_t>(*n);
  } else {
    return InvalidArgumentError(
        WithSuggestion("unexpected key '" + key + "' in '" + field + "'", key,
                       MountKeys(), true));
  }
  return Status::Ok();
}

}  // namespace

std::string_view MountTypeName(MountType type) {
  return MountTypeNames()[static_cast<size_t>(type)];
}

std::string_view MountSharingName(MountSharing sharing) {
  return SharingNames()[static_cast<size_t>(sharing)];
}

Result<Mount> ParseMount(std::string_view spec,
                         const MountValueExpander* expand) {
  Result<std::vector<std::string>> fields = govalue::ReadCsvRecord(spec);
  if (!fields.ok())
    return fields.status().WithContext("failed to parse csv mounts");
  Mount m;
  m.spec = std::string(spec);
  bool read_only_auto = true;
  bool type_deferred = false;
  for (const std::string& field : *fields) {
    const size_t equals = field.find('=');
    const std::string key = Lower(field.substr(0, equals));
    if (equals == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.read_only = true;
        read_only_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.read_only = false;
        read_only_auto = false;
      } else if (key == "required") {
        if (!AllowsRequired(m.type) && !type_deferred)
          return UnexpectedKey(key, m.type);
        m.required = true;
      } else {
        return InvalidArgumentError("invalid field '" + field +
                                    "' must be a key=value pair");
      }
      continue;
    }
    std::string value = field.substr(equals + 1);
    if (std::find(MountKeys().begin(), MountKeys().end(), key) ==
        MountKeys().end()) {
      return InvalidArgumentError(
          WithSuggestion("unexpected key '" + key + "' in '" + field + "'", key,
                         MountKeys(), true));
    }
    if (key == "from") {
      if (value.find('$') != std::string::npos &&
          value.find('$') + 1 < value.size()) {
        return InvalidArgumentError(
            "'from' doesn't support variable expansion, define alias stage "
            "instead");
      }
    } else if (expand != nullptr) {
      KILN_ASSIGN_OR_RETURN(value, (*expand)(value));
    } else if (value.find('$') != std::string::npos) {
      // Parse time: the converter parses this spec again with an expander.
      m.deferred = true;
      if (key == "type") type_deferred = true;
      if (key == "source" || key == "src") m.source = value;
      if (key == "target" || key == "dst" || key == "destination")
        m.target = value;
      if (key == "id") m.id = value;
      if (key == "env") m.env = value;
      continue;
    }
    if (type_deferred && key != "type" &&
        (key == "required" || key == "size" || key == "env")) {
      continue;  // type-dependent: checked once the type is known
    }
    KILN_RETURN_IF_ERROR(ApplyField(&m, key, value, field, &read_only_auto));
  }
  if (type_deferred) return m;
  KILN_RETURN_IF_ERROR(Validate(&m, read_only_auto));
  return m;
}

}  // namespace kiln::dockerfile
