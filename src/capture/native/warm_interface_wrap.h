// The JavaScript class `WarmInterface`: new WarmInterface(options, onEvent);
// start(); stop(); stats(). It owns one WarmReader and carries its events
// ("up", "down", "closed") to `onEvent(name, payload)` through one
// thread-safe function, released by the reader thread as its last act. A
// `Capture` built with `{ warm: <WarmInterface> }` attaches to it.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "warm_reader.h"

namespace pcapd {

class WarmInterfaceWrap : public Napi::ObjectWrap<WarmInterfaceWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit WarmInterfaceWrap(const Napi::CallbackInfo& info);
  ~WarmInterfaceWrap() override;

  // The reader behind `value` when it is a WarmInterface object; null otherwise.
  static std::shared_ptr<WarmReader> ReaderOf(Napi::Value value);

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  std::shared_ptr<WarmReader> reader_;
  napi_threadsafe_function function_ = nullptr;
  bool started_ = false;
};

// Ends and joins every warm reader of `env` (environment teardown).
void StopAllWarmReaders(Napi::Env env);

}  // namespace pcapd
