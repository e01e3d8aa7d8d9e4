#include "flow_tracker.h"

#include <algorithm>
#include <limits>

#include "clock.h"

namespace pcapd {

namespace {

// RFC 1982 serial comparison: `a` is `b` or later, across the 2^32 wrap.
bool SeqAtOrAfter(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

}  // namespace

bool FlowTracker::OnPacket(int linktype, const PacketRecord& packet) {
  if (options_.idleNs != 0) {
    if (idleClockStarted_) {
      // One vDSO clock read per packet, paid by idle-watching flow captures only.
      lastActivityMonoNs_ = std::max(lastActivityMonoNs_, MonotonicNs());
    } else {
      anyPacketBeforeClock_ = true;
      newestPacketNs_ = std::max(newestPacketNs_, packet.timestampNs);
    }
  }
  if (!options_.tcpClose) return false;
  TcpSegment segment;
  if (!ParseTcpSegment(linktype, packet.data, packet.caplen, packet.origlen, segment)) return false;
  return OnTcpSegment(segment);
}

bool FlowTracker::OnTcpSegment(const TcpSegment& segment) {
  if (!locked_) {
    sides_[0].endpoint = segment.source;
    sides_[1].endpoint = segment.destination;
    locked_ = true;
  }
  size_t from = 0;
  if (segment.source == sides_[0].endpoint && segment.destination == sides_[1].endpoint) {
    from = 0;
  } else if (segment.source == sides_[1].endpoint && segment.destination == sides_[0].endpoint) {
    from = 1;
  } else {
    return false;  // another connection the filter lets through
  }
  if ((segment.flags & TcpSegment::kRst) != 0) return true;

  Side& sender = sides_[from];
  Side& peer = sides_[1 - from];
  // The ACK first: a FIN+ACK may acknowledge the peer's FIN while sending its own.
  if ((segment.flags & TcpSegment::kAck) != 0 && peer.finSeen && !peer.finAcked &&
      SeqAtOrAfter(segment.ack, peer.finEndSeq)) {
    peer.finAcked = true;
  }
  if ((segment.flags & TcpSegment::kFin) != 0 && segment.lengthKnown && !sender.finSeen) {
    sender.finSeen = true;
    const uint32_t synBytes = (segment.flags & TcpSegment::kSyn) != 0 ? 1 : 0;
    sender.finEndSeq = segment.seq + segment.payloadBytes + synBytes + 1;  // wraps mod 2^32
  }
  return sides_[0].finAcked && sides_[1].finAcked;
}

void FlowTracker::StartIdleClock(uint64_t nowNs, uint64_t nowMonoNs) {
  idleClockStarted_ = true;
  const uint64_t ageNs = anyPacketBeforeClock_ && nowNs > newestPacketNs_ ? nowNs - newestPacketNs_ : 0;
  lastActivityMonoNs_ = nowMonoNs - std::min(ageNs, nowMonoNs);
}

uint64_t FlowTracker::IdleDeadlineMonoNs() const {
  constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  if (options_.idleNs == 0 || !idleClockStarted_) return kNever;
  return lastActivityMonoNs_ > kNever - options_.idleNs ? kNever : lastActivityMonoNs_ + options_.idleNs;
}

}  // namespace pcapd
