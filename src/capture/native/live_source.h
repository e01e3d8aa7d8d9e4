// One activated libpcap handle on one interface, owned for the life of a
// capture and used only on its capture thread.
//
// A warm interface's shared reader (WarmReader) owns one too, for the daemon's
// lifetime: a source feeds packets to whoever listens, and knows nothing of
// files or limits.
#pragma once

#include <pcap/pcap.h>

#include <memory>
#include <string>

#include "format_writer.h"

namespace pcapd {

struct SourceOptions {
  std::string device;
  std::string description;
  std::string filter;
  uint32_t snaplen = 262144;
  bool promisc = true;
  int bufferBytes = 8 * 1024 * 1024;
};

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

class LiveSource {
 public:
  // TPACKET_V3 hands packets over a block at a time; a 1 ms block timeout makes a
  // finished capture available at once (pcapdaemon waits up to its 3 s read
  // timeout). Immediate mode would cost a wakeup per packet.
  static constexpr int kBlockTimeoutMs = 1;
  // After a time-based stop or a cancel, packets the kernel timestamped before
  // the stop may still sit in a ring block that has not been retired; waiting
  // two block timeouts collects them, so the file covers the whole window.
  static constexpr uint64_t kFinalDrainNs = 3'000'000;

  // Creates, configures and activates the handle and installs the filter.
  // Throws CaptureError with a stable code; nothing stays open on failure.
  static std::unique_ptr<LiveSource> Open(const SourceOptions& options);
  explicit LiveSource(PcapPtr handle) : handle_(std::move(handle)) {}

  int fd() const { return fd_; }
  // DLT_* of the handle, for compiling filters that run on its packets.
  int dlt() const { return dlt_; }
  const InterfaceInfo& info() const { return info_; }

  // Non-blocking: handles every packet already in the ring. Returns the
  // pcap_dispatch result (>= 0 packets, PCAP_ERROR, PCAP_ERROR_BREAK).
  int Dispatch(pcap_handler callback, u_char* user);
  void BreakLoop() { pcap_breakloop(handle_.get()); }
  std::string LastError() const { return pcap_geterr(handle_.get()); }
  // libpcap asks for a bounded poll timeout while it waits to learn whether
  // an interface that went down has disappeared; -1 when it has no wish.
  int RequiredPollTimeoutMs() const;
  // Refreshes `counters` from pcap_stats; keeps the previous values on failure
  // (the interface may be gone).
  void ReadStats(InterfaceCounters& counters) const;

 private:
  PcapPtr handle_;
  int fd_ = -1;
  int dlt_ = 0;
  InterfaceInfo info_;
};

}  // namespace pcapd
