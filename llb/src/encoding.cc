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

std::string MarshalOp(pb::Op* op, OpEncoding encoding) {
  if (encoding == OpEncoding::kFieldNumber || op->op_case() == pb::Op::OP_NOT_SET) {
    return SerializeDeterministic(*op);
  }
  // protobuf-go: non-oneof fields by number, then the oneof member, then
  // unknown fields. The member and unknown fields are detached for the first
  // part and put back afterwards, so no copy of the op is made.
  const google::protobuf::Reflection* reflection = op->GetReflection();
  const google::protobuf::FieldDescriptor* member =
      reflection->GetOneofFieldDescriptor(*op, pb::Op::descriptor()->FindOneofByName("op"));
  google::protobuf::UnknownFieldSet unknown;
  unknown.Swap(reflection->MutableUnknownFields(op));
  google::protobuf::Message* body = reflection->ReleaseMessage(op, member);

  std::string out = SerializeDeterministic(*op);
  std::string body_bytes = SerializeDeterministic(*body);
  AppendVarint(&out, (static_cast<uint64_t>(member->number()) << 3) | 2);
  AppendVarint(&out, body_bytes.size());
  out += body_bytes;
  std::string unknown_bytes;
  unknown.SerializeToString(&unknown_bytes);
  out += unknown_bytes;

  reflection->SetAllocatedMessage(op, body, member);
  unknown.Swap(reflection->MutableUnknownFields(op));
  return out;
}

std::string MarshalOp(const pb::Op& op, OpEncoding encoding) {
  if (encoding == OpEncoding::kFieldNumber || op.op_case() == pb::Op::OP_NOT_SET) {
    return SerializeDeterministic(op);
  }
  pb::Op copy = op;
  return MarshalOp(&copy, encoding);
}

}  // namespace kiln::llb
