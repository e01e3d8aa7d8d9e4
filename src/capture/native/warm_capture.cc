#include "warm_capture.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "capture_error.h"
#include "clock.h"
#include "live_source.h"
#include "warm_reader.h"

namespace pcapd {

namespace {

int DltOf(const WarmReader& reader) {
  if (!reader.info()) throw CaptureError(codes::kInterfaceDown, "the warm interface is not open");
  return reader.dlt();
}

std::string Seconds(uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", static_cast<double>(ns) / 1e9);
  return text;
}

uint64_t Saturating(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

}  // namespace

WarmCapture::WarmCapture(std::shared_ptr<WarmReader> reader, WarmCaptureOptions options,
                         std::unique_ptr<EventSink> sink)
    : reader_(std::move(reader)),
      options_(std::move(options)),
      sink_(std::move(sink)),
      filter_(DltOf(*reader_), FilterProgram::kUserSpaceSnaplen, options_.filter),
      output_(options_.output, *sink_, [this](std::vector<InterfaceCounters>& counters) { ReadCounters(counters); }),
      segmentClock_(options_.segmentNs, options_.segmentAlign) {}

void WarmCapture::Start() { reader_->Attach(shared_from_this()); }

void WarmCapture::RequestStop(StopReason reason) {
  StopReason expected = StopReason::kNone;
  requested_.compare_exchange_strong(expected, reason);
  reader_->Wake();
}

void WarmCapture::RequestRotate() {
  rotateRequested_.store(true);
  reader_->Wake();
}

// ---- the reader's thread ----

bool WarmCapture::Arm(const InterfaceInfo& reader, const LookbackRing& ring, uint64_t nowNs, uint64_t nowMonoNs) {
  InterfaceInfo info = reader;
  info.snaplen = std::min(reader.snaplen, options_.snaplen);
  info.filter = options_.filter;
  if (!options_.description.empty()) info.description = options_.description;
  // What the lookback will serve: the ring may hold less than asked.
  const uint64_t sinceNs = nowNs > options_.lookbackNs ? nowNs - options_.lookbackNs : 0;
  const uint64_t fromNs = std::max(sinceNs, ring.oldestNs());
  const uint64_t servedNs = options_.lookbackNs != 0 && ring.packets() != 0 && nowNs > fromNs ? nowNs - fromNs : 0;
  if (options_.lookbackNs != 0) {
    output_.AppendSectionComment("lookback: asked " + Seconds(options_.lookbackNs) + " s, served " + Seconds(servedNs) +
                                 " s (warm interface ring)");
  }
  try {
    output_.Open({info}, nowNs);
  } catch (const CaptureError& error) {
    Fail(error.code(), error.what());
    return false;
  } catch (const std::exception& error) {
    Fail(codes::kCaptureFailed, error.what());
    return false;
  }
  reader_->ReadCounters(baseline_);
  startNs_ = nowNs;
  startMonoNs_ = nowMonoNs;
  segmentClock_.Restart(nowMonoNs, nowNs);
  if (segmentClock_.enabled()) output_.CutAt(segmentClock_.BoundaryRealNs());
  cpuAtArmNs_ = ThreadCpuNs();

  ArmedEvent armed{nowNs, output_.interfaces()};
  armed.lookbackNs = servedNs;
  if (servedNs != 0) {
    ring.ForEachSince(sinceNs, [&](const LookbackRing::Packet& packet) {
      const pcap_pkthdr header{{}, packet.caplen, packet.origlen};
      if (!filter_.Matches(header, packet.data)) return true;
      ++armed.lookbackPackets;
      const PacketRecord record{0, packet.timestampNs, std::min(packet.caplen, options_.snaplen), packet.origlen,
                                packet.data};
      const StopReason reached = output_.Deliver(record);
      if (reached == StopReason::kNone) return true;
      stopping_ = reached;
      return false;
    });
  }
  // After the lookback, so that a flow already quiet when the request came
  // is not given a fresh idle period.
  output_.StartFlowClock(nowNs, nowMonoNs);
  sink_->OnArmed(std::move(armed));
  // The lookback alone reached a limit (or failed to write).
  if (stopping_ != StopReason::kNone) End(stopping_, "");
  return true;
}

void WarmCapture::OnPacket(const pcap_pkthdr& header, const u_char* data, uint64_t timestampNs, uint64_t nowMonoNs) {
  if (ended_ || output_.closed()) return;
  if (stopping_ != StopReason::kNone && timestampNs > stopCutoffNs_) return;
  if (!filter_.Matches(header, data)) return;
  anyArrival_ = true;
  lastArrivalMonoNs_ = nowMonoNs;
  const PacketRecord record{0, timestampNs, std::min(header.caplen, options_.snaplen), header.len, data};
  const StopReason reached = output_.Deliver(record);
  // A limit closes the file at once: handed over within the same dispatch.
  // A write failure ends this capture alone; the reader and the others go on.
  if (reached != StopReason::kNone) End(reached, "");
}

void WarmCapture::BeginStop(StopReason reason, uint64_t nowMonoNs) {
  if (stopping_ != StopReason::kNone) return;
  stopping_ = reason;
  stopCutoffNs_ = RealtimeNs();
  stopAtMonoNs_ = nowMonoNs + LiveSource::kFinalDrainNs;
}

void WarmCapture::Tick(uint64_t nowMonoNs) {
  if (ended_) return;
  const StopReason requested = requested_.load();
  if (requested != StopReason::kNone) BeginStop(requested, nowMonoNs);
  if (options_.durationNs != 0 && nowMonoNs - startMonoNs_ >= options_.durationNs)
    BeginStop(StopReason::kDuration, nowMonoNs);
  if (options_.idleNs != 0 && anyArrival_ && nowMonoNs - lastArrivalMonoNs_ >= options_.idleNs) {
    BeginStop(StopReason::kTimeout, nowMonoNs);
  }
  if (nowMonoNs >= output_.FlowIdleDeadlineMonoNs()) BeginStop(StopReason::kFlowIdle, nowMonoNs);
  if (stopping_ != StopReason::kNone) {
    if (nowMonoNs >= stopAtMonoNs_) End(stopping_, "");
    return;
  }
  if (rotateRequested_.exchange(false)) output_.RotateIfNotEmpty(RealtimeNs());
  if (segmentClock_.Due(nowMonoNs)) {  // no packet crossed the boundary within the grace period
    output_.CutIfPending();
    segmentsSeen_ = output_.segment();
    segmentClock_.Advance();
    output_.CutAt(segmentClock_.BoundaryRealNs());
  }
  if (output_.segment() != segmentsSeen_) {  // a packet past the boundary, a byte cut or a rotate began a segment
    segmentsSeen_ = output_.segment();
    segmentClock_.Restart(nowMonoNs, RealtimeNs());
    if (segmentClock_.enabled()) output_.CutAt(segmentClock_.BoundaryRealNs());
  }
}

uint64_t WarmCapture::NextDeadlineMonoNs() const {
  if (ended_) return std::numeric_limits<uint64_t>::max();
  if (stopping_ != StopReason::kNone) return stopAtMonoNs_;
  uint64_t deadline =
      options_.durationNs == 0 ? std::numeric_limits<uint64_t>::max() : Saturating(startMonoNs_, options_.durationNs);
  if (options_.idleNs != 0 && anyArrival_)
    deadline = std::min(deadline, Saturating(lastArrivalMonoNs_, options_.idleNs));
  deadline = std::min(deadline, segmentClock_.DeadlineMonoNs());
  return std::min(deadline, output_.FlowIdleDeadlineMonoNs());
}

void WarmCapture::End(StopReason reason, const std::string& errorMessage) {
  if (ended_) return;
  ended_ = true;
  // On the shared reader thread: a failure here must end this capture, not the reader.
  try {
    // The reader's thread is shared: its CPU time since arming is an upper bound of this capture's share.
    sink_->OnDone(output_.Finish(RealtimeNs(), reason, errorMessage, startNs_, ThreadCpuNs() - cpuAtArmNs_));
  } catch (const std::exception& error) {
    sink_->OnFailed({codes::kCaptureFailed, std::string("capture failed while closing: ") + error.what()});
  }
  sink_->Close();
}

void WarmCapture::Fail(const std::string& code, const std::string& message) {
  if (ended_) return;
  ended_ = true;
  sink_->OnFailed({code, message});
  sink_->Close();
}

void WarmCapture::ReadCounters(std::vector<InterfaceCounters>& counters) const {
  if (counters.empty()) return;
  InterfaceCounters now = baseline_;
  reader_->ReadCounters(now);
  InterfaceCounters& out = counters[0];
  // The reader's kernel counters over this capture's lifetime.
  out.statsValid = now.statsValid;
  out.received = now.received - std::min(now.received, baseline_.received);
  out.dropped = now.dropped - std::min(now.dropped, baseline_.dropped);
  out.ifDropped = now.ifDropped - std::min(now.ifDropped, baseline_.ifDropped);
}

}  // namespace pcapd
