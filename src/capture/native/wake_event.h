// An eventfd that wakes a thread blocked in poll(): a cold capture's thread
// (to stop) and a warm interface's reader (to stop, or to arm a capture). Any
// thread may Signal(); the owning thread polls fd() and may Drain() it.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "capture_error.h"

namespace pcapd {

class WakeEvent {
 public:
  WakeEvent() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) throw CaptureError(codes::kCaptureFailed, std::string("eventfd: ") + std::strerror(errno));
  }
  ~WakeEvent() { close(fd_); }
  WakeEvent(const WakeEvent&) = delete;
  WakeEvent& operator=(const WakeEvent&) = delete;

  int fd() const { return fd_; }

  void Signal() const {
    const uint64_t one = 1;
    // A failed write means the counter is already non-zero: the poller wakes anyway.
    [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof(one));
  }

  // Resets the counter, so the next poll() waits again.
  void Drain() const {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t drained = read(fd_, &count, sizeof(count));
  }

 private:
  int fd_;
};

}  // namespace pcapd
