#include "pcap_writer.h"

namespace pcapd {

namespace {

struct FileHeader {
  uint32_t magic;
  uint16_t versionMajor;
  uint16_t versionMinor;
  int32_t thiszone;
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t linktype;
};
static_assert(sizeof(FileHeader) == 24);

struct RecordHeader {
  uint32_t seconds;
  uint32_t fraction;  // microseconds or nanoseconds, per the file magic
  uint32_t caplen;
  uint32_t origlen;
};
static_assert(sizeof(RecordHeader) == 16);

}  // namespace

void PcapWriter::WriteHeader(ChunkBuffer& out) const {
  const FileHeader header{info_.nanosecond ? 0xa1b23c4du : 0xa1b2c3d4u, 2, 4, 0, 0, info_.snaplen,
                          static_cast<uint32_t>(info_.linktype)};
  out.AppendValue(header);
}

void PcapWriter::WriteRecord(ChunkBuffer& out, const PacketRecord& packet) const {
  const uint64_t seconds = packet.timestampNs / 1'000'000'000u;
  const uint64_t nanos = packet.timestampNs % 1'000'000'000u;
  const RecordHeader header{static_cast<uint32_t>(seconds),
                            static_cast<uint32_t>(info_.nanosecond ? nanos : nanos / 1000u), packet.caplen,
                            packet.origlen};
  out.AppendValue(header);
  out.Append(packet.data, packet.caplen);
}

}  // namespace pcapd
