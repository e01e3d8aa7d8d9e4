#include "capture_session.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <limits>

#include "capture_error.h"
#include "clock.h"

namespace pcapd {

namespace {

// With several interfaces, the merge queues are flushed early beyond this, so
// memory stays bounded even at line rate.
constexpr uint64_t kMaxStagedBytes = 64u * 1024 * 1024;
constexpr int kMaxPollMs = 1000;

}  // namespace

CaptureSession::CaptureSession(SessionOptions options, std::unique_ptr<EventSink> sink)
    : options_(std::move(options)),
      sink_(std::move(sink)),
      output_(options_.output, *sink_, [this](std::vector<InterfaceCounters>& counters) { ReadCounters(counters); }),
      segmentClock_(options_.segmentNs, options_.segmentAlign) {}

CaptureSession::~CaptureSession() {
  if (thread_.joinable()) {
    RequestStop(StopReason::kShutdown);
    JoinThread();
  }
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
  wake_.Signal();
}

void CaptureSession::RequestRotate() {
  rotateRequested_.store(true);
  wake_.Signal();
}

// ---- capture thread ----

void CaptureSession::Run() {
  // Named so that top -H, perf and /proc show which threads capture.
  pthread_setname_np(pthread_self(), "pcapd-capture");
  try {
    OpenSources();
    output_.Open(interfaces_, RealtimeNs());
  } catch (const CaptureError& error) {
    sources_.clear();
    sink_->OnFailed({error.code(), error.what()});
    sink_->Close();
    return;
  } catch (const std::exception& error) {
    sources_.clear();
    sink_->OnFailed({codes::kCaptureFailed, error.what()});
    sink_->Close();
    return;
  }
  startNs_ = RealtimeNs();  // the files were opened a moment before; this is when recording starts
  output_.MarkRecordingStart(startNs_);
  startMonoNs_ = MonotonicNs();
  armedCpuNs_ = ThreadCpuNs();
  segmentClock_.Restart(startMonoNs_, startNs_);
  if (segmentClock_.enabled()) output_.CutAt(segmentClock_.BoundaryRealNs());
  output_.StartFlowClock(startNs_, startMonoNs_);
  sink_->OnArmed({startNs_, interfaces_});
  // Nothing leaves this thread as an exception (std::terminate would end the
  // daemon and every capture): a failure past the packet path, such as an
  // allocation while closing, fails this capture alone.
  try {
    Loop();
  } catch (const std::exception& error) {
    errorMessage_ = std::string("capture failed: ") + error.what();
    Stop(StopReason::kError);
  }
  try {
    Finish();
  } catch (const std::exception& error) {
    sources_.clear();
    sink_->OnFailed({codes::kCaptureFailed, std::string("capture failed while closing: ") + error.what()});
    sink_->Close();
  }
}

void CaptureSession::OpenSources() {
  std::vector<std::unique_ptr<LiveSource>> opened;
  for (const auto& source : options_.sources) opened.push_back(LiveSource::Open(source));
  for (const auto& source : opened) interfaces_.push_back(source->info());
  staged_.resize(opened.size() > 1 ? opened.size() : 0);
  slots_.resize(opened.size());
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i] = {this, i};
  sources_ = std::move(opened);
}

int CaptureSession::PollTimeoutMs(uint64_t nowNs) const {
  uint64_t waitNs = options_.durationNs == 0
                        ? std::numeric_limits<uint64_t>::max()
                        : options_.durationNs - std::min(options_.durationNs, nowNs - startMonoNs_);
  if (options_.idleNs != 0 && anyArrival_) {
    waitNs = std::min(waitNs, options_.idleNs - std::min(options_.idleNs, nowNs - lastArrivalMonoNs_));
  }
  const uint64_t segmentDeadlineNs = segmentClock_.DeadlineMonoNs();
  waitNs = std::min(waitNs, segmentDeadlineNs > nowNs ? segmentDeadlineNs - nowNs : 0);
  const uint64_t flowIdleNs = output_.FlowIdleDeadlineMonoNs();
  waitNs = std::min(waitNs, flowIdleNs > nowNs ? flowIdleNs - nowNs : 0);
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
  fds[count] = {wake_.fd(), POLLIN, 0};
  std::vector<short> revents(count);

  while (reason_ == StopReason::kNone) {
    const StopReason requested = requested_.load();
    if (requested != StopReason::kNone) {
      Stop(requested);
      break;
    }
    const uint64_t now = MonotonicNs();
    if (options_.durationNs != 0 && now - startMonoNs_ >= options_.durationNs) {
      Stop(StopReason::kDuration);
      break;
    }
    if (options_.idleNs != 0 && anyArrival_ && now - lastArrivalMonoNs_ >= options_.idleNs) {
      Stop(StopReason::kTimeout);
      break;
    }
    if (now >= output_.FlowIdleDeadlineMonoNs()) {
      Stop(StopReason::kFlowIdle);
      break;
    }
    if (rotateRequested_.exchange(false)) {
      if (!staged_.empty()) FlushStaged(RealtimeNs() - options_.mergeHoldbackNs);
      output_.RotateIfNotEmpty(RealtimeNs());
    }
    if (segmentClock_.Due(now)) {  // no packet crossed the boundary within the grace period
      if (!staged_.empty()) FlushStaged(RealtimeNs() - options_.mergeHoldbackNs);
      output_.CutIfPending();
      segmentsSeen_ = output_.segment();
      segmentClock_.Advance();
      output_.CutAt(segmentClock_.BoundaryRealNs());
    }
    if (output_.segment() != segmentsSeen_) {  // a packet past the boundary, a byte cut or a rotate began a segment
      segmentsSeen_ = output_.segment();
      segmentClock_.Restart(now, RealtimeNs());
      if (segmentClock_.enabled()) output_.CutAt(segmentClock_.BoundaryRealNs());
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
    if (fds[count].revents != 0) {  // RequestStop() or RequestRotate(): handled at the top
      wake_.Drain();
      continue;
    }
    for (size_t i = 0; i < count; ++i) revents[i] = fds[i].revents;
    DispatchReady(revents, ready == 0);
  }

  const bool timeBased = reason_ == StopReason::kDuration || reason_ == StopReason::kTimeout ||
                         reason_ == StopReason::kFlowIdle || reason_ == StopReason::kCancelled ||
                         reason_ == StopReason::kShutdown;
  if (timeBased) {
    // Collect what the kernel timestamped before the stop, nothing after it.
    const uint64_t cutoffNs = RealtimeNs();
    const uint64_t drainUntil = MonotonicNs() + LiveSource::kFinalDrainNs;
    draining_ = true;
    drainCutoffNs_ = cutoffNs;
    for (uint64_t now = MonotonicNs(); now < drainUntil && !output_.closed(); now = MonotonicNs()) {
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
      CloseWriting(StopReason::kError);
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
  const PacketRecord packet{slot->index, static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000'000u + fraction,
                            header->caplen, header->len, bytes};
  // Inside libpcap's C frames: staging can fail to allocate too, and must not throw past them.
  try {
    self.Accept(packet);
  } catch (const std::exception& error) {
    self.errorMessage_ = std::string("capture failed: ") + error.what();
    self.CloseWriting(StopReason::kError);
  }
}

void CaptureSession::Accept(const PacketRecord& packet) {
  if (output_.closed() || reason_ == StopReason::kError) return;
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
  while (!output_.closed() && reason_ != StopReason::kError) {
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
  const StopReason reached = output_.Deliver(packet);
  if (reached != StopReason::kNone) CloseWriting(reached);
}

void CaptureSession::CloseWriting(StopReason reason) {
  Stop(reason);
  // A limit is usually hit inside pcap_dispatch: abandon the rest of the ring
  // block. Nothing is dispatched after writing closes, so the flag left set
  // when this runs outside a dispatch does no harm.
  for (auto& source : sources_) source->BreakLoop();
}

void CaptureSession::Stop(StopReason reason) {
  if (reason_ == StopReason::kNone) reason_ = reason;
}

void CaptureSession::ReadCounters(std::vector<InterfaceCounters>& counters) const {
  for (size_t i = 0; i < sources_.size() && i < counters.size(); ++i) sources_[i]->ReadStats(counters[i]);
}

void CaptureSession::Finish() {
  DoneEvent done = output_.Finish(RealtimeNs(), reason_, errorMessage_, startNs_, ThreadCpuNs() - armedCpuNs_);
  // The file goes to JavaScript before the handles close: closing a ring runs
  // the kernel's synchronize_net (about 12 ms here), which a finished capture
  // must not wait for.
  sink_->OnDone(std::move(done));
  sources_.clear();
  sink_->Close();
}

}  // namespace pcapd
