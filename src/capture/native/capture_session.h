// One capture: its libpcap handles, its recorder and the thread that runs it.
//
// Threads: the constructor, Start(), RequestStop(), packets(), bytes() and the
// destructor run on the JavaScript thread; Run() and everything it calls run on
// the capture thread. The capture thread reports through the EventSink only
// (armed, segment, done or failed); it never touches a JavaScript value.
//
// The capture thread never blocks inside libpcap: handles are non-blocking and
// it waits in its own poll() on their descriptors plus an eventfd, so a stop
// request from any thread is a write to that eventfd. pcap_breakloop() is used
// only by the capture thread itself, to abandon the rest of a ring block once a
// limit is reached.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "capture_control.h"
#include "capture_events.h"
#include "capture_output.h"
#include "live_source.h"
#include "segment_clock.h"
#include "wake_event.h"

namespace pcapd {

struct SessionOptions {
  std::vector<SourceOptions> sources;
  OutputOptions output;
  uint64_t durationNs = 0;    // wall clock from arming; 0: no limit (a named capture's own maxima end it)
  uint64_t idleNs = 0;        // since the last packet, counted after the first; 0: off
  uint64_t segmentNs = 0;     // cut a new segment this often; 0: off
  bool segmentAlign = false;  // cut on multiples of segmentNs in UTC (segment_clock.h)
  // With several interfaces, packets are held this long before being written so
  // that packets still in another interface's ring can be merged in timestamp
  // order (one TPACKET_V3 block timeout plus scheduling slack).
  uint64_t mergeHoldbackNs = 20'000'000;
};

class CaptureSession final : public CaptureControl {
 public:
  CaptureSession(SessionOptions options, std::unique_ptr<EventSink> sink);
  ~CaptureSession();
  CaptureSession(const CaptureSession&) = delete;
  CaptureSession& operator=(const CaptureSession&) = delete;

  void Start() override;
  // Ends the capture as soon as the capture thread sees it (any thread).
  void RequestStop(StopReason reason) override;
  void RequestRotate() override;
  void Join() override;

  // Capture threads started and not yet joined, process-wide: a finished
  // thread keeps its stack until it is joined, so this must return to the
  // number of captures running (tests and /stats read it).
  static int64_t UnjoinedThreads() { return unjoinedThreads_.load(std::memory_order_relaxed); }

  uint64_t packets() const override { return output_.packets(); }
  uint64_t bytes() const override { return output_.bytes(); }
  uint32_t segment() const override { return output_.segment(); }

 private:
  struct StagedPacket {
    PacketRecord record;
    std::unique_ptr<uint8_t[]> bytes;
  };
  struct SourceSlot {
    CaptureSession* session = nullptr;
    size_t index = 0;
  };

  // Capture thread.
  void Run();
  void OpenSources();
  void Loop();
  int PollTimeoutMs(uint64_t nowNs) const;
  bool DispatchReady(const std::vector<short>& revents, bool timedOut);
  static void OnPcapPacket(u_char* user, const pcap_pkthdr* header, const u_char* bytes);
  void Accept(const PacketRecord& packet);
  void Stage(const PacketRecord& packet);
  void FlushStaged(uint64_t upToNs);
  void Deliver(const PacketRecord& packet);
  void CloseWriting(StopReason reason);
  void Stop(StopReason reason);
  void ReadCounters(std::vector<InterfaceCounters>& counters) const;
  void Finish();

  static inline std::atomic<int64_t> unjoinedThreads_{0};

  void JoinThread();

  SessionOptions options_;
  std::unique_ptr<EventSink> sink_;
  std::thread thread_;
  WakeEvent wake_;  // RequestStop() wakes the poll loop

  std::vector<std::unique_ptr<LiveSource>> sources_;
  std::vector<SourceSlot> slots_;
  std::vector<InterfaceInfo> interfaces_;
  std::vector<std::deque<StagedPacket>> staged_;  // per interface; empty with one interface
  uint64_t stagedBytes_ = 0;
  CaptureOutput output_;

  std::atomic<StopReason> requested_{StopReason::kNone};
  std::atomic<bool> rotateRequested_{false};
  StopReason reason_ = StopReason::kNone;
  std::string errorMessage_;
  uint64_t startNs_ = 0;      // realtime, for files and results
  uint64_t startMonoNs_ = 0;  // monotonic, for the duration limit
  uint64_t armedCpuNs_ = 0;   // capture thread CPU time when armed
  uint64_t lastArrivalMonoNs_ = 0;
  SegmentClock segmentClock_;
  uint32_t segmentsSeen_ = 0;  // output_.segment() when the segment clock last restarted
  bool anyArrival_ = false;
  bool draining_ = false;  // collecting packets timestamped before the stop
  uint64_t drainCutoffNs_ = 0;
};

}  // namespace pcapd
