// When a time-cut segment ends. Plain: a period after the segment began.
// Aligned: on the next multiple of the period in wall-clock time (UTC), so
// hourly files start on the hour and the first segment is shortened to reach
// that boundary.
//
// A boundary is a packet timestamp: the first packet stamped at or after it
// opens the next segment (CaptureOutput::CutAt), so each file holds exactly
// the packets of its period whatever the thread's timing. The timer deadline
// is kept on the monotonic clock, as every limit is, a grace period after the
// boundary: by then the packets stamped before it have been read (a ring
// block retires within 1 ms; several interfaces hold packets 20 ms to merge
// them), and a segment that saw no later packet is still closed on time.
//
// Runs on the thread that feeds the capture (a cold capture's own thread or a
// warm interface's reader).
#pragma once

#include <cstdint>
#include <limits>

namespace pcapd {

class SegmentClock {
 public:
  static constexpr uint64_t kGraceNs = 100'000'000;

  SegmentClock(uint64_t periodNs, bool align) : periodNs_(periodNs), align_(align) {}

  bool enabled() const { return periodNs_ != 0; }

  // A segment begins now: at arming, after a byte cut or a rotate.
  void Restart(uint64_t nowMonoNs, uint64_t nowRealNs) {
    if (periodNs_ == 0) return;
    const uint64_t untilBoundaryNs = align_ ? periodNs_ - nowRealNs % periodNs_ : periodNs_;
    boundaryRealNs_ = nowRealNs + untilBoundaryNs;
    deadlineMonoNs_ = nowMonoNs + untilBoundaryNs + kGraceNs;
  }
  // The boundary passed (the timer cut): the next period follows it without drift.
  void Advance() {
    boundaryRealNs_ += periodNs_;
    deadlineMonoNs_ += periodNs_;
  }
  bool Due(uint64_t nowMonoNs) const { return periodNs_ != 0 && nowMonoNs >= deadlineMonoNs_; }
  // UINT64_MAX when segments are not cut by time.
  uint64_t DeadlineMonoNs() const { return periodNs_ == 0 ? std::numeric_limits<uint64_t>::max() : deadlineMonoNs_; }
  uint64_t BoundaryRealNs() const { return boundaryRealNs_; }

 private:
  uint64_t periodNs_;
  bool align_;
  uint64_t boundaryRealNs_ = 0;
  uint64_t deadlineMonoNs_ = std::numeric_limits<uint64_t>::max();
};

}  // namespace pcapd
