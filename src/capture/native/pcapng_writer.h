// pcapng (draft-ietf-opsawg-pcapng): one Section Header Block whose comment says
// why the file exists, one Interface Description Block per interface (real link
// type, snaplen, if_tsresol, the BPF as if_filter), Enhanced Packet Blocks, and
// one Interface Statistics Block per interface at close carrying pcap_stats.
#pragma once

#include "format_writer.h"

namespace pcapd {

struct SectionInfo {
  std::string comment;  // request id, alert id, node, tags, BPF
  std::string hardware;
  std::string os;
  std::string application;  // "pcapd <version>"
};

class PcapngWriter final : public FormatWriter {
 public:
  // Option values are at most 65535 bytes (16-bit option length); the caller
  // validates this before constructing.
  static constexpr size_t kMaxOptionBytes = 65535;

  PcapngWriter(SectionInfo section, std::vector<InterfaceInfo> interfaces);

  size_t HeaderBytes() const override { return headerBytes_; }
  size_t RecordBytes(uint32_t caplen) const override;
  size_t TrailerBytes() const override;

  void WriteHeader(ChunkBuffer& out) const override;
  void WriteRecord(ChunkBuffer& out, const PacketRecord& packet) const override;
  void WriteTrailer(ChunkBuffer& out, const std::vector<InterfaceCounters>& counters, uint64_t startNs,
                    uint64_t endNs) const override;

 private:
  size_t SectionHeaderBytes() const;
  size_t InterfaceBlockBytes(const InterfaceInfo& info) const;
  void WriteSectionHeader(ChunkBuffer& out) const;
  void WriteInterfaceBlock(ChunkBuffer& out, const InterfaceInfo& info) const;
  uint64_t ToUnits(size_t iface, uint64_t timestampNs) const;

  SectionInfo section_;
  std::vector<InterfaceInfo> interfaces_;
  size_t headerBytes_ = 0;
};

}  // namespace pcapd
