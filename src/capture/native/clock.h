// The clocks the native core reads: realtime for what files and results say,
// monotonic for limits (a wall-clock step must not end or stretch a capture),
// thread CPU time for the figures benchmarks print.
#pragma once

#include <cstdint>
#include <ctime>

namespace pcapd {

inline uint64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }
inline uint64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }
inline uint64_t ThreadCpuNs() { return ClockNs(CLOCK_THREAD_CPUTIME_ID); }

}  // namespace pcapd
