// The events a capture reports to JavaScript (armed, segment, done, failed) and
// the reasons it ends, whichever path its packets take (a cold capture's own
// handles or a warm interface's shared reader).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recorder.h"

namespace pcapd {

// kTimeout is the generic idle limit; kFlowEnd and kFlowIdle end a flow
// capture (flow_tracker.h): its TCP close, or its flow gone quiet.
enum class StopReason {
  kNone,
  kPackets,
  kBytes,
  kDuration,
  kTimeout,
  kFlowEnd,
  kFlowIdle,
  kCancelled,
  kShutdown,
  kError,
};
const char* StopReasonName(StopReason reason);

struct ArmedEvent {
  uint64_t startNs = 0;
  std::vector<InterfaceInfo> interfaces;
  // Warm captures: how far back the file starts (the ring's age when it held
  // less than asked) and how many packets came from the ring.
  uint64_t lookbackNs = 0;
  uint64_t lookbackPackets = 0;
};

struct SegmentEvent {
  std::vector<FileOutput> files;
};

struct DoneEvent {
  StopReason reason = StopReason::kNone;
  std::string errorMessage;  // set when reason is kError
  uint64_t startNs = 0;
  uint64_t endNs = 0;
  uint64_t firstNs = 0;
  uint64_t lastNs = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;             // all files of all segments
  std::vector<FileOutput> files;  // the last segment's files
  std::vector<InterfaceInfo> interfaces;
  std::vector<InterfaceCounters> counters;
  std::vector<std::string> summaries;
  uint64_t summariesOmitted = 0;
  uint64_t threadCpuNs = 0;    // CPU time of the capture thread from arming to close
  uint64_t prefetchCpuNs = 0;  // CPU time of its chunk prefetch thread
};

struct FailedEvent {
  std::string code;
  std::string message;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnArmed(ArmedEvent event) = 0;
  virtual void OnSegment(SegmentEvent event) = 0;
  virtual void OnDone(DoneEvent event) = 0;
  virtual void OnFailed(FailedEvent event) = 0;
  // The capture's last act, after done or failed and after its resources are
  // released: nothing is reported after it.
  virtual void Close() = 0;
};

}  // namespace pcapd
