#include "kiln/llb/encoding.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>

namespace kiln::llb {
namespace {

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string SerializeDeterministic(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string MarshalOp(const pb::Op& op, OpEncoding encoding) {
  if (encoding == OpEncoding::kFieldNumber || op.op_case() == pb::Op::OP_NOT_SET) {
    return SerializeDeterministic(op);
  }
  // protobuf-go: non-oneof fields by number, then the oneof member, then
  // unknown fields.
  pb::Op base = op;
  base.clear_op();
  base.GetReflection()->MutableUnknownFields(&base)->Clear();
  std::string out = SerializeDeterministic(base);

  const google::protobuf::Reflection* reflection = op.GetReflection();
  const google::protobuf::FieldDescriptor* member =
      reflection->GetOneofFieldDescriptor(op, pb::Op::descriptor()->FindOneofByName("op"));
  std::string body = SerializeDeterministic(reflection->GetMessage(op, member));
  AppendVarint(&out, (static_cast<uint64_t>(member->number()) << 3) | 2);
  AppendVarint(&out, body.size());
  out += body;

  std::string unknown;
  reflection->GetUnknownFields(op).SerializeToString(&unknown);
  out += unknown;
  return out;
}

}  // namespace kiln::llb
