// The two ends of an fsutil DiffCopy as one interface, whatever carries the
// packets: FileSync's typed Packet streams (client or server side) or
// FileSend's raw messages (each one a serialized Packet). Private to
// kiln_session.
//
// Thread safety: one thread may Send while another Receives; Cancel() may be
// called from any thread.
#ifndef KILN_SESSION_SRC_PACKET_STREAM_H_
#define KILN_SESSION_SRC_PACKET_STREAM_H_

#include <grpcpp/client_context.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <grpcpp/support/sync_stream.h>

#include "fsutil/types/wire.pb.h"

namespace kiln::session::internal {

using fsutil::types::Packet;

class PacketStream {
 public:
  virtual ~PacketStream() = default;
  // False when the stream is broken or closed.
  virtual bool Send(const Packet& packet) = 0;
  // False at the end of the stream (or when it broke, or a message is not a
  // Packet).
  virtual bool Receive(Packet* packet) = 0;
  // Cancels the call: pending and later Send/Receive fail.
  virtual void Cancel() = 0;
};

// A typed stream (ServerReaderWriter<Packet, Packet> or ClientReaderWriter)
// and the context that cancels it.
template <typename Stream, typename Context>
class TypedPacketStream final : public PacketStream {
 public:
  TypedPacketStream(Stream* stream, Context* context)
      : stream_(stream), context_(context) {}
  bool Send(const Packet& packet) override { return stream_->Write(packet); }
  bool Receive(Packet* packet) override { return stream_->Read(packet); }
  void Cancel() override { context_->TryCancel(); }

 private:
  Stream* stream_;
  Context* context_;
};

// A ByteBuffer stream whose messages are serialized Packets.
template <typename Stream, typename Context>
class RawPacketStream final : public PacketStream {
 public:
  RawPacketStream(Stream* stream, Context* context)
      : stream_(stream), context_(context) {}
  bool Send(const Packet& packet) override {
    grpc::ByteBuffer buffer;
    bool own = false;
    if (!grpc::SerializationTraits<Packet>::Serialize(packet, &buffer, &own)
             .ok()) {
      return false;
    }
    return stream_->Write(buffer);
  }
  bool Receive(Packet* packet) override {
    grpc::ByteBuffer buffer;
    if (!stream_->Read(&buffer)) return false;
    return grpc::SerializationTraits<Packet>::Deserialize(&buffer, packet).ok();
  }
  void Cancel() override { context_->TryCancel(); }

 private:
  Stream* stream_;
  Context* context_;
};

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_PACKET_STREAM_H_
