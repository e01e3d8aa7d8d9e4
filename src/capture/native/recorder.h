// Turns accepted packets into capture files and enforces the size limits.
//
// The byte limit covers everything that will be delivered: every file of every
// segment, headers and closing statistics blocks included. A packet whose record
// would cross the limit is not written and ends the capture, so a file never
// exceeds the limit. Runs only on the capture thread.
#pragma once

#include <memory>
#include <vector>

#include "chunk_prefetcher.h"
#include "format_writer.h"
#include "pcapng_writer.h"

namespace pcapd {

enum class CaptureFormat { kPcap, kPcapng };

struct RecorderLimits {
  uint64_t packets = 0;       // 0: no packet limit
  uint64_t bytes = 0;         // 0: no byte limit
  uint64_t segmentBytes = 0;  // 0: do not cut by size
};

// One finished file, ready to hand to JavaScript.
struct FileOutput {
  std::vector<Chunk> chunks;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint64_t firstNs = 0;
  uint64_t lastNs = 0;
  std::vector<size_t> interfaces;
  uint32_t segment = 0;
  uint64_t startNs = 0;  // when this segment began (realtime): arming, or the cut that opened it
};

class Recorder {
 public:
  enum class Verdict { kWrite, kRotate, kFull };

  // Classic pcap gets one file per interface; pcapng one file for all.
  Recorder(CaptureFormat format, SectionInfo section, std::vector<InterfaceInfo> interfaces, RecorderLimits limits);

  // Starts the first segment. Throws CaptureError(kLimitTooSmall) when the byte
  // limit cannot hold the headers, the closing blocks and one empty packet.
  void Open();
  // Whether a new segment (headers, closing blocks, `packet`) still fits.
  bool CanOpenNextSegment(const PacketRecord& packet) const;
  void OpenNextSegment();

  Verdict Check(const PacketRecord& packet) const;
  void Write(const PacketRecord& packet);

  bool PacketLimitReached() const { return limits_.packets != 0 && packets_ >= limits_.packets; }
  // True when not even a zero-length packet would fit under the byte limit.
  bool Full() const;
  bool SegmentHasPackets() const { return segmentPackets_ != 0; }

  // Writes the closing blocks and hands over the current segment's files.
  std::vector<FileOutput> CloseSegment(const std::vector<InterfaceCounters>& counters, uint64_t startNs,
                                       uint64_t endNs);

  // Drops the current segment's files without delivering them (an empty
  // trailing segment after earlier ones were delivered).
  void DiscardSegment();
  // Stops the prefetch thread and frees its spare chunk (capture end).
  void ReleaseSpareMemory() { prefetcher_.reset(); }
  uint64_t prefetchCpuNs() const { return prefetcher_ ? prefetcher_->cpuNs() : 0; }

  uint32_t segment() const { return segment_; }
  uint64_t packets() const { return packets_; }
  uint64_t bytesWritten() const { return closedBytes_ + openBytes_; }
  uint64_t firstNs() const { return firstNs_; }
  uint64_t lastNs() const { return lastNs_; }

 private:
  struct OpenFile {
    explicit OpenFile(ChunkPrefetcher* prefetcher) : buffer(prefetcher) {}
    std::unique_ptr<FormatWriter> writer;
    std::vector<size_t> interfaces;
    ChunkBuffer buffer;
    uint64_t packets = 0;
    uint64_t firstNs = 0;
    uint64_t lastNs = 0;
  };

  uint64_t HeaderBytes() const;
  void WriteHeaders();

  RecorderLimits limits_;
  // Declared before files_: buffers hold a pointer to it and die first.
  std::unique_ptr<ChunkPrefetcher> prefetcher_;
  std::vector<OpenFile> files_;
  std::vector<size_t> fileOfInterface_;
  uint64_t trailerBytes_ = 0;  // closing blocks of every open file (upper bound)
  uint64_t smallestRecordBytes_ = 0;
  uint64_t closedBytes_ = 0;  // files of segments already handed over
  uint64_t openBytes_ = 0;    // files of the current segment so far
  uint64_t packets_ = 0;
  uint64_t segmentPackets_ = 0;
  uint64_t firstNs_ = 0;
  uint64_t lastNs_ = 0;
  uint32_t segment_ = 0;
};

}  // namespace pcapd
