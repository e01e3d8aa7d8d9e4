#include "pcapng_writer.h"

#include <cstring>

namespace pcapd {

namespace {

constexpr uint32_t kSectionHeaderBlock = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescriptionBlock = 0x00000001;
constexpr uint32_t kInterfaceStatisticsBlock = 0x00000005;
constexpr uint32_t kEnhancedPacketBlock = 0x00000006;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;

constexpr uint16_t kOptEndOfOpt = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kShbHardware = 2;
constexpr uint16_t kShbOs = 3;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfDescription = 3;
constexpr uint16_t kIfTsresol = 9;
constexpr uint16_t kIfFilter = 11;
constexpr uint16_t kIsbStartTime = 2;
constexpr uint16_t kIsbEndTime = 3;
constexpr uint16_t kIsbIfRecv = 4;
constexpr uint16_t kIsbIfDrop = 5;
constexpr uint16_t kIsbOsDrop = 7;
constexpr uint16_t kIsbUsrDeliv = 8;

constexpr size_t kStatisticsOptionCount = 6;  // start, end, ifrecv, ifdrop, osdrop, usrdeliv

constexpr size_t Pad4(size_t n) { return (4 - (n & 3)) & 3; }
constexpr size_t OptionBytes(size_t valueBytes) { return 4 + valueBytes + Pad4(valueBytes); }
size_t StringOptionBytes(const std::string& value) { return value.empty() ? 0 : OptionBytes(value.size()); }

void WriteOption(ChunkBuffer& out, uint16_t code, const void* value, size_t length) {
  out.AppendValue(code);
  out.AppendValue(static_cast<uint16_t>(length));
  out.Append(value, length);
  out.AppendZeros(Pad4(length));
}

void WriteStringOption(ChunkBuffer& out, uint16_t code, const std::string& value) {
  if (!value.empty()) WriteOption(out, code, value.data(), value.size());
}

// pcapng timestamps are a 64-bit count split high word first, in the
// interface's if_tsresol unit.
void WriteSplitTimestamp(ChunkBuffer& out, uint64_t units) {
  out.AppendValue(static_cast<uint32_t>(units >> 32));
  out.AppendValue(static_cast<uint32_t>(units & 0xffffffffu));
}

void WriteTimestampOption(ChunkBuffer& out, uint16_t code, uint64_t units) {
  out.AppendValue(code);
  out.AppendValue(static_cast<uint16_t>(8));
  WriteSplitTimestamp(out, units);
}

void WriteEndOfOptions(ChunkBuffer& out) {
  out.AppendValue(kOptEndOfOpt);
  out.AppendValue(static_cast<uint16_t>(0));
}

}  // namespace

PcapngWriter::PcapngWriter(SectionInfo section, std::vector<InterfaceInfo> interfaces)
    : section_(std::move(section)), interfaces_(std::move(interfaces)) {
  headerBytes_ = SectionHeaderBytes();
  for (const auto& info : interfaces_) headerBytes_ += InterfaceBlockBytes(info);
}

size_t PcapngWriter::SectionHeaderBytes() const {
  // type, length, byte-order magic, version, section length, end of options, length
  return 4 + 4 + 4 + 4 + 8 + StringOptionBytes(section_.comment) + StringOptionBytes(section_.hardware) +
         StringOptionBytes(section_.os) + StringOptionBytes(section_.application) + 4 + 4;
}

size_t PcapngWriter::InterfaceBlockBytes(const InterfaceInfo& info) const {
  const size_t filterBytes = info.filter.empty() ? 0 : OptionBytes(1 + info.filter.size());
  // type, length, linktype + reserved, snaplen, options..., end of options, length
  return 4 + 4 + 4 + 4 + StringOptionBytes(info.name) + StringOptionBytes(info.description) + OptionBytes(1) +
         filterBytes + 4 + 4;
}

size_t PcapngWriter::RecordBytes(uint32_t caplen) const { return 32 + size_t{caplen} + Pad4(caplen); }

size_t PcapngWriter::TrailerBytes() const {
  // Upper bound: every statistics option present for every interface.
  const size_t perInterface = 4 + 4 + 4 + 8 + kStatisticsOptionCount * OptionBytes(8) + 4 + 4;
  return perInterface * interfaces_.size();
}

void PcapngWriter::WriteHeader(ChunkBuffer& out) const {
  WriteSectionHeader(out);
  for (const auto& info : interfaces_) WriteInterfaceBlock(out, info);
}

void PcapngWriter::WriteSectionHeader(ChunkBuffer& out) const {
  const auto length = static_cast<uint32_t>(SectionHeaderBytes());
  out.AppendValue(kSectionHeaderBlock);
  out.AppendValue(length);
  out.AppendValue(kByteOrderMagic);
  out.AppendValue(static_cast<uint16_t>(1));
  out.AppendValue(static_cast<uint16_t>(0));
  out.AppendValue(static_cast<int64_t>(-1));  // section length not computed
  WriteStringOption(out, kOptComment, section_.comment);
  WriteStringOption(out, kShbHardware, section_.hardware);
  WriteStringOption(out, kShbOs, section_.os);
  WriteStringOption(out, kShbUserAppl, section_.application);
  WriteEndOfOptions(out);
  out.AppendValue(length);
}

void PcapngWriter::WriteInterfaceBlock(ChunkBuffer& out, const InterfaceInfo& info) const {
  const auto length = static_cast<uint32_t>(InterfaceBlockBytes(info));
  out.AppendValue(kInterfaceDescriptionBlock);
  out.AppendValue(length);
  out.AppendValue(static_cast<uint16_t>(info.linktype));
  out.AppendValue(static_cast<uint16_t>(0));
  out.AppendValue(info.snaplen);
  WriteStringOption(out, kIfName, info.name);
  WriteStringOption(out, kIfDescription, info.description);
  const uint8_t tsresol = info.nanosecond ? 9 : 6;  // 10^-9 or 10^-6 seconds
  WriteOption(out, kIfTsresol, &tsresol, 1);
  if (!info.filter.empty()) {
    // if_filter: first byte 0 = "filter expression as a libpcap string"
    std::string value(1, '\0');
    value += info.filter;
    WriteOption(out, kIfFilter, value.data(), value.size());
  }
  WriteEndOfOptions(out);
  out.AppendValue(length);
}

uint64_t PcapngWriter::ToUnits(size_t iface, uint64_t timestampNs) const {
  return interfaces_[iface].nanosecond ? timestampNs : timestampNs / 1000u;
}

void PcapngWriter::WriteRecord(ChunkBuffer& out, const PacketRecord& packet) const {
  // Three appends per packet: fixed header, packet bytes, padding + trailing length.
  struct EnhancedPacketHeader {
    uint32_t type;
    uint32_t length;
    uint32_t interfaceId;
    uint32_t timestampHigh;
    uint32_t timestampLow;
    uint32_t caplen;
    uint32_t origlen;
  };
  static_assert(sizeof(EnhancedPacketHeader) == 28);
  const auto length = static_cast<uint32_t>(RecordBytes(packet.caplen));
  const uint64_t units = ToUnits(packet.iface, packet.timestampNs);
  const EnhancedPacketHeader header{kEnhancedPacketBlock,
                                    length,
                                    static_cast<uint32_t>(packet.iface),
                                    static_cast<uint32_t>(units >> 32),
                                    static_cast<uint32_t>(units & 0xffffffffu),
                                    packet.caplen,
                                    packet.origlen};
  out.Append(&header, sizeof(header));
  out.Append(packet.data, packet.caplen);
  uint8_t tail[8] = {0};
  const size_t pad = Pad4(packet.caplen);
  std::memcpy(tail + pad, &length, sizeof(length));
  out.Append(tail, pad + sizeof(length));
}

void PcapngWriter::WriteTrailer(ChunkBuffer& out, const std::vector<InterfaceCounters>& counters, uint64_t startNs,
                                uint64_t endNs) const {
  for (size_t i = 0; i < interfaces_.size() && i < counters.size(); ++i) {
    const InterfaceCounters& c = counters[i];
    const size_t optionCount = c.statsValid ? kStatisticsOptionCount : 3;
    const auto length = static_cast<uint32_t>(4 + 4 + 4 + 8 + optionCount * OptionBytes(8) + 4 + 4);
    out.AppendValue(kInterfaceStatisticsBlock);
    out.AppendValue(length);
    out.AppendValue(static_cast<uint32_t>(i));
    WriteSplitTimestamp(out, ToUnits(i, endNs));
    WriteTimestampOption(out, kIsbStartTime, ToUnits(i, startNs));
    WriteTimestampOption(out, kIsbEndTime, ToUnits(i, endNs));
    if (c.statsValid) {
      // Wireshark shows isb_ifdrop as "Dropped packets" and dumpcap puts kernel
      // drops there, so it carries every loss before pcapd saw the packet;
      // isb_osdrop keeps the kernel's share on its own.
      const uint64_t allDropped = c.dropped + c.ifDropped;
      WriteOption(out, kIsbIfRecv, &c.received, 8);
      WriteOption(out, kIsbIfDrop, &allDropped, 8);
      WriteOption(out, kIsbOsDrop, &c.dropped, 8);
    }
    WriteOption(out, kIsbUsrDeliv, &c.written, 8);
    WriteEndOfOptions(out);
    out.AppendValue(length);
  }
}

}  // namespace pcapd
