// What JavaScript's `Capture` object drives, whichever path its packets take:
// a cold capture (CaptureSession, its own handles and thread) or a capture
// attached to a warm interface (WarmCapture, fed by a shared WarmReader).
// Every method runs on the JavaScript thread; packets() and bytes() may lag
// the capture thread by a packet.
#pragma once

#include <cstdint>

#include "capture_events.h"

namespace pcapd {

class CaptureControl {
 public:
  virtual ~CaptureControl() = default;
  virtual void Start() = 0;
  // Ends the capture as soon as the thread that feeds it sees the request.
  virtual void RequestStop(StopReason reason) = 0;
  // Closes the current segment (if it holds packets) and hands it over as
  // soon as the thread that feeds the capture sees the request; capturing
  // goes on in the next segment.
  virtual void RequestRotate() = 0;
  // Waits for whatever thread is still working for this capture alone.
  virtual void Join() = 0;
  virtual uint64_t packets() const = 0;
  virtual uint64_t bytes() const = 0;
  // Segments handed over so far: the number of the segment being written.
  virtual uint32_t segment() const = 0;
};

}  // namespace pcapd
