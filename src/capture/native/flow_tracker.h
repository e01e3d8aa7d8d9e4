// Decides when the one flow a capture was asked for has ended, from the
// packets the capture writes: a TCP close (both FINs acknowledged, or a RST)
// or a quiet spell (no packet for `idleNs`). The capture's BPF selects the
// flow; this only watches what passes it, so a capture without a flow option
// never constructs one and pays nothing.
//
// TCP close, per connection locked on (the first TCP segment written, warm
// lookback included, names its two endpoints; segments of any other
// connection the filter lets through are ignored):
//  - a FIN from a side records where its sequence space ends: seq + payload
//    bytes (from the IP length fields) + 1 (+ 1 more with SYN), mod 2^32. A
//    retransmitted FIN changes nothing; a FIN on the first fragment of a
//    fragmented datagram is not counted (its payload length is unknown).
//  - an ACK from the other side whose ack number is at or beyond that end
//    (serial arithmetic, RFC 1982) acknowledges it.
//  - the flow has ended when both FINs are acknowledged, or on any RST; the
//    packet that completes it is the last one written.
//
// Idle: counted from the newest packet the capture wrote (a warm capture's
// lookback packets by their timestamps, so a flow already quiet when the
// request arrives is not given a fresh idleNs), or from arming when it wrote
// none. Any packet the capture writes counts (the filter is the flow).
//
// Runs on the thread that delivers packets to the capture.
#pragma once

#include <array>
#include <cstdint>

#include "format_writer.h"
#include "tcp_segment.h"

namespace pcapd {

struct FlowOptions {
  bool tcpClose = false;  // end at the TCP close
  uint64_t idleNs = 0;    // end after this long without a packet; 0: off

  bool enabled() const { return tcpClose || idleNs != 0; }
};

class FlowTracker {
 public:
  explicit FlowTracker(FlowOptions options) : options_(options) {}

  // A packet the capture wrote; `linktype` is its interface's LINKTYPE_*.
  // True when it completes the TCP close.
  bool OnPacket(int linktype, const PacketRecord& packet);

  // Starts the idle clock at arming, after any lookback packets were written.
  void StartIdleClock(uint64_t nowNs, uint64_t nowMonoNs);
  // When the flow counts as idle (monotonic ns); UINT64_MAX while the idle
  // clock is off or not started.
  uint64_t IdleDeadlineMonoNs() const;

 private:
  struct Side {
    TcpEndpoint endpoint;
    bool finSeen = false;
    uint32_t finEndSeq = 0;  // the sequence number that acknowledges the FIN
    bool finAcked = false;
  };

  bool OnTcpSegment(const TcpSegment& segment);

  FlowOptions options_;
  bool locked_ = false;  // sides_ name the connection
  std::array<Side, 2> sides_;

  bool idleClockStarted_ = false;
  bool anyPacketBeforeClock_ = false;
  uint64_t newestPacketNs_ = 0;      // realtime stamp of the newest packet before the clock started
  uint64_t lastActivityMonoNs_ = 0;  // the idle clock counts from here
};

}  // namespace pcapd
