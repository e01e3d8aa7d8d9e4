// The recent packets of one warm interface, for captures that ask to start in
// the past (`lookback`). A fixed byte arena allocated and touched once, so its
// memory is real from the start and never grows: records are appended at the
// head and the oldest are evicted when space runs out or when they are older
// than the configured age. A record never straddles the end of the arena.
//
// Used only on the warm reader's thread; the counters may be read from any
// thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace pcapd {

class LookbackRing {
 public:
  struct Packet {
    uint64_t timestampNs;
    uint32_t caplen;
    uint32_t origlen;
    const uint8_t* data;
  };

  // capacityBytes 0 keeps nothing. maxAgeNs 0: bounded by bytes only.
  LookbackRing(size_t capacityBytes, uint64_t maxAgeNs);

  void Append(uint64_t timestampNs, uint32_t caplen, uint32_t origlen, const uint8_t* data);
  // Drops what is older than the age bound relative to `nowNs`.
  void ExpireBefore(uint64_t nowNs);
  // Calls `visit` for each packet with a timestamp >= sinceNs, oldest first,
  // until it returns false.
  void ForEachSince(uint64_t sinceNs, const std::function<bool(const Packet&)>& visit) const;

  size_t capacityBytes() const { return capacity_; }
  size_t usedBytes() const { return used_.load(std::memory_order_relaxed); }
  uint64_t packets() const { return count_.load(std::memory_order_relaxed); }
  // Timestamp of the oldest packet held; 0 when empty.
  uint64_t oldestNs() const { return oldestNs_.load(std::memory_order_relaxed); }

 private:
  struct Header {
    uint64_t timestampNs;
    uint32_t caplen;  // kWrapMark: the records continue at offset 0
    uint32_t origlen;
  };
  static constexpr uint32_t kWrapMark = 0xFFFFFFFFu;

  static size_t RecordBytes(uint32_t caplen);
  const Header& HeaderAt(size_t offset) const;
  // Offset of the record after the one at `offset` (head_ when it was the newest).
  size_t Next(size_t offset) const;
  size_t Allocate(size_t bytes);
  void EvictOldest();
  void Publish();

  size_t capacity_;
  uint64_t maxAgeNs_;
  std::unique_ptr<uint8_t[]> arena_;
  size_t tail_ = 0;  // oldest record
  size_t head_ = 0;  // where the next record goes
  uint64_t records_ = 0;
  size_t bytesHeld_ = 0;
  std::atomic<size_t> used_{0};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> oldestNs_{0};
};

}  // namespace pcapd
