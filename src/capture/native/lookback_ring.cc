#include "lookback_ring.h"

#include <cstring>

namespace pcapd {

namespace {

constexpr size_t kAlign = 8;
constexpr size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

}  // namespace

LookbackRing::LookbackRing(size_t capacityBytes, uint64_t maxAgeNs)
    : capacity_(capacityBytes & ~(kAlign - 1)), maxAgeNs_(maxAgeNs) {
  if (capacity_ == 0) return;
  arena_ = std::make_unique_for_overwrite<uint8_t[]>(capacity_);
  // Touched now, so the ring's memory is resident from the start (and counted
  // in RSS and the memory budget) rather than growing into it under load.
  std::memset(arena_.get(), 0, capacity_);
}

size_t LookbackRing::RecordBytes(uint32_t caplen) { return AlignUp(sizeof(Header) + caplen); }

const LookbackRing::Header& LookbackRing::HeaderAt(size_t offset) const {
  return *reinterpret_cast<const Header*>(arena_.get() + offset);
}

size_t LookbackRing::Next(size_t offset) const {
  size_t next = offset + RecordBytes(HeaderAt(offset).caplen);
  if (next == head_) return next;
  if (next + sizeof(Header) > capacity_ || HeaderAt(next).caplen == kWrapMark) return 0;
  return next;
}

void LookbackRing::EvictOldest() {
  bytesHeld_ -= RecordBytes(HeaderAt(tail_).caplen);
  --records_;
  if (records_ == 0) {
    tail_ = head_ = 0;
    bytesHeld_ = 0;
  } else {
    tail_ = Next(tail_);
  }
}

// Where a record of `bytes` goes, evicting the oldest until it fits.
size_t LookbackRing::Allocate(size_t bytes) {
  for (;;) {
    if (records_ == 0) {
      tail_ = head_ = 0;
      return 0;
    }
    if (head_ > tail_) {  // live data in [tail_, head_)
      if (capacity_ - head_ >= bytes) return head_;
      if (tail_ >= bytes) {
        if (capacity_ - head_ >= sizeof(Header)) {
          auto* mark = reinterpret_cast<Header*>(arena_.get() + head_);
          mark->caplen = kWrapMark;
        }
        return 0;
      }
    } else if (tail_ - head_ >= bytes) {  // wrapped: free space is [head_, tail_)
      return head_;
    }
    EvictOldest();
  }
}

void LookbackRing::Append(uint64_t timestampNs, uint32_t caplen, uint32_t origlen, const uint8_t* data) {
  const size_t bytes = RecordBytes(caplen);
  if (bytes > capacity_) return;
  const size_t offset = Allocate(bytes);
  auto* header = reinterpret_cast<Header*>(arena_.get() + offset);
  header->timestampNs = timestampNs;
  header->caplen = caplen;
  header->origlen = origlen;
  std::memcpy(arena_.get() + offset + sizeof(Header), data, caplen);
  head_ = offset + bytes;
  ++records_;
  bytesHeld_ += bytes;
  Publish();
}

void LookbackRing::ExpireBefore(uint64_t nowNs) {
  if (maxAgeNs_ == 0 || nowNs < maxAgeNs_) return;
  const uint64_t cutoff = nowNs - maxAgeNs_;
  bool evicted = false;
  while (records_ > 0 && HeaderAt(tail_).timestampNs < cutoff) {
    EvictOldest();
    evicted = true;
  }
  if (evicted) Publish();
}

void LookbackRing::ForEachSince(uint64_t sinceNs, const std::function<bool(const Packet&)>& visit) const {
  size_t offset = tail_;
  for (uint64_t i = 0; i < records_; ++i) {
    const Header& header = HeaderAt(offset);
    if (header.timestampNs >= sinceNs) {
      const Packet packet{header.timestampNs, header.caplen, header.origlen, arena_.get() + offset + sizeof(Header)};
      if (!visit(packet)) return;
    }
    offset = Next(offset);
  }
}

void LookbackRing::Publish() {
  used_.store(bytesHeld_, std::memory_order_relaxed);
  count_.store(records_, std::memory_order_relaxed);
  oldestNs_.store(records_ == 0 ? 0 : HeaderAt(tail_).timestampNs, std::memory_order_relaxed);
}

}  // namespace pcapd
