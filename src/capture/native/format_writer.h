// The contract between the recorder and a capture file format (classic pcap or
// pcapng). A writer knows, before writing, exactly how many bytes each piece of
// the file will take, so the recorder can enforce the byte limit on the whole
// file (headers and closing statistics included) without ever writing past it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "chunk_buffer.h"

namespace pcapd {

// What a file needs to know about one captured interface. Filled after
// activation from the live handle, never assumed.
struct InterfaceInfo {
  std::string name;
  std::string description;
  std::string filter;
  int linktype = 0;  // LINKTYPE_* value as written in files (not DLT_*)
  uint32_t snaplen = 0;
  bool nanosecond = false;
};

// Counters for one interface at the moment a file closes.
struct InterfaceCounters {
  bool statsValid = false;  // pcap_stats succeeded at least once
  uint64_t received = 0;    // ps_recv: packets that passed the kernel filter
  uint64_t dropped = 0;     // ps_drop: dropped by the kernel (ring full)
  uint64_t ifDropped = 0;   // ps_ifdrop: dropped by the interface/driver
  uint64_t written = 0;     // packets this capture wrote for the interface
};

struct PacketRecord {
  size_t iface = 0;  // index into the capture's interface list
  uint64_t timestampNs = 0;
  uint32_t caplen = 0;
  uint32_t origlen = 0;
  const uint8_t* data = nullptr;
};

class FormatWriter {
 public:
  virtual ~FormatWriter() = default;

  virtual size_t HeaderBytes() const = 0;
  virtual size_t RecordBytes(uint32_t caplen) const = 0;
  virtual size_t TrailerBytes() const = 0;

  virtual void WriteHeader(ChunkBuffer& out) const = 0;
  virtual void WriteRecord(ChunkBuffer& out, const PacketRecord& packet) const = 0;
  virtual void WriteTrailer(ChunkBuffer& out, const std::vector<InterfaceCounters>& counters, uint64_t startNs,
                            uint64_t endNs) const = 0;
};

// DLT_* values that differ from the LINKTYPE_* value a file must carry
// (pcap-common.c in libpcap keeps the full table; these are the ones a Linux
// capture can produce).
inline int DltToLinktype(int dlt) {
  switch (dlt) {
    case 12:       // DLT_RAW on Linux
    case 14:       // DLT_RAW on OpenBSD
      return 101;  // LINKTYPE_RAW
    case 11:       // DLT_ATM_RFC1483
      return 100;
    case 13:  // DLT_ATM_RFC1483 on some BSDs
      return 100;
    default:
      return dlt;
  }
}

}  // namespace pcapd
