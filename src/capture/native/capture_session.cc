#include "capture_session.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <limits>

#include "capture_error.h"
#include "packet_summary.h"

namespace pcapd {

namespace {

uint64_t NowNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t RealtimeNs() { return NowNs(CLOCK_REALTIME); }
uint64_t MonotonicNs() { return NowNs(CLOCK_MONOTONIC); }

// After a time-based stop or a cancel, packets the kernel timestamped before
// the stop may still sit in a ring block that has not been retired; waiting
// two block timeouts collects them, so the file covers the whole window.
constexpr uint64_t kFinalDrainNs = 3'000'000;
// With several interfaces, the merge queues are flushed early beyond this, so
// memory stays bounded even at line rate.
constexpr uint64_t kMaxStagedBytes = 64u * 1024 * 1024;
constexpr int kMaxPollMs = 1000;

}  // namespace

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
    case StopReason::kCancelled:
      return "cancelled";
    case StopReason::kShutdown:
      return "shutdown";
    case StopReason::kError:
      return "error";
  }
  return "error";
}

CaptureSession::CaptureSession(SessionOptions options, std::unique_ptr<EventSink> sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeFd_ < 0) throw CaptureError(codes::kCaptureFailed, std::string("eventfd: ") + std::strerror(errno));
}

CaptureSession::~CaptureSession() {
  if (thread_.joinable()) {
    RequestStop(StopReason::kShutdown);
    JoinThread();
  }
  if (wakeFd_ >= 0) close(wakeFd_);
}

void CaptureSession::Start() {
  thread_ = std::thread([this] { Run(); });
  unjoinedThreads_.fetch_add(1, std::memory_order_relaxed);
}

void CaptureSession::Join() {
  if (thread_.joinable()) JoinThread();
}

void CaptureSession::JoinThread() {
  thread_.join();
  unjoinedThreads_.fetch_sub(1, std::memory_order_relaxed);
}

void CaptureSession::RequestStop(StopReason reason) {
  StopReason expected = StopReason::kNone;
  requested_.compare_exchange_strong(expected, reason);
  const uint64_t one = 1;
  // A failed write means the counter is already non-zero: the loop wakes anyway.
  [[maybe_unused]] ssize_t written = write(wakeFd_, &one, sizeof(one));
}

// ---- capture thread ----

void CaptureSession::Run() {
  // Named so that top -H, perf and /proc show which threads capture.
  pthread_setname_np(pthread_self(), "pcapd-capture");
  try {
    OpenSources();
    recorder_.emplace(options_.format, options_.section, interfaces_, options_.limits);
    recorder_->Open();
  } catch (const CaptureError& error) {
    sources_.clear();
    sink_->OnFailed({error.code(), error.what()});
    return;
  } catch (const std::exception& error) {
    sources_.clear();
    sink_->OnFailed({codes::kCaptureFailed, error.what()});
    return;
  }
  startNs_ = RealtimeNs();
  startMonoNs_ = MonotonicNs();
  armedCpuNs_ = NowNs(CLOCK_THREAD_CPUTIME_ID);
  segmentStartMonoNs_ = startMonoNs_;
  sink_->OnArmed({startNs_, interfaces_});
  Loop();
  Finish();
}

void CaptureSession::OpenSources() {
  std::vector<std::unique_ptr<LiveSource>> opened;
  for (const auto& source : options_.sources) opened.push_back(LiveSource::Open(source));
  for (const auto& source : opened) interfaces_.push_back(source->info());
  counters_.resize(opened.size());
  staged_.resize(opened.size() > 1 ? opened.size() : 0);
  slots_.resize(opened.size());
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i] = {this, i};
  sources_ = std::move(opened);
}

int CaptureSession::PollTimeoutMs(uint64_t nowNs) const {
  uint64_t waitNs = options_.durationNs - std::min(options_.durationNs, nowNs - startMonoNs_);
  if (options_.idleNs != 0 && anyArrival_) {
    waitNs = std::min(waitNs, options_.idleNs - std::min(options_.idleNs, nowNs - lastArrivalMonoNs_));
  }
  if (options_.segmentNs != 0) {
    waitNs = std::min(waitNs, options_.segmentNs - std::min(options_.segmentNs, nowNs - segmentStartMonoNs_));
  }
  bool anyStaged = false;
  for (const auto& queue : staged_) anyStaged = anyStaged || !queue.empty();
  if (anyStaged) waitNs = std::min(waitNs, options_.mergeHoldbackNs / 2);
  int timeoutMs = static_cast<int>(std::min<uint64_t>((waitNs + 999'999) / 1'000'000, kMaxPollMs));
  for (const auto& source : sources_) {
    const int required = source->RequiredPollTimeoutMs();
    if (required >= 0) timeoutMs = std::min(timeoutMs, required);
  }
  return timeoutMs;
}

void CaptureSession::Loop() {
  const size_t count = sources_.size();
  std::vector<pollfd> fds(count + 1);
  for (size_t i = 0; i < count; ++i) fds[i] = {sources_[i]->fd(), POLLIN, 0};
  fds[count] = {wakeFd_, POLLIN, 0};
  std::vector<short> revents(count);

  while (reason_ == StopReason::kNone) {
    const StopReason requested = requested_.load();
    if (requested != StopReason::kNone) {
      Stop(requested);
      break;
    }
    const uint64_t now = MonotonicNs();
    if (now - startMonoNs_ >= options_.durationNs) {
      Stop(StopReason::kDuration);
      break;
    }
    if (options_.idleNs != 0 && anyArrival_ && now - lastArrivalMonoNs_ >= options_.idleNs) {
      Stop(StopReason::kTimeout);
      break;
    }
    if (options_.segmentNs != 0 && now - segmentStartMonoNs_ >= options_.segmentNs) {
      if (recorder_->SegmentHasPackets()) RotateSegment();
      segmentStartMonoNs_ = now;
      if (reason_ != StopReason::kNone) break;
    }
    if (!staged_.empty()) {
      FlushStaged(RealtimeNs() - options_.mergeHoldbackNs);
      if (reason_ != StopReason::kNone) break;
    }

    const int ready = poll(fds.data(), fds.size(), PollTimeoutMs(now));
    if (ready < 0) {
      if (errno == EINTR) continue;
      errorMessage_ = std::string("poll: ") + std::strerror(errno);
      Stop(StopReason::kError);
      break;
    }
    if (fds[count].revents != 0) continue;  // RequestStop(): handled at the top
    for (size_t i = 0; i < count; ++i) revents[i] = fds[i].revents;
    DispatchReady(revents, ready == 0);
  }

  const bool timeBased = reason_ == StopReason::kDuration || reason_ == StopReason::kTimeout ||
                         reason_ == StopReason::kCancelled || reason_ == StopReason::kShutdown;
  if (timeBased) {
    // Collect what the kernel timestamped before the stop, nothing after it.
    const uint64_t cutoffNs = RealtimeNs();
    const uint64_t drainUntil = MonotonicNs() + kFinalDrainNs;
    draining_ = true;
    drainCutoffNs_ = cutoffNs;
    for (uint64_t now = MonotonicNs(); now < drainUntil && !writingClosed_; now = MonotonicNs()) {
      const int waitMs = static_cast<int>((drainUntil - now + 999'999) / 1'000'000);
      const int ready = poll(fds.data(), count, waitMs);
      if (ready <= 0) break;
      for (size_t i = 0; i < count; ++i) revents[i] = fds[i].revents;
      if (!DispatchReady(revents, false)) break;
    }
  }
  if (!staged_.empty()) FlushStaged(std::numeric_limits<uint64_t>::max());
}

bool CaptureSession::DispatchReady(const std::vector<short>& revents, bool timedOut) {
  for (size_t i = 0; i < sources_.size(); ++i) {
    LiveSource& source = *sources_[i];
    if (revents[i] == 0 && !(timedOut && source.RequiredPollTimeoutMs() >= 0)) continue;
    const int result = source.Dispatch(&CaptureSession::OnPcapPacket, reinterpret_cast<u_char*>(&slots_[i]));
    if (result > 0) {
      anyArrival_ = true;
      lastArrivalMonoNs_ = MonotonicNs();
    } else if (result == PCAP_ERROR) {
      errorMessage_ = source.info().name + ": " + source.LastError();
      writingClosed_ = true;
      Stop(StopReason::kError);
      return false;
    } else if (result == PCAP_ERROR_BREAK) {
      return false;
    }
  }
  return true;
}

void CaptureSession::OnPcapPacket(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
  const auto* slot = reinterpret_cast<const SourceSlot*>(user);
  CaptureSession& self = *slot->session;
  const InterfaceInfo& info = self.interfaces_[slot->index];
  // tv_usec carries nanoseconds when the handle runs at nanosecond precision.
  const uint64_t fraction = static_cast<uint64_t>(header->ts.tv_usec) * (info.nanosecond ? 1u : 1000u);
  const PacketRecord packet{slot->index,
                            static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000'000u + fraction,
                            header->caplen, header->len, bytes};
  self.Accept(packet);
}

void CaptureSession::Accept(const PacketRecord& packet) {
  if (writingClosed_) return;
  if (draining_ && packet.timestampNs > drainCutoffNs_) return;
  if (staged_.empty()) {
    Deliver(packet);
  } else {
    Stage(packet);
  }
}

void CaptureSession::Stage(const PacketRecord& packet) {
  StagedPacket staged{packet, std::make_unique_for_overwrite<uint8_t[]>(packet.caplen)};
  std::memcpy(staged.bytes.get(), packet.data, packet.caplen);
  staged.record.data = staged.bytes.get();
  stagedBytes_ += packet.caplen;
  staged_[packet.iface].push_back(std::move(staged));
  if (stagedBytes_ > kMaxStagedBytes) FlushStaged(packet.timestampNs);
}

void CaptureSession::FlushStaged(uint64_t upToNs) {
  while (!writingClosed_) {
    std::deque<StagedPacket>* oldest = nullptr;
    for (auto& queue : staged_) {
      if (!queue.empty() && queue.front().record.timestampNs <= upToNs &&
          (oldest == nullptr || queue.front().record.timestampNs < oldest->front().record.timestampNs)) {
        oldest = &queue;
      }
    }
    if (oldest == nullptr) return;
    Deliver(oldest->front().record);
    stagedBytes_ -= oldest->front().record.caplen;
    oldest->pop_front();
  }
  for (auto& queue : staged_) queue.clear();
  stagedBytes_ = 0;
}

void CaptureSession::Deliver(const PacketRecord& packet) {
  if (writingClosed_) return;
  Recorder::Verdict verdict = recorder_->Check(packet);
  if (verdict == Recorder::Verdict::kRotate) {
    if (!recorder_->CanOpenNextSegment(packet)) {
      CloseWriting(StopReason::kBytes);
      return;
    }
    RotateSegment();
    verdict = recorder_->Check(packet);
  }
  if (verdict != Recorder::Verdict::kWrite) {
    CloseWriting(StopReason::kBytes);
    return;
  }
  recorder_->Write(packet);
  ++counters_[packet.iface].written;
  packetsSeen_.store(recorder_->packets(), std::memory_order_relaxed);
  bytesSeen_.store(recorder_->bytesWritten(), std::memory_order_relaxed);
  if (options_.packetDebug) {
    if (summaries_.size() < options_.maxSummaryLines) {
      summaries_.push_back(SummarizePacket(interfaces_[packet.iface], packet));
    } else {
      ++summariesOmitted_;
    }
  }
  if (recorder_->PacketLimitReached()) {
    CloseWriting(StopReason::kPackets);
  } else if (recorder_->Full()) {
    CloseWriting(StopReason::kBytes);
  }
}

void CaptureSession::RotateSegment() {
  ReadCounters();
  std::vector<FileOutput> files = recorder_->CloseSegment(counters_, startNs_, RealtimeNs());
  sink_->OnSegment({std::move(files)});
  recorder_->OpenNextSegment();
  segmentStartMonoNs_ = MonotonicNs();
}

void CaptureSession::CloseWriting(StopReason reason) {
  writingClosed_ = true;
  Stop(reason);
  // A limit is usually hit inside pcap_dispatch: abandon the rest of the ring
  // block. Nothing is dispatched after writing closes, so the flag left set
  // when this runs outside a dispatch does no harm.
  for (auto& source : sources_) source->BreakLoop();
}

void CaptureSession::Stop(StopReason reason) {
  if (reason_ == StopReason::kNone) reason_ = reason;
}

void CaptureSession::ReadCounters() {
  for (size_t i = 0; i < sources_.size(); ++i) sources_[i]->ReadStats(counters_[i]);
}

void CaptureSession::Finish() {
  ReadCounters();
  DoneEvent done;
  done.endNs = RealtimeNs();
  if (recorder_->segment() > 0 && !recorder_->SegmentHasPackets()) {
    recorder_->DiscardSegment();  // a trailing empty segment is noise
  } else {
    done.files = recorder_->CloseSegment(counters_, startNs_, done.endNs);
  }
  sources_.clear();
  done.prefetchCpuNs = recorder_->prefetchCpuNs();
  recorder_->ReleaseSpareMemory();
  done.reason = reason_;
  done.errorMessage = errorMessage_;
  done.startNs = startNs_;
  done.firstNs = recorder_->firstNs();
  done.lastNs = recorder_->lastNs();
  done.packets = recorder_->packets();
  done.bytes = recorder_->bytesWritten();
  done.interfaces = interfaces_;
  done.counters = counters_;
  done.summaries = std::move(summaries_);
  done.summariesOmitted = summariesOmitted_;
  done.threadCpuNs = NowNs(CLOCK_THREAD_CPUTIME_ID) - armedCpuNs_;
  sink_->OnDone(std::move(done));
}

}  // namespace pcapd
