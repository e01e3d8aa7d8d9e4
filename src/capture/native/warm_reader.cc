#include "warm_reader.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "capture_error.h"
#include "clock.h"
#include "warm_capture.h"

namespace pcapd {

namespace {

constexpr int kMaxPollMs = 1000;
constexpr uint64_t kIdleReadNs = 20'000'000;
constexpr uint64_t kStatsEveryNs = 100'000'000;
// With no capture attached nobody reads the counters but /stats and /interfaces.
constexpr uint64_t kIdleStatsEveryNs = 1'000'000'000;

// A poll timeout that does not wake before `waitNs`, capped at kMaxPollMs.
int CeilMs(uint64_t waitNs) { return static_cast<int>(std::min<uint64_t>((waitNs + 999'999) / 1'000'000, kMaxPollMs)); }

}  // namespace

WarmReader::WarmReader(WarmReaderOptions options, std::unique_ptr<ReaderEventSink> sink)
    : options_(std::move(options)), sink_(std::move(sink)), ring_(options_.lookbackBytes, options_.lookbackNs) {}

WarmReader::~WarmReader() {
  if (thread_.joinable()) {
    Stop();
    Join();
  }
}

void WarmReader::Start() {
  thread_ = std::thread([self = shared_from_this()] { self->Run(); });
  liveThreads_.fetch_add(1, std::memory_order_relaxed);
}

void WarmReader::Stop() {
  stopRequested_.store(true);
  Wake();
}

void WarmReader::Join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
    liveThreads_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void WarmReader::Wake() { wake_.Signal(); }

void WarmReader::Attach(std::shared_ptr<WarmCapture> capture) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (accepting_) {
      pending_.push_back(std::move(capture));
      Wake();
      return;
    }
  }
  capture->Fail(codes::kInterfaceDown, options_.source.device + ": the warm interface is not open");
}

std::optional<InterfaceInfo> WarmReader::info() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return info_;
}

WarmReaderStats WarmReader::stats() const {
  WarmReaderStats out;
  out.up = up_.load(std::memory_order_relaxed);
  out.received = received_.load(std::memory_order_relaxed);
  out.dropped = dropped_.load(std::memory_order_relaxed);
  out.ifDropped = ifDropped_.load(std::memory_order_relaxed);
  out.packetsRead = packetsRead_.load(std::memory_order_relaxed);
  out.attached = attachedCount_.load(std::memory_order_relaxed);
  out.ringCapacityBytes = ring_.capacityBytes();
  out.ringUsedBytes = ring_.usedBytes();
  out.ringPackets = ring_.packets();
  out.ringOldestNs = ring_.oldestNs();
  out.cpuNs = cpuNs_.load(std::memory_order_relaxed);
  return out;
}

void WarmReader::ReadCounters(InterfaceCounters& counters) const {
  if (source_) source_->ReadStats(counters);
}

// ---- reader thread ----

void WarmReader::Run() {
  pthread_setname_np(pthread_self(), "pcapd-warm");
  if (Open()) {
    sink_->OnUp({*info_});
    Loop();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
  }
  const bool failed = !errorMessage_.empty();
  EndAll(failed ? StopReason::kError : StopReason::kShutdown, errorMessage_);
  for (auto& capture : pending_)
    capture->Fail(codes::kInterfaceDown, options_.source.device + ": the warm interface closed");
  pending_.clear();
  up_.store(false);
  PublishStats();
  source_.reset();
  if (failed) sink_->OnDown({errorCode_, errorMessage_});
  sink_->Close();
}

bool WarmReader::Open() {
  try {
    source_ = LiveSource::Open(options_.source);
    if (!options_.lookbackFilter.empty()) {
      ringFilter_.emplace(source_->dlt(), FilterProgram::kUserSpaceSnaplen, options_.lookbackFilter);
    }
  } catch (const CaptureError& error) {
    source_.reset();
    errorCode_ = error.code();
    errorMessage_ = error.what();
    return false;
  }
  dlt_.store(source_->dlt());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    info_ = source_->info();
    accepting_ = true;
  }
  up_.store(true);
  return true;
}

int WarmReader::PollTimeoutMs(uint64_t nowMonoNs) const {
  uint64_t deadline = std::numeric_limits<uint64_t>::max();
  for (const auto& capture : attached_) deadline = std::min(deadline, capture->NextDeadlineMonoNs());
  int timeoutMs = kMaxPollMs;
  if (deadline != std::numeric_limits<uint64_t>::max()) {
    timeoutMs = CeilMs(deadline > nowMonoNs ? deadline - nowMonoNs : 0);
  }
  const int required = source_->RequiredPollTimeoutMs();
  if (required >= 0) timeoutMs = std::min(timeoutMs, required);
  return timeoutMs;
}

void WarmReader::ArmPending(uint64_t nowMonoNs) {
  std::vector<std::shared_ptr<WarmCapture>> arriving;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    arriving.swap(pending_);
  }
  for (auto& capture : arriving) {
    // Between two dispatches: every packet read so far is in the ring, every
    // later one goes to the capture live. A failure arming one capture (an
    // allocation) fails that capture, never the reader and the others.
    try {
      if (capture->Arm(*info_, ring_, RealtimeNs(), nowMonoNs) && !capture->ended()) attached_.push_back(capture);
    } catch (const std::exception& error) {
      capture->Fail(codes::kCaptureFailed, std::string("capture failed while arming: ") + error.what());
    }
  }
  attachedCount_.store(attached_.size(), std::memory_order_relaxed);
}

// With captures attached, the reader waits on the handle and reads each ring
// block as the kernel retires it (at most 1 ms after its first packet), so a
// capture ends on time. With none, nobody waits for a packet: it reads the
// ring at most every kIdleReadNs, about 50 wakeups a second under traffic
// rather than up to a thousand, and none on a quiet interface (it waits on
// the handle again once kIdleReadNs have passed since the last read); it
// reads the ring once more before arming a capture, so the lookback ring is
// complete up to that moment. The kernel ring absorbs the interval. An
// interface that goes down or away wakes the wait (POLLERR) like a packet.
bool WarmReader::ReadRing() {
  nowMonoNs_ = MonotonicNs();
  const int result = source_->Dispatch(&WarmReader::OnPcapPacket, reinterpret_cast<u_char*>(this));
  if (result == PCAP_ERROR) {
    errorCode_ = codes::kInterfaceDown;
    errorMessage_ = source_->info().name + ": " + source_->LastError();
    return false;
  }
  Sweep();
  return true;
}

bool WarmReader::HasPending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !pending_.empty();
}

void WarmReader::Loop() {
  // The wake descriptor first: while no capture is attached only it is watched.
  pollfd fds[2] = {{wake_.fd(), POLLIN, 0}, {source_->fd(), POLLIN, 0}};
  uint64_t lastStatsMonoNs = 0;
  while (!stopRequested_.load()) {
    uint64_t now = MonotonicNs();
    if (HasPending()) {
      if (!ReadRing()) return;
      ArmPending(now);
    }
    for (auto& capture : attached_) capture->Tick(now);
    Sweep();
    if (ring_.capacityBytes() != 0) ring_.ExpireBefore(RealtimeNs());
    const bool watching = !attached_.empty();
    const uint64_t statsEveryNs = watching ? kStatsEveryNs : kIdleStatsEveryNs;
    if (now - lastStatsMonoNs >= statsEveryNs) {
      PublishStats();
      lastStatsMonoNs = now;
    }

    // Idle: right after a read, sleep on the wake descriptor alone until
    // kIdleReadNs have passed; then wait on the handle too, until the next
    // statistics are due.
    const uint64_t sinceReadNs = now - nowMonoNs_;
    const bool resting = !watching && sinceReadNs < kIdleReadNs;
    int timeoutMs = 0;
    if (watching) {
      timeoutMs = PollTimeoutMs(now);
    } else if (resting) {
      timeoutMs = CeilMs(kIdleReadNs - sinceReadNs);
    } else {
      const uint64_t statsDueNs = lastStatsMonoNs + statsEveryNs;
      timeoutMs = CeilMs(statsDueNs > now ? statsDueNs - now : 0);
      const int required = source_->RequiredPollTimeoutMs();
      if (required >= 0) timeoutMs = std::min(timeoutMs, required);
    }
    const int ready = poll(fds, resting ? 1 : 2, timeoutMs);
    if (ready < 0) {
      if (errno == EINTR) continue;
      errorCode_ = codes::kCaptureFailed;
      errorMessage_ = std::string("poll: ") + std::strerror(errno);
      return;
    }
    if (fds[0].revents != 0) wake_.Drain();  // a stop or an attach: handled at the top
    if (resting) continue;
    if (fds[1].revents == 0 && !(ready == 0 && source_->RequiredPollTimeoutMs() >= 0)) continue;
    if (!ReadRing()) return;
  }
}

void WarmReader::OnPcapPacket(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
  auto& self = *reinterpret_cast<WarmReader*>(user);
  const InterfaceInfo& info = *self.info_;
  // tv_usec carries nanoseconds when the handle runs at nanosecond precision.
  const uint64_t fraction = static_cast<uint64_t>(header->ts.tv_usec) * (info.nanosecond ? 1u : 1000u);
  const uint64_t timestampNs = static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000'000u + fraction;
  self.packetsRead_.fetch_add(1, std::memory_order_relaxed);
  if (self.ring_.capacityBytes() != 0 && (!self.ringFilter_ || self.ringFilter_->Matches(*header, bytes))) {
    self.ring_.Append(timestampNs, header->caplen, header->len, bytes);
  }
  for (auto& capture : self.attached_) capture->OnPacket(*header, bytes, timestampNs, self.nowMonoNs_);
}

void WarmReader::Sweep() {
  std::erase_if(attached_, [](const auto& capture) { return capture->ended(); });
  attachedCount_.store(attached_.size(), std::memory_order_relaxed);
}

void WarmReader::EndAll(StopReason reason, const std::string& message) {
  for (auto& capture : attached_) capture->End(reason, message);
  attached_.clear();
  attachedCount_.store(0, std::memory_order_relaxed);
}

void WarmReader::PublishStats() {
  InterfaceCounters counters;
  ReadCounters(counters);
  if (counters.statsValid) {
    received_.store(counters.received, std::memory_order_relaxed);
    dropped_.store(counters.dropped, std::memory_order_relaxed);
    ifDropped_.store(counters.ifDropped, std::memory_order_relaxed);
  }
  cpuNs_.store(ThreadCpuNs(), std::memory_order_relaxed);
}

}  // namespace pcapd
