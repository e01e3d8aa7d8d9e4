// One capture attached to a warm interface: its own BPF program, limits,
// recorder and events, fed by the interface's WarmReader instead of a handle
// of its own. Attaching costs no ring build: it is a message to the reader's
// thread, which arms the capture between two reads of the shared ring, serves
// its lookback from the ring of recent packets first, then goes on live, so
// nothing is missed or written twice at the boundary.
//
// Threads: the constructor, Start(), RequestStop(), packets() and bytes() run
// on the JavaScript thread; Arm(), OnPacket(), Tick() and End() on the
// reader's thread only.
#pragma once

#include <pcap/pcap.h>

#include <atomic>
#include <memory>
#include <string>

#include "capture_control.h"
#include "capture_output.h"
#include "filter_program.h"
#include "lookback_ring.h"
#include "segment_clock.h"

namespace pcapd {

class WarmReader;

struct WarmCaptureOptions {
  OutputOptions output;
  std::string filter;
  std::string description;
  uint32_t snaplen = 262144;
  uint64_t durationNs = 0;    // wall clock from arming; 0: no limit
  uint64_t idleNs = 0;        // since the last packet, counted after the first; 0: off
  uint64_t segmentNs = 0;     // cut a new segment this often; 0: off
  bool segmentAlign = false;  // cut on multiples of segmentNs in UTC (segment_clock.h)
  uint64_t lookbackNs = 0;    // start with the ring's packets of this many ns before arming
};

class WarmCapture final : public CaptureControl, public std::enable_shared_from_this<WarmCapture> {
 public:
  // Compiles the filter for the reader's link type; throws CaptureError
  // (PCAPD_ERR_BPF_INVALID, or PCAPD_ERR_INTERFACE_DOWN when the reader is not up).
  WarmCapture(std::shared_ptr<WarmReader> reader, WarmCaptureOptions options, std::unique_ptr<EventSink> sink);

  void Start() override;
  void RequestStop(StopReason reason) override;
  void RequestRotate() override;
  void Join() override {}  // no thread of its own
  uint64_t packets() const override { return output_.packets(); }
  uint64_t bytes() const override { return output_.bytes(); }
  uint32_t segment() const override { return output_.segment(); }

  // ---- the reader's thread ----

  // Opens the files, writes the lookback packets and reports armed. False when
  // it failed (already reported).
  bool Arm(const InterfaceInfo& reader, const LookbackRing& ring, uint64_t nowNs, uint64_t nowMonoNs);
  void OnPacket(const pcap_pkthdr& header, const u_char* data, uint64_t timestampNs, uint64_t nowMonoNs);
  // Applies stop requests and time limits; ends the capture when one is due.
  void Tick(uint64_t nowMonoNs);
  // Ends it now (the interface went away, or the reader is closing).
  void End(StopReason reason, const std::string& errorMessage);
  // When the reader must look at this capture again at the latest (monotonic ns).
  uint64_t NextDeadlineMonoNs() const;
  bool ended() const { return ended_; }
  // Fails a capture that never armed (the reader closed before it could).
  void Fail(const std::string& code, const std::string& message);

 private:
  void ReadCounters(std::vector<InterfaceCounters>& counters) const;
  void BeginStop(StopReason reason, uint64_t nowMonoNs);

  std::shared_ptr<WarmReader> reader_;
  WarmCaptureOptions options_;
  std::unique_ptr<EventSink> sink_;
  FilterProgram filter_;
  CaptureOutput output_;
  std::atomic<StopReason> requested_{StopReason::kNone};
  std::atomic<bool> rotateRequested_{false};

  InterfaceCounters baseline_;  // the reader's counters when this capture armed
  StopReason stopping_ = StopReason::kNone;
  uint64_t stopCutoffNs_ = 0;  // packets stamped after the stop are not written
  uint64_t stopAtMonoNs_ = 0;  // when the drain after a time-based stop ends
  uint64_t startNs_ = 0;
  uint64_t startMonoNs_ = 0;
  uint64_t lastArrivalMonoNs_ = 0;
  SegmentClock segmentClock_;
  uint32_t segmentsSeen_ = 0;
  uint64_t cpuAtArmNs_ = 0;
  bool anyArrival_ = false;
  bool ended_ = false;
};

}  // namespace pcapd
