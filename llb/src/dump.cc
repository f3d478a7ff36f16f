#include "kiln/llb/dump.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::llb {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Fields BuildKit's gogo structs declare non-nullable: their JSON tag has no
// omitempty, so zero values are printed (scalars) or null (maps).
const std::set<std::string, std::less<>>& AlwaysPrinted() {
  static const std::set<std::string, std::less<>> fields = {
      "pb.Input.digest",
      "pb.Input.index",
      "pb.Mount.input",
      "pb.Mount.output",
      "pb.FileAction.input",
      "pb.FileAction.secondaryInput",
      "pb.FileAction.output",
      "pb.NamedUserOpt.input",
      "pb.MergeInput.input",
      "pb.LowerDiffInput.input",
      "pb.UpperDiffInput.input",
      "pb.BuildInput.input",
      "pb.BuildOp.builder",
      "pb.OpMetadata.caps",
      "pb.Definition.metadata",
      "pb.Range.start",
      "pb.Range.end",
  };
  return fields;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        *out += "\\\"";
        continue;
      case '\\':
        *out += "\\\\";
        continue;
      case '\n':
        *out += "\\n";
        continue;
      case '\r':
        *out += "\\r";
        continue;
      case '\t':
        *out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      *out += "\\u00";
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
      continue;
    }
    // U+2028 and U+2029 are escaped by Go too (e2 80 a8 / e2 80 a9).
    if (c == 0xe2 && i + 2 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
         static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
      *out +=
          static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
      i += 2;
      continue;
    }
    out->push_back(static_cast<char>(c));
  }
  out->push_back('"');
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void AppendMessage(std::string* out, const Message& m);

// A scalar or message value of field `f` (repeated: element `index`).
void AppendValue(std::string* out, const Message& m, const FieldDescriptor* f,
                 int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      *out += std::to_string(rep ? r->GetRepeatedInt32(m, f, index)
                                 : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      *out += std::to_string(rep ? r->GetRepeatedInt64(m, f, index)
                                 : r->GetInt64(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      *out += std::to_string(rep ? r->GetRepeatedUInt32(m, f, index)
                                 : r->GetUInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      *out += std::to_string(rep ? r->GetRepeatedUInt64(m, f, index)
                                 : r->GetUInt64(m, f));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      *out += (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                  ? "true"
                  : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      *out += std::to_string(rep ? r->GetRepeatedEnumValue(m, f, index)
                                 : r->GetEnumValue(m, f));
      break;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
              : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        AppendJsonString(out, Base64(s));
      } else {
        AppendJsonString(out, s);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      AppendMessage(
          out, rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      // LLB has no floating-point fields.
      *out += "0";
      break;
  }
}

bool IsZeroScalar(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(m, f) == 0;
    case FieldDescriptor::CPPTYPE_INT64:
      return r->GetInt64(m, f) == 0;
    case FieldDescriptor::CPPTYPE_UINT32:
      return r->GetUInt32(m, f) == 0;
    case FieldDescriptor::CPPTYPE_UINT64:
      return r->GetUInt64(m, f) == 0;
    case FieldDescriptor::CPPTYPE_BOOL:
      return !r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnumValue(m, f) == 0;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      return r->GetStringReference(m, f, &scratch).empty();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return !r->HasField(m, f);
    default:
      return true;
  }
}

void AppendMap(std::string* out, const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* key = f->message_type()->map_key();
  const FieldDescriptor* value = f->message_type()->map_value();
  std::vector<std::pair<std::string, const Message*>> entries;
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    const Message& e = r->GetRepeatedMessage(m, f, i);
    std::string scratch;
    entries.emplace_back(
        e.GetReflection()->GetStringReference(e, key, &scratch), &e);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out->push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(out, entries[i].first);
    out->push_back(':');
    AppendValue(out, *entries[i].second, value, 0);
  }
  out->push_back('}');
}

void AppendMessage(std::string* out, const Message& m) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  auto key = [&](std::string_view name) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, name);
    out->push_back(':');
  };
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const auto* oneof = f->real_containing_oneof();
    if (oneof != nullptr) {
      // Go renders the oneof interface field once, where its first member is
      // declared, named after the oneof in CamelCase; unset is null.
      if (oneof->field(0) != f) continue;
      std::string name(oneof->name());
      name[0] =
          static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      key(name);
      const FieldDescriptor* set = r->GetOneofFieldDescriptor(m, oneof);
      if (set == nullptr) {
        *out += "null";
      } else if (set->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE &&
                 IsZeroScalar(m, set)) {
        *out += "{}";
      } else {
        out->push_back('{');
        AppendJsonString(out, set->name());
        out->push_back(':');
        AppendValue(out, m, set, 0);
        out->push_back('}');
      }
      continue;
    }
    const bool always = AlwaysPrinted().contains(f->full_name());
    if (f->is_map()) {
      if (r->FieldSize(m, f) == 0) {
        if (always) {
          key(f->name());
          *out += "null";
        }
        continue;
      }
      key(f->name());
      AppendMap(out, m, f);
    } else if (f->is_repeated()) {
      int n = r->FieldSize(m, f);
      if (n == 0) continue;
      key(f->name());
      out->push_back('[');
      for (int j = 0; j < n; ++j) {
        if (j) out->push_back(',');
        AppendValue(out, m, f, j);
      }
      out->push_back(']');
    } else {
      if (IsZeroScalar(m, f) && !always) continue;
      key(f->name());
      AppendValue(out, m, f, 0);  // an absent non-nullable message prints as {}
    }
  }
  out->push_back('}');
}

std::string DotEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

std::string DotLabel(const LoadedOp& op, const pb::OpMetadata* md) {
  if (md != nullptr) {
    auto it = md->description().find("llb.customname");
    if (it != md->description().end()) return it->second;
  }
  const pb::Op& o = op.op;
  switch (o.op_case()) {
    case pb::Op::kSource:
      return o.source().identifier();
    case pb::Op::kExec: {
      std::string args;
      for (const auto& a : o.exec().meta().args()) {
        if (!args.empty()) args += ' ';
        args += a;
      }
      return args;
    }
    case pb::Op::kFile: {
      std::string label = "file";
      for (const auto& a : o.file().actions()) {
        switch (a.action_case()) {
          case pb::FileAction::kCopy:
            label += " copy " + a.copy().src() + " " + a.copy().dest();
            break;
          case pb::FileAction::kMkfile:
            label += " mkfile " + a.mkfile().path();
            break;
          case pb::FileAction::kMkdir:
            label += " mkdir " + a.mkdir().path();
            break;
          case pb::FileAction::kRm:
            label += " rm " + a.rm().path();
            break;
          case pb::FileAction::kSymlink:
            label += " symlink " + a.symlink().newpath();
            break;
          case pb::FileAction::ACTION_NOT_SET:
            break;
        }
      }
      return label;
    }
    case pb::Op::OP_NOT_SET:
      return "result";
    default:
      return std::string(OpKind(o));
  }
}

}  // namespace

std::string GoJsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string MessageToGoJson(const google::protobuf::Message& message) {
  std::string out;
  AppendMessage(&out, message);
  return out;
}

std::string DumpOpJson(const LoadedOp& op, const pb::OpMetadata* metadata) {
  std::string out = "{\"Op\":";
  AppendMessage(&out, op.op);
  out += ",\"Digest\":";
  AppendJsonString(&out, op.digest.str());
  out += ",\"OpMetadata\":";
  AppendMessage(&out, metadata != nullptr ? *metadata
                                          : pb::OpMetadata::default_instance());
  out += '}';
  return out;
}

std::string DumpJsonLines(const LoadedDefinition& def) {
  std::string out;
  for (const LoadedOp& op : def.ops) {
    out += DumpOpJson(op, def.Metadata(op.digest));
    out += '\n';
  }
  return out;
}

std::string DumpDot(const LoadedDefinition& def) {
  std::string out = "digraph {\n";
  for (const LoadedOp& op : def.ops) {
    out += "  \"" + op.digest.str() + "\" [label=\"" +
           std::string(OpKind(op.op)) + "\\n" +
           DotEscape(DotLabel(op, def.Metadata(op.digest))) +
           "\" shape=\"box\"];\n";
  }
  for (const LoadedOp& op : def.ops) {
    for (const pb::Input& in : op.op.inputs()) {
      out += "  \"" + in.digest() + "\" -> \"" + op.digest.str() +
             "\" [label=\"" + std::to_string(in.index()) + "\"];\n";
    }
  }
  out += "}\n";
  return out;
}

}  // namespace kiln::llb
