// When a time-cut segment is due. Plain: a period after the segment began.
// Aligned: on the next multiple of the period in wall-clock time (UTC), so
// hourly files start on the hour and the first segment is shortened to reach
// that boundary. The deadline is kept on the monotonic clock, as every limit
// is: a wall-clock step moves at most one boundary, it never stalls rotation.
//
// Runs on the thread that feeds the capture (a cold capture's own thread or a
// warm interface's reader).
#pragma once

#include <cstdint>
#include <limits>

namespace pcapd {

class SegmentClock {
 public:
  SegmentClock(uint64_t periodNs, bool align) : periodNs_(periodNs), align_(align) {}

  // A segment begins now: at arming, after a time cut, a byte cut or a rotate.
  void Restart(uint64_t nowMonoNs, uint64_t nowRealNs) {
    if (periodNs_ == 0) return;
    deadlineMonoNs_ = nowMonoNs + (align_ ? periodNs_ - nowRealNs % periodNs_ : periodNs_);
  }
  bool Due(uint64_t nowMonoNs) const { return periodNs_ != 0 && nowMonoNs >= deadlineMonoNs_; }
  // UINT64_MAX when segments are not cut by time.
  uint64_t DeadlineMonoNs() const { return periodNs_ == 0 ? std::numeric_limits<uint64_t>::max() : deadlineMonoNs_; }

 private:
  uint64_t periodNs_;
  bool align_;
  uint64_t deadlineMonoNs_ = std::numeric_limits<uint64_t>::max();
};

}  // namespace pcapd
