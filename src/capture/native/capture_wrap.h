// The JavaScript class `Capture`: new Capture(options, onEvent); start();
// cancel(reason); progress(). It turns checked options into a CaptureSession
// and carries the session's events to `onEvent(name, payload)` through one
// thread-safe function, released after the last event ("done" or "failed").
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "capture_control.h"

namespace pcapd {

class CaptureWrap : public Napi::ObjectWrap<CaptureWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CaptureWrap(const Napi::CallbackInfo& info);
  ~CaptureWrap() override;
  // JavaScript `Capture` objects not yet collected, process-wide.
  static int64_t LiveObjects() { return liveObjects_.load(std::memory_order_relaxed); }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Rotate(const Napi::CallbackInfo& info);
  Napi::Value Progress(const Napi::CallbackInfo& info);

  std::shared_ptr<CaptureControl> session_;
  // Released by the capture thread after its last event; released here only
  // if the capture was never started, so the event loop is not held open.
  napi_threadsafe_function function_ = nullptr;
  bool started_ = false;
  static std::atomic<int64_t> liveObjects_;
};

// resources(): { captureObjects, captureThreads }, to check nothing is kept
// after captures end.
Napi::Value NativeResources(const Napi::CallbackInfo& info);

// Ends and joins every capture thread of `env` (environment teardown).
void StopAllCaptures(Napi::Env env);

}  // namespace pcapd
