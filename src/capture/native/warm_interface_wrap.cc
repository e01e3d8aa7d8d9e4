#include "warm_interface_wrap.h"

#include <variant>

#include "capture_error.h"
#include "instance_data.h"
#include "js_args.h"

namespace pcapd {

namespace {

struct ReaderClosedEvent {};
using ReaderEvent = std::variant<ReaderUpEvent, ReaderDownEvent, ReaderClosedEvent>;

constexpr size_t kMaxInterfaceNameBytes = 255;
constexpr size_t kMaxFilterBytes = 65535;
constexpr uint32_t kMaxSnaplen = 262144;
constexpr uint64_t kMinBufferBytes = 64 * 1024;
constexpr uint64_t kMaxBufferBytes = 1024ull * 1024 * 1024;
constexpr uint64_t kMaxLookbackBytes = 64ull * 1024 * 1024 * 1024;
constexpr uint64_t kMaxLookbackMs = 24ull * 3600 * 1000;

// ---- JavaScript thread: building payloads ----

const char* EventName(const ReaderUpEvent&) { return "up"; }
const char* EventName(const ReaderDownEvent&) { return "down"; }
const char* EventName(const ReaderClosedEvent&) { return "closed"; }

Napi::Object Payload(Napi::Env env, const ReaderUpEvent& event) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", event.info.name);
  out.Set("linktype", event.info.linktype);
  out.Set("snaplen", event.info.snaplen);
  out.Set("nanosecond", event.info.nanosecond);
  return out;
}

Napi::Object Payload(Napi::Env env, const ReaderDownEvent& event) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("code", event.code);
  out.Set("message", event.message);
  return out;
}

Napi::Object Payload(Napi::Env env, const ReaderClosedEvent&) { return Napi::Object::New(env); }

// Runs on the JavaScript thread for each event; env is null when the
// environment is tearing down and the event only needs freeing.
void CallJs(Napi::Env env, Napi::Function onEvent, std::nullptr_t*, ReaderEvent* raw) {
  std::unique_ptr<ReaderEvent> event(raw);
  if (env == nullptr || onEvent.IsEmpty()) return;
  Napi::HandleScope scope(env);
  try {
    std::visit([&](const auto& e) { onEvent.Call({Napi::String::New(env, EventName(e)), Payload(env, e)}); }, *event);
  } catch (const Napi::Error& error) {
    error.ThrowAsJavaScriptException();
  }
}

using ReaderFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, ReaderEvent, CallJs>;

// ---- reader thread: queuing events ----

class JsReaderSink final : public ReaderEventSink {
 public:
  explicit JsReaderSink(ReaderFunction function) : function_(function) {}
  void OnUp(ReaderUpEvent event) override { Post(std::move(event)); }
  void OnDown(ReaderDownEvent event) override { Post(std::move(event)); }
  void Close() override {
    Post(ReaderClosedEvent{});
    function_.Release();
  }

 private:
  void Post(ReaderEvent event) {
    auto owned = std::make_unique<ReaderEvent>(std::move(event));
    // Unbounded queue: never waits; fails only while the environment closes.
    if (function_.BlockingCall(owned.get()) == napi_ok) owned.release();
  }
  ReaderFunction function_;
};

WarmReaderOptions ParseReaderOptions(Napi::Object options) {
  WarmReaderOptions out;
  out.source.device = js::GetString(options, "name", "", {kMaxInterfaceNameBytes, false});
  out.source.description = js::GetString(options, "description", "", {1024, true}, "");
  out.source.snaplen = static_cast<uint32_t>(js::GetInteger(options, "snaplen", "", 1, kMaxSnaplen, kMaxSnaplen));
  out.source.promisc = js::GetBool(options, "promisc", "", true);
  out.source.bufferBytes =
      static_cast<int>(js::GetInteger(options, "bufferBytes", "", kMinBufferBytes, kMaxBufferBytes, 32 * 1024 * 1024));
  out.lookbackBytes = js::GetInteger(options, "lookbackBytes", "", 0, kMaxLookbackBytes, 0);
  out.lookbackNs = js::GetInteger(options, "lookbackMs", "", 0, kMaxLookbackMs, 0) * 1'000'000u;
  out.lookbackFilter = js::GetString(options, "lookbackFilter", "", {kMaxFilterBytes, true}, "");
  return out;
}

}  // namespace

Napi::Function WarmInterfaceWrap::Define(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "WarmInterface",
                                           {
                                               InstanceMethod<&WarmInterfaceWrap::Start>("start"),
                                               InstanceMethod<&WarmInterfaceWrap::Stop>("stop"),
                                               InstanceMethod<&WarmInterfaceWrap::Stats>("stats"),
                                           });
  InstanceDataOf(env).warmInterface = Napi::Persistent(constructor);
  return constructor;
}

WarmInterfaceWrap::WarmInterfaceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WarmInterfaceWrap>(info) {
  Napi::Env env = info.Env();
  Napi::Object options = js::RequireObject(info[0], "options");
  if (!info[1].IsFunction()) js::ThrowTypeError(env, "onEvent", "expected a function");
  WarmReaderOptions parsed = ParseReaderOptions(options);

  // As with captures: the thread-safe function alone holds `onEvent`, and its
  // finalizer (after the reader thread's last event) joins the thread.
  auto keepAlive = std::make_unique<std::shared_ptr<WarmReader>>();
  std::shared_ptr<WarmReader>* kept = keepAlive.get();
  ReaderFunction function = ReaderFunction::New(
      env, info[1].As<Napi::Function>(), "pcapd warm interface", 0, 1, nullptr,
      [owned = std::shared_ptr<std::shared_ptr<WarmReader>>(std::move(keepAlive))](Napi::Env, std::nullptr_t*,
                                                                                   std::nullptr_t*) {
        if (*owned) {
          (*owned)->Stop();
          (*owned)->Join();
        }
      },
      static_cast<std::nullptr_t*>(nullptr));
  try {
    reader_ = std::make_shared<WarmReader>(std::move(parsed), std::make_unique<JsReaderSink>(function));
  } catch (const CaptureError& error) {
    function.Release();
    Napi::Error js = Napi::Error::New(env, error.what());
    js.Set("code", error.code());
    throw js;
  }
  *kept = reader_;
  function_ = function;
  InstanceData& data = InstanceDataOf(env);
  std::lock_guard<std::mutex> lock(data.mutex);
  Remember(data.readers, reader_);
}

WarmInterfaceWrap::~WarmInterfaceWrap() {
  if (!started_ && function_ != nullptr) napi_release_threadsafe_function(function_, napi_tsfn_release);
}

std::shared_ptr<WarmReader> WarmInterfaceWrap::ReaderOf(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  InstanceData& data = InstanceDataOf(value.Env());
  if (data.warmInterface.IsEmpty() || !value.As<Napi::Object>().InstanceOf(data.warmInterface.Value())) return nullptr;
  return Unwrap(value.As<Napi::Object>())->reader_;
}

Napi::Value WarmInterfaceWrap::Start(const Napi::CallbackInfo& info) {
  if (started_) {
    Napi::Error error = Napi::Error::New(info.Env(), "warm interface already started");
    error.Set("code", codes::kNativeArgument);
    throw error;
  }
  started_ = true;
  reader_->Start();
  return info.Env().Undefined();
}

Napi::Value WarmInterfaceWrap::Stop(const Napi::CallbackInfo& info) {
  reader_->Stop();
  return info.Env().Undefined();
}

Napi::Value WarmInterfaceWrap::Stats(const Napi::CallbackInfo& info) {
  const WarmReaderStats stats = reader_->stats();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("up", stats.up);
  out.Set("received", static_cast<double>(stats.received));
  out.Set("dropped", static_cast<double>(stats.dropped));
  out.Set("ifDropped", static_cast<double>(stats.ifDropped));
  out.Set("packetsRead", static_cast<double>(stats.packetsRead));
  out.Set("attached", static_cast<double>(stats.attached));
  out.Set("ringCapacityBytes", static_cast<double>(stats.ringCapacityBytes));
  out.Set("ringUsedBytes", static_cast<double>(stats.ringUsedBytes));
  out.Set("ringPackets", static_cast<double>(stats.ringPackets));
  out.Set("ringOldestNs", Napi::BigInt::New(info.Env(), stats.ringOldestNs));
  out.Set("cpuNs", static_cast<double>(stats.cpuNs));
  return out;
}

void StopAllWarmReaders(Napi::Env env) {
  auto* data = env.GetInstanceData<InstanceData>();
  if (data == nullptr) return;
  std::vector<std::shared_ptr<WarmReader>> live = LiveObjects(*data, data->readers);
  for (auto& reader : live) reader->Stop();
  for (auto& reader : live) reader->Join();
}

}  // namespace pcapd
