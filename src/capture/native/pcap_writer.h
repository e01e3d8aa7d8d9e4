// Classic libpcap file format for one interface: nanosecond magic (0xa1b23c4d)
// when the handle delivers nanosecond timestamps, microsecond magic otherwise;
// the header carries the handle's real snaplen and link type.
#pragma once

#include "format_writer.h"

namespace pcapd {

class PcapWriter final : public FormatWriter {
 public:
  explicit PcapWriter(InterfaceInfo info) : info_(std::move(info)) {}

  size_t HeaderBytes() const override { return 24; }
  size_t RecordBytes(uint32_t caplen) const override { return 16 + size_t{caplen}; }
  size_t TrailerBytes() const override { return 0; }

  void WriteHeader(ChunkBuffer& out) const override;
  void WriteRecord(ChunkBuffer& out, const PacketRecord& packet) const override;
  void WriteTrailer(ChunkBuffer&, const std::vector<InterfaceCounters>&, uint64_t, uint64_t) const override {}

 private:
  InterfaceInfo info_;
};

}  // namespace pcapd
