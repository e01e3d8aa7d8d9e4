#include "recorder.h"

#include <string>

#include "capture_error.h"
#include "pcap_writer.h"

namespace pcapd {

Recorder::Recorder(CaptureFormat format, SectionInfo section, std::vector<InterfaceInfo> interfaces,
                   RecorderLimits limits)
    : limits_(limits),
      prefetcher_(std::make_unique<ChunkPrefetcher>(ChunkBuffer::kMaxChunkBytes)),
      fileOfInterface_(interfaces.size(), 0) {
  if (format == CaptureFormat::kPcapng) {
    OpenFile file(prefetcher_.get());
    for (size_t i = 0; i < interfaces.size(); ++i) file.interfaces.push_back(i);
    file.writer = std::make_unique<PcapngWriter>(std::move(section), std::move(interfaces));
    files_.push_back(std::move(file));
    return;
  }
  for (size_t i = 0; i < interfaces.size(); ++i) {
    OpenFile file(prefetcher_.get());
    file.interfaces.push_back(i);
    file.writer = std::make_unique<PcapWriter>(interfaces[i]);
    fileOfInterface_[i] = files_.size();
    files_.push_back(std::move(file));
  }
}

uint64_t Recorder::HeaderBytes() const {
  uint64_t total = 0;
  for (const auto& file : files_) total += file.writer->HeaderBytes();
  return total;
}

void Recorder::Open() {
  for (const auto& file : files_) trailerBytes_ += file.writer->TrailerBytes();
  smallestRecordBytes_ = files_.front().writer->RecordBytes(0);
  const uint64_t needed = HeaderBytes() + trailerBytes_ + smallestRecordBytes_;
  if (limits_.bytes != 0 && needed > limits_.bytes) {
    throw CaptureError(codes::kLimitTooSmall, "byte limit " + std::to_string(limits_.bytes) +
                                                  " cannot hold the file headers and closing blocks (" +
                                                  std::to_string(needed) + " bytes with one empty packet)");
  }
  WriteHeaders();
}

void Recorder::WriteHeaders() {
  for (auto& file : files_) {
    file.buffer.EnsureRoom(file.writer->HeaderBytes() + file.writer->TrailerBytes());
    file.writer->WriteHeader(file.buffer);
    openBytes_ += file.writer->HeaderBytes();
  }
}

bool Recorder::CanOpenNextSegment(const PacketRecord& packet) const {
  if (limits_.bytes == 0) return true;
  const auto& writer = *files_[fileOfInterface_[packet.iface]].writer;
  return closedBytes_ + HeaderBytes() + trailerBytes_ + writer.RecordBytes(packet.caplen) <= limits_.bytes;
}

void Recorder::OpenNextSegment() {
  ++segment_;
  segmentPackets_ = 0;
  WriteHeaders();
}

Recorder::Verdict Recorder::Check(const PacketRecord& packet) const {
  const OpenFile& file = files_[fileOfInterface_[packet.iface]];
  const uint64_t record = file.writer->RecordBytes(packet.caplen);
  if (limits_.segmentBytes != 0 && segmentPackets_ != 0 &&
      file.buffer.size() + record + file.writer->TrailerBytes() > limits_.segmentBytes) {
    return Verdict::kRotate;
  }
  if (limits_.bytes != 0 && bytesWritten() + trailerBytes_ + record > limits_.bytes) {
    return Verdict::kFull;
  }
  return Verdict::kWrite;
}

void Recorder::Write(const PacketRecord& packet) {
  OpenFile& file = files_[fileOfInterface_[packet.iface]];
  // Allocate first (it may throw std::bad_alloc), write after: a record is
  // whole or absent, and the closing blocks always fit without allocating.
  file.buffer.EnsureRoom(file.writer->RecordBytes(packet.caplen) + file.writer->TrailerBytes());
  const size_t before = file.buffer.size();
  file.writer->WriteRecord(file.buffer, packet);
  openBytes_ += file.buffer.size() - before;
  if (file.packets == 0) file.firstNs = packet.timestampNs;
  file.lastNs = packet.timestampNs;
  ++file.packets;
  if (packets_ == 0) firstNs_ = packet.timestampNs;
  lastNs_ = packet.timestampNs;
  ++packets_;
  ++segmentPackets_;
}

bool Recorder::Full() const {
  return limits_.bytes != 0 && bytesWritten() + trailerBytes_ + smallestRecordBytes_ > limits_.bytes;
}

void Recorder::DiscardSegment() {
  for (auto& file : files_) file.buffer.Release();
  openBytes_ = 0;
}

std::vector<FileOutput> Recorder::CloseSegment(const std::vector<InterfaceCounters>& counters, uint64_t startNs,
                                               uint64_t endNs) {
  std::vector<FileOutput> outputs;
  for (auto& file : files_) {
    file.writer->WriteTrailer(file.buffer, counters, startNs, endNs);
    FileOutput out;
    out.bytes = file.buffer.size();
    closedBytes_ += out.bytes;
    out.chunks = file.buffer.Release();
    out.packets = file.packets;
    out.firstNs = file.firstNs;
    out.lastNs = file.lastNs;
    out.interfaces = file.interfaces;
    out.segment = segment_;
    outputs.push_back(std::move(out));
    file.packets = 0;
    file.firstNs = 0;
    file.lastNs = 0;
  }
  openBytes_ = 0;  // every open file was just closed (trailers included in closedBytes_)
  return outputs;
}

}  // namespace pcapd
