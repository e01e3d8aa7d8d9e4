#include "capture_output.h"

#include <limits>
#include <new>
#include <string>

#include "clock.h"
#include "packet_summary.h"
#include "pcapng_writer.h"

namespace pcapd {

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kNone:
      return "none";
    case StopReason::kPackets:
      return "packets";
    case StopReason::kBytes:
      return "bytes";
    case StopReason::kDuration:
      return "duration";
    case StopReason::kTimeout:
      return "timeout";
    case StopReason::kFlowEnd:
      return "flow-end";
    case StopReason::kFlowIdle:
      return "flow-idle";
    case StopReason::kCancelled:
      return "cancelled";
    case StopReason::kShutdown:
      return "shutdown";
    case StopReason::kError:
      return "error";
  }
  return "error";
}

CaptureOutput::CaptureOutput(OutputOptions options, EventSink& sink, CounterReader readCounters)
    : options_(std::move(options)), sink_(sink), readCounters_(std::move(readCounters)) {
  if (options_.flow.enabled()) flow_.emplace(options_.flow);
}

void CaptureOutput::AppendSectionComment(const std::string& line) {
  std::string& comment = options_.section.comment;
  const size_t added = line.size() + (comment.empty() ? 0 : 1);
  if (comment.size() + added > PcapngWriter::kMaxOptionBytes) return;
  if (!comment.empty()) comment += '\n';
  comment += line;
}

void CaptureOutput::Open(std::vector<InterfaceInfo> interfaces, uint64_t startNs) {
  interfaces_ = std::move(interfaces);
  counters_.assign(interfaces_.size(), InterfaceCounters{});
  startNs_ = startNs;
  segmentStartNs_ = startNs;
  recorder_.emplace(options_.format, options_.section, interfaces_, options_.limits);
  recorder_->Open();
}

StopReason CaptureOutput::Deliver(const PacketRecord& packet) {
  if (closed_) return StopReason::kNone;
  // This runs inside libpcap's callback (a C frame) on a capture or reader
  // thread: nothing may be thrown past it. A failure ends this capture alone,
  // keeping what it wrote; the records before are whole (Recorder::Write
  // allocates before it writes) and the closing blocks have their room.
  try {
    return Write(packet);
  } catch (const std::bad_alloc&) {
    failure_ = "out of memory after " + std::to_string(packets()) + " packets: the capture ends with what it holds";
  } catch (const std::exception& error) {
    failure_ = std::string("capture failed after ") + std::to_string(packets()) + " packets: " + error.what();
  }
  closed_ = true;
  return StopReason::kError;
}

StopReason CaptureOutput::Write(const PacketRecord& packet) {
  if (cutAtNs_ != 0 && packet.timestampNs >= cutAtNs_) CutIfPending();
  Recorder::Verdict verdict = recorder_->Check(packet);
  if (verdict == Recorder::Verdict::kRotate) {
    if (!recorder_->CanOpenNextSegment(packet)) {
      closed_ = true;
      return StopReason::kBytes;
    }
    RotateSegment(RealtimeNs());
    verdict = recorder_->Check(packet);
  }
  if (verdict != Recorder::Verdict::kWrite) {
    closed_ = true;
    return StopReason::kBytes;
  }
  recorder_->Write(packet);
  ++counters_[packet.iface].written;
  packets_.store(recorder_->packets(), std::memory_order_relaxed);
  bytes_.store(recorder_->bytesWritten(), std::memory_order_relaxed);
  if (options_.packetDebug) {
    if (summaries_.size() < options_.maxSummaryLines) {
      summaries_.push_back(SummarizePacket(interfaces_[packet.iface], packet));
    } else {
      ++summariesOmitted_;
    }
  }
  if (flow_ && flow_->OnPacket(interfaces_[packet.iface].linktype, packet)) {
    closed_ = true;
    return StopReason::kFlowEnd;
  }
  if (recorder_->PacketLimitReached()) {
    closed_ = true;
    return StopReason::kPackets;
  }
  if (recorder_->Full()) {
    closed_ = true;
    return StopReason::kBytes;
  }
  return StopReason::kNone;
}

void CaptureOutput::StartFlowClock(uint64_t nowNs, uint64_t nowMonoNs) {
  if (flow_) flow_->StartIdleClock(nowNs, nowMonoNs);
}

uint64_t CaptureOutput::FlowIdleDeadlineMonoNs() const {
  return flow_ ? flow_->IdleDeadlineMonoNs() : std::numeric_limits<uint64_t>::max();
}

void CaptureOutput::RotateIfNotEmpty(uint64_t nowNs) {
  if (closed_) return;
  if (recorder_->SegmentHasPackets()) {
    RotateSegment(nowNs);
  } else {
    segmentStartNs_ = nowNs;
  }
}

void CaptureOutput::CutIfPending() {
  if (cutAtNs_ == 0) return;
  const uint64_t boundaryNs = cutAtNs_;
  cutAtNs_ = 0;
  RotateIfNotEmpty(boundaryNs);
}

void CaptureOutput::RotateSegment(uint64_t nowNs) {
  readCounters_(counters_);
  std::vector<FileOutput> files = recorder_->CloseSegment(counters_, startNs_, nowNs);
  for (auto& file : files) file.startNs = segmentStartNs_;
  sink_.OnSegment({std::move(files)});
  recorder_->OpenNextSegment();
  segmentStartNs_ = nowNs;
  segment_.store(recorder_->segment(), std::memory_order_relaxed);
}

DoneEvent CaptureOutput::Finish(uint64_t endNs, StopReason reason, std::string errorMessage, uint64_t startNs,
                                uint64_t threadCpuNs) {
  readCounters_(counters_);
  DoneEvent done;
  done.reason = reason;
  // A write failure is the capture's own error unless the caller knows a more specific one.
  done.errorMessage = errorMessage.empty() ? failure_ : std::move(errorMessage);
  done.startNs = startNs;
  done.endNs = endNs;
  done.threadCpuNs = threadCpuNs;
  if (recorder_->segment() > 0 && !recorder_->SegmentHasPackets()) {
    recorder_->DiscardSegment();  // a trailing empty segment is noise
  } else {
    done.files = recorder_->CloseSegment(counters_, startNs_, endNs);
    for (auto& file : done.files) file.startNs = segmentStartNs_;
  }
  done.prefetchCpuNs = recorder_->prefetchCpuNs();
  recorder_->ReleaseSpareMemory();
  done.firstNs = recorder_->firstNs();
  done.lastNs = recorder_->lastNs();
  done.packets = recorder_->packets();
  done.bytes = recorder_->bytesWritten();
  done.interfaces = interfaces_;
  done.counters = counters_;
  done.summaries = std::move(summaries_);
  done.summariesOmitted = summariesOmitted_;
  return done;
}

}  // namespace pcapd
