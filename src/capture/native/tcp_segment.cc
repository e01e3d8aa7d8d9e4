#include "tcp_segment.h"

#include <cstring>

#include "link_types.h"

namespace pcapd {

namespace {

using namespace link;

constexpr int kMaxVlanTags = 2;

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestinationOptions = 60;
// Each extension header is at least 8 bytes, so caplen bounds the walk too;
// this bounds it for a hostile chain within a jumbo frame.
constexpr int kMaxIpv6ExtensionHeaders = 8;

constexpr size_t kIpv4MinHeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kTcpMinHeaderBytes = 20;
constexpr size_t kTcpFieldsBytes = 14;  // ports, seq, ack, data offset, flags

// The captured bytes, read only within their length.
class Frame {
 public:
  Frame(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool Has(size_t offset, size_t count) const { return offset <= size_ && count <= size_ - offset; }
  // Callers check Has() first.
  uint8_t U8(size_t offset) const { return data_[offset]; }
  uint16_t U16(size_t offset) const { return static_cast<uint16_t>((data_[offset] << 8) | data_[offset + 1]); }
  uint32_t U32(size_t offset) const {
    return (static_cast<uint32_t>(data_[offset]) << 24) | (static_cast<uint32_t>(data_[offset + 1]) << 16) |
           (static_cast<uint32_t>(data_[offset + 2]) << 8) | data_[offset + 3];
  }
  void Copy(size_t offset, size_t count, uint8_t* out) const { std::memcpy(out, data_ + offset, count); }

 private:
  const uint8_t* data_;
  size_t size_;
};

// Where the IP header starts and what the link layer says it is.
struct NetworkLayer {
  size_t offset = 0;
  uint16_t ethertype = 0;
};

// Where the TCP header starts, how many bytes the IP layer gives it (header and
// payload), and the addresses.
struct TransportLayer {
  size_t offset = 0;
  uint32_t bytes = 0;
  bool lengthKnown = true;
};

// `offset` is just past the ethertype field that said VLAN: a tag is the TCI
// and the next ethertype. The "any" device's cooked headers carry tags the same way.
bool SkipVlanTags(const Frame& frame, NetworkLayer& layer) {
  for (int tags = 0; layer.ethertype == kEthertypeVlan || layer.ethertype == kEthertypeQinq; ++tags) {
    if (tags == kMaxVlanTags || !frame.Has(layer.offset, 4)) return false;
    layer.ethertype = frame.U16(layer.offset + 2);
    layer.offset += 4;
  }
  return true;
}

bool FindNetworkLayer(int linktype, const Frame& frame, NetworkLayer& layer) {
  switch (linktype) {
    case kLinktypeEthernet:
      if (!frame.Has(0, 14)) return false;
      layer = {14, frame.U16(12)};
      return SkipVlanTags(frame, layer);
    case kLinktypeLinuxSll:  // 16-byte header, protocol last
      if (!frame.Has(0, 16)) return false;
      layer = {16, frame.U16(14)};
      return SkipVlanTags(frame, layer);
    case kLinktypeLinuxSll2:  // 20-byte header, protocol first
      if (!frame.Has(0, 20)) return false;
      layer = {20, frame.U16(0)};
      return SkipVlanTags(frame, layer);
    case kLinktypeRaw:
      if (!frame.Has(0, 1)) return false;
      layer = {0, (frame.U8(0) >> 4) == 6 ? kEthertypeIpv6 : kEthertypeIpv4};
      return true;
    case kLinktypeIpv4:
      layer = {0, kEthertypeIpv4};
      return true;
    case kLinktypeIpv6:
      layer = {0, kEthertypeIpv6};
      return true;
    default:
      return false;
  }
}

// `wireBytes`: the frame's bytes on the wire from the IP header on. An IP
// length field of 0 (a GSO super-packet, BIG TCP) defers to it.
bool ParseIpv4(const Frame& frame, size_t offset, uint32_t wireBytes, TransportLayer& transport, TcpSegment& out) {
  if (!frame.Has(offset, kIpv4MinHeaderBytes)) return false;
  const uint8_t versionIhl = frame.U8(offset);
  const uint32_t headerBytes = (versionIhl & 0x0f) * 4u;
  if ((versionIhl >> 4) != 4 || headerBytes < kIpv4MinHeaderBytes) return false;
  uint32_t totalBytes = frame.U16(offset + 2);
  if (totalBytes == 0) totalBytes = wireBytes;
  if (totalBytes < headerBytes || totalBytes > wireBytes) return false;
  const uint16_t fragment = frame.U16(offset + 6);
  if ((fragment & 0x1fff) != 0) return false;  // not the first fragment: no TCP header
  if (frame.U8(offset + 9) != kProtocolTcp) return false;
  out.source.ipVersion = out.destination.ipVersion = 4;
  frame.Copy(offset + 12, 4, out.source.address.data());
  frame.Copy(offset + 16, 4, out.destination.address.data());
  transport = {offset + headerBytes, totalBytes - headerBytes, (fragment & 0x2000) == 0};
  return true;
}

bool ParseIpv6(const Frame& frame, size_t offset, uint32_t wireBytes, TransportLayer& transport, TcpSegment& out) {
  if (!frame.Has(offset, kIpv6HeaderBytes) || (frame.U8(offset) >> 4) != 6) return false;
  if (wireBytes < kIpv6HeaderBytes) return false;
  uint32_t remaining = frame.U16(offset + 4);
  if (remaining == 0) remaining = wireBytes - kIpv6HeaderBytes;  // jumbogram or BIG TCP
  if (remaining > wireBytes - kIpv6HeaderBytes) return false;
  uint8_t next = frame.U8(offset + 6);
  size_t position = offset + kIpv6HeaderBytes;
  bool lengthKnown = true;
  for (int headers = 0; next != kProtocolTcp; ++headers) {
    if (headers == kMaxIpv6ExtensionHeaders) return false;
    uint32_t headerBytes = 0;
    switch (next) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestinationOptions:
        if (!frame.Has(position, 2)) return false;
        headerBytes = (frame.U8(position + 1) + 1u) * 8;
        break;
      case kIpv6Fragment: {
        headerBytes = 8;
        if (!frame.Has(position, headerBytes)) return false;
        const uint16_t fragment = frame.U16(position + 2);
        if ((fragment & 0xfff8) != 0) return false;  // not the first fragment: no TCP header
        lengthKnown = (fragment & 0x0001) == 0;
        break;
      }
      default:
        return false;  // another protocol, or a header we do not walk (AH, ESP)
    }
    if (headerBytes > remaining) return false;
    next = frame.U8(position);
    position += headerBytes;
    remaining -= headerBytes;
  }
  out.source.ipVersion = out.destination.ipVersion = 6;
  frame.Copy(offset + 8, 16, out.source.address.data());
  frame.Copy(offset + 24, 16, out.destination.address.data());
  transport = {position, remaining, lengthKnown};
  return true;
}

bool ParseTcp(const Frame& frame, const TransportLayer& transport, TcpSegment& out) {
  const size_t offset = transport.offset;
  if (!frame.Has(offset, kTcpFieldsBytes)) return false;
  const uint32_t headerBytes = (frame.U8(offset + 12) >> 4) * 4u;
  if (headerBytes < kTcpMinHeaderBytes || headerBytes > transport.bytes) return false;
  out.source.port = frame.U16(offset);
  out.destination.port = frame.U16(offset + 2);
  out.seq = frame.U32(offset + 4);
  out.ack = frame.U32(offset + 8);
  out.flags = frame.U8(offset + 13);
  out.payloadBytes = transport.bytes - headerBytes;
  out.lengthKnown = transport.lengthKnown;
  return true;
}

}  // namespace

bool ParseTcpSegment(int linktype, const uint8_t* data, uint32_t caplen, uint32_t origlen, TcpSegment& out) {
  if (data == nullptr) return false;
  const Frame frame(data, caplen);
  NetworkLayer network;
  if (!FindNetworkLayer(linktype, frame, network) || origlen < network.offset) return false;
  const auto wireBytes = static_cast<uint32_t>(origlen - network.offset);
  out = TcpSegment{};
  TransportLayer transport;
  switch (network.ethertype) {
    case kEthertypeIpv4:
      if (!ParseIpv4(frame, network.offset, wireBytes, transport, out)) return false;
      break;
    case kEthertypeIpv6:
      if (!ParseIpv6(frame, network.offset, wireBytes, transport, out)) return false;
      break;
    default:
      return false;
  }
  return ParseTcp(frame, transport, out);
}

}  // namespace pcapd
