// Finds the TCP header in one captured frame: link layer (Ethernet with up to
// two 802.1Q/802.1ad tags, Linux cooked v1 and v2, raw IP), then IPv4 or IPv6
// (extension headers skipped), then the fields a flow's end depends on.
//
// Every read is bounded by the captured length; a frame that is truncated,
// malformed, not TCP or a non-first fragment yields nothing. Never throws.
// Runs on whichever thread delivers packets to a capture.
#pragma once

#include <array>
#include <cstdint>

#include "format_writer.h"

namespace pcapd {

// One side of a TCP connection, comparable byte for byte. IPv4 addresses use
// the first 4 bytes of `address` and leave the rest zero.
struct TcpEndpoint {
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;
  uint8_t ipVersion = 0;

  bool operator==(const TcpEndpoint& other) const = default;
};

struct TcpSegment {
  static constexpr uint8_t kFin = 0x01;
  static constexpr uint8_t kSyn = 0x02;
  static constexpr uint8_t kRst = 0x04;
  static constexpr uint8_t kAck = 0x10;

  TcpEndpoint source;
  TcpEndpoint destination;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  // Payload bytes of the whole segment, from the IP length fields (not the
  // captured length, which a snap length may cut).
  uint32_t payloadBytes = 0;
  // False for the first fragment of a fragmented datagram: its TCP header is
  // here, but the rest of the segment is not, so its payload length is unknown.
  bool lengthKnown = true;
};

// `linktype` is the LINKTYPE_* value the capture writes (InterfaceInfo::linktype).
// `origlen` is the frame's length on the wire. True when `out` was filled.
bool ParseTcpSegment(int linktype, const uint8_t* data, uint32_t caplen, uint32_t origlen, TcpSegment& out);

}  // namespace pcapd
