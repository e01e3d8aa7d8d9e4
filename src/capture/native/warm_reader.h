// One warm interface: a handle, a kernel ring and a reader thread opened once
// and kept for the daemon's lifetime, plus a ring of recent packets for
// lookback. Captures attach to it (WarmCapture) instead of building a ring
// each: the reader runs each attached capture's filter on each packet and
// hands matches to that capture's recorder, so N captures cost one kernel ring
// and arming costs a message, not a ring build.
//
// The reader does not reopen itself: when the interface goes down or away it
// ends the captures attached (reason error, packets kept), reports `down` and
// its thread ends; the daemon opens a new reader with backoff.
//
// Threads: the constructor, Start(), Stop(), Join(), Attach(), Wake() and
// stats() run on the JavaScript thread; Run() and everything it calls on the
// reader thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "capture_events.h"
#include "filter_program.h"
#include "live_source.h"
#include "lookback_ring.h"
#include "wake_event.h"

namespace pcapd {

class WarmCapture;

struct WarmReaderOptions {
  SourceOptions source;  // its filter is empty: every capture filters for itself
  size_t lookbackBytes = 0;
  uint64_t lookbackNs = 0;
  std::string lookbackFilter;  // what the lookback ring keeps; empty: everything
};

// What the reader reports to JavaScript.
struct ReaderUpEvent {
  InterfaceInfo info;
};
struct ReaderDownEvent {
  std::string code;
  std::string message;
};

class ReaderEventSink {
 public:
  virtual ~ReaderEventSink() = default;
  virtual void OnUp(ReaderUpEvent event) = 0;
  virtual void OnDown(ReaderDownEvent event) = 0;
  // The reader thread's last act.
  virtual void Close() = 0;
};

struct WarmReaderStats {
  bool up = false;
  uint64_t received = 0;
  uint64_t dropped = 0;
  uint64_t ifDropped = 0;
  uint64_t packetsRead = 0;
  uint64_t attached = 0;
  uint64_t ringCapacityBytes = 0;
  uint64_t ringUsedBytes = 0;
  uint64_t ringPackets = 0;
  uint64_t ringOldestNs = 0;
  uint64_t cpuNs = 0;  // the reader thread's CPU time so far
};

class WarmReader : public std::enable_shared_from_this<WarmReader> {
 public:
  WarmReader(WarmReaderOptions options, std::unique_ptr<ReaderEventSink> sink);
  ~WarmReader();
  WarmReader(const WarmReader&) = delete;
  WarmReader& operator=(const WarmReader&) = delete;

  void Start();
  // Ends the reader: attached captures end with reason shutdown.
  void Stop();
  void Join();

  // Hands a capture to the reader thread, which arms it. A reader that is not
  // up (not yet, or no more) fails it at once with PCAPD_ERR_INTERFACE_DOWN.
  void Attach(std::shared_ptr<WarmCapture> capture);
  void Wake();

  // The interface as the reader opened it; empty until it is up.
  std::optional<InterfaceInfo> info() const;
  int dlt() const { return dlt_.load(std::memory_order_relaxed); }
  WarmReaderStats stats() const;

  static int64_t LiveThreads() { return liveThreads_.load(std::memory_order_relaxed); }

  // Reader thread: the counters of its handle right now.
  void ReadCounters(InterfaceCounters& counters) const;

 private:
  void Run();
  bool Open();
  void Loop();
  bool ReadRing();
  bool HasPending() const;
  void ArmPending(uint64_t nowMonoNs);
  int PollTimeoutMs(uint64_t nowMonoNs) const;
  static void OnPcapPacket(u_char* user, const pcap_pkthdr* header, const u_char* bytes);
  void EndAll(StopReason reason, const std::string& message);
  void Sweep();
  void PublishStats();

  static inline std::atomic<int64_t> liveThreads_{0};

  WarmReaderOptions options_;
  std::unique_ptr<ReaderEventSink> sink_;
  std::thread thread_;
  WakeEvent wake_;

  mutable std::mutex mutex_;  // guards accepting_, pending_, info_
  bool accepting_ = false;
  std::vector<std::shared_ptr<WarmCapture>> pending_;
  std::optional<InterfaceInfo> info_;

  std::atomic<bool> stopRequested_{false};
  std::atomic<int> dlt_{0};
  std::unique_ptr<LiveSource> source_;
  std::optional<FilterProgram> ringFilter_;
  LookbackRing ring_;
  std::vector<std::shared_ptr<WarmCapture>> attached_;  // reader thread only
  uint64_t nowMonoNs_ = 0;                              // of the current dispatch, for the captures' idle clocks
  std::string errorCode_;
  std::string errorMessage_;

  std::atomic<bool> up_{false};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> ifDropped_{0};
  std::atomic<uint64_t> packetsRead_{0};
  std::atomic<uint64_t> attachedCount_{0};
  std::atomic<uint64_t> cpuNs_{0};
};

}  // namespace pcapd
