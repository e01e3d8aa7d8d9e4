// What one capture writes: its recorder, the limits it enforces per packet
// (and, for a flow capture, the flow's end: flow_tracker.h), its
// per-interface counters and packet summaries, and the segment and done events
// it reports. Shared by the two ways packets arrive: a cold capture's own
// handles (CaptureSession) and a warm interface's shared reader (WarmReader).
//
// Runs only on the thread that delivers packets to it; packets() and bytes()
// may be read from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "capture_events.h"
#include "flow_tracker.h"
#include "recorder.h"

namespace pcapd {

struct OutputOptions {
  CaptureFormat format = CaptureFormat::kPcapng;
  SectionInfo section;
  RecorderLimits limits;
  bool packetDebug = false;
  size_t maxSummaryLines = 1000;
  // End with the flow: reason flow-end at its TCP close, flow-idle when quiet.
  FlowOptions flow;
};

class CaptureOutput {
 public:
  // `readCounters` refreshes the kernel counters of every interface before a
  // segment closes (pcap_stats of the handles that feed this capture).
  using CounterReader = std::function<void(std::vector<InterfaceCounters>&)>;

  CaptureOutput(OutputOptions options, EventSink& sink, CounterReader readCounters);

  // Adds a line to the pcapng section comment (before Open); dropped if the
  // comment would outgrow a pcapng option.
  void AppendSectionComment(const std::string& line);

  // Opens the first segment; throws CaptureError (e.g. a byte limit too small).
  void Open(std::vector<InterfaceInfo> interfaces, uint64_t startNs);
  // Recording starts now (after the handles and files were opened): the
  // first segment's file is named from this moment.
  void MarkRecordingStart(uint64_t startNs) { segmentStartNs_ = startNs; }

  // Writes one packet, cutting a segment when it is due. Returns the limit
  // this packet reached (kPackets, kBytes, or kFlowEnd when it completes the
  // flow's TCP close, which wins a tie: the file then holds the whole flow),
  // which closes writing; kError when writing failed (Finish reports why;
  // never an exception); kNone while the capture goes on. Does nothing once
  // writing is closed.
  StopReason Deliver(const PacketRecord& packet);
  bool closed() const { return closed_; }

  // Flow captures: starts the idle clock at arming, after any lookback packets
  // were written. Nothing without a flow option.
  void StartFlowClock(uint64_t nowNs, uint64_t nowMonoNs);
  // When the flow counts as idle (monotonic ns): reason flow-idle. UINT64_MAX
  // without a flow idle option.
  uint64_t FlowIdleDeadlineMonoNs() const;

  // Hands the current segment (if it holds packets) to the sink and opens the
  // next. An empty segment is not handed over, but the next file's start
  // moves to `nowNs`: a file is named from the start of the period its
  // packets fall in.
  void RotateIfNotEmpty(uint64_t nowNs);

  // Time segments: the next segment starts at `boundaryNs` (realtime). The
  // first packet stamped at or after it cuts there (segment_clock.h); so does
  // CutIfPending() when the clock's grace period ends first.
  void CutAt(uint64_t boundaryNs) { cutAtNs_ = boundaryNs; }
  void CutIfPending();

  // Closes the last segment and says how the capture ended: what the files
  // know, plus the stop reason, the error if any (a write failure's own
  // when `errorMessage` is empty), when it was armed
  // (`startNs`) and the CPU its thread spent since (`threadCpuNs`).
  DoneEvent Finish(uint64_t endNs, StopReason reason, std::string errorMessage, uint64_t startNs, uint64_t threadCpuNs);

  const std::vector<InterfaceInfo>& interfaces() const { return interfaces_; }
  // Segments handed over so far (a byte-cut segment restarts a time-based segment clock).
  uint32_t segment() const { return segment_.load(std::memory_order_relaxed); }
  uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  StopReason Write(const PacketRecord& packet);  // Deliver's work; may throw
  void RotateSegment(uint64_t nowNs);

  OutputOptions options_;
  EventSink& sink_;
  CounterReader readCounters_;
  std::vector<InterfaceInfo> interfaces_;
  std::vector<InterfaceCounters> counters_;
  std::optional<Recorder> recorder_;
  std::optional<FlowTracker> flow_;  // flow captures only: the others parse nothing
  uint64_t startNs_ = 0;
  uint64_t segmentStartNs_ = 0;
  uint64_t cutAtNs_ = 0;  // 0: no time cut pending
  bool closed_ = false;
  std::string failure_;
  std::vector<std::string> summaries_;
  uint64_t summariesOmitted_ = 0;
  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint32_t> segment_{0};
};

}  // namespace pcapd
