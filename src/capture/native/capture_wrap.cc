#include "capture_wrap.h"

#include <sys/utsname.h>

#include <variant>

#include "capture_error.h"
#include "capture_session.h"
#include "filter_program.h"
#include "instance_data.h"
#include "js_args.h"
#include "warm_capture.h"
#include "warm_interface_wrap.h"

namespace pcapd {

namespace {

using Event = std::variant<ArmedEvent, SegmentEvent, DoneEvent, FailedEvent>;

constexpr uint32_t kMaxInterfaces = 64;
constexpr size_t kMaxInterfaceNameBytes = 255;
constexpr size_t kMaxFilterBytes = 65535;
constexpr uint32_t kMaxSnaplen = 262144;
constexpr uint64_t kMinBufferBytes = 64 * 1024;
constexpr uint64_t kMaxBufferBytes = 1024ull * 1024 * 1024;
constexpr uint64_t kMaxDurationMs = 31ull * 24 * 3600 * 1000;
constexpr uint64_t kMaxSummaryLines = 1'000'000;

// ---- JavaScript thread: building payloads ----

Napi::Value BigNs(Napi::Env env, uint64_t ns) { return Napi::BigInt::New(env, ns); }

Napi::Array Chunks(Napi::Env env, std::vector<Chunk>& chunks) {
  Napi::Array array = Napi::Array::New(env);
  uint32_t index = 0;
  for (Chunk& chunk : chunks) {
    if (chunk.used == 0) continue;
    const auto capacity = static_cast<int64_t>(chunk.capacity);
    Napi::MemoryManagement::AdjustExternalMemory(env, capacity);
    const ChunkUnmapper unmapper = chunk.data.get_deleter();
    uint8_t* data = chunk.data.release();
    // Handed over without a copy; unmapped when JavaScript collects the Buffer.
    // Where external buffers are not allowed, NewOrCopy copies and frees at once.
    array.Set(index++,
              Napi::Buffer<uint8_t>::NewOrCopy(env, data, chunk.used, [capacity, unmapper](Napi::Env e, uint8_t* p) {
                ChunkMemory owned(p, unmapper);
                Napi::MemoryManagement::AdjustExternalMemory(e, -capacity);
              }));
  }
  return array;
}

Napi::Object File(Napi::Env env, FileOutput& file) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("chunks", Chunks(env, file.chunks));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(file.bytes)));
  out.Set("packets", Napi::Number::New(env, static_cast<double>(file.packets)));
  out.Set("firstNs", BigNs(env, file.firstNs));
  out.Set("lastNs", BigNs(env, file.lastNs));
  out.Set("segment", Napi::Number::New(env, file.segment));
  out.Set("startNs", BigNs(env, file.startNs));
  Napi::Array interfaces = Napi::Array::New(env, file.interfaces.size());
  for (size_t i = 0; i < file.interfaces.size(); ++i) {
    interfaces.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(file.interfaces[i])));
  }
  out.Set("interfaces", interfaces);
  return out;
}

Napi::Array Files(Napi::Env env, std::vector<FileOutput>& files) {
  Napi::Array array = Napi::Array::New(env, files.size());
  for (size_t i = 0; i < files.size(); ++i) array.Set(static_cast<uint32_t>(i), File(env, files[i]));
  return array;
}

Napi::Object Interface(Napi::Env env, const InterfaceInfo& info, const InterfaceCounters* counters) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", info.name);
  out.Set("description", info.description);
  out.Set("linktype", info.linktype);
  out.Set("snaplen", info.snaplen);
  out.Set("nanosecond", info.nanosecond);
  if (counters != nullptr) {
    out.Set("statsValid", counters->statsValid);
    out.Set("received", static_cast<double>(counters->received));
    out.Set("dropped", static_cast<double>(counters->dropped));
    out.Set("ifDropped", static_cast<double>(counters->ifDropped));
    out.Set("written", static_cast<double>(counters->written));
  }
  return out;
}

Napi::Object Payload(Napi::Env env, ArmedEvent& event) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("startNs", BigNs(env, event.startNs));
  Napi::Array interfaces = Napi::Array::New(env, event.interfaces.size());
  for (size_t i = 0; i < event.interfaces.size(); ++i) {
    interfaces.Set(static_cast<uint32_t>(i), Interface(env, event.interfaces[i], nullptr));
  }
  out.Set("interfaces", interfaces);
  out.Set("lookbackNs", BigNs(env, event.lookbackNs));
  out.Set("lookbackPackets", static_cast<double>(event.lookbackPackets));
  return out;
}

Napi::Object Payload(Napi::Env env, SegmentEvent& event) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("files", Files(env, event.files));
  return out;
}

Napi::Object Payload(Napi::Env env, DoneEvent& event) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("reason", StopReasonName(event.reason));
  if (!event.errorMessage.empty()) out.Set("error", event.errorMessage);
  out.Set("startNs", BigNs(env, event.startNs));
  out.Set("endNs", BigNs(env, event.endNs));
  out.Set("firstNs", BigNs(env, event.firstNs));
  out.Set("lastNs", BigNs(env, event.lastNs));
  out.Set("packets", static_cast<double>(event.packets));
  out.Set("bytes", static_cast<double>(event.bytes));
  out.Set("files", Files(env, event.files));
  Napi::Array interfaces = Napi::Array::New(env, event.interfaces.size());
  for (size_t i = 0; i < event.interfaces.size(); ++i) {
    const InterfaceCounters* counters = i < event.counters.size() ? &event.counters[i] : nullptr;
    interfaces.Set(static_cast<uint32_t>(i), Interface(env, event.interfaces[i], counters));
  }
  out.Set("interfaces", interfaces);
  Napi::Array summaries = Napi::Array::New(env, event.summaries.size());
  for (size_t i = 0; i < event.summaries.size(); ++i) summaries.Set(static_cast<uint32_t>(i), event.summaries[i]);
  out.Set("summaries", summaries);
  out.Set("summariesOmitted", static_cast<double>(event.summariesOmitted));
  out.Set("threadCpuNs", static_cast<double>(event.threadCpuNs));
  out.Set("prefetchCpuNs", static_cast<double>(event.prefetchCpuNs));
  return out;
}

Napi::Object Payload(Napi::Env env, FailedEvent& event) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("code", event.code);
  out.Set("message", event.message);
  return out;
}

const char* EventName(const ArmedEvent&) { return "armed"; }
const char* EventName(const SegmentEvent&) { return "segment"; }
const char* EventName(const DoneEvent&) { return "done"; }
const char* EventName(const FailedEvent&) { return "failed"; }

// Runs on the JavaScript thread for each event; env is null when the
// environment is tearing down and the event only needs freeing.
void CallJs(Napi::Env env, Napi::Function onEvent, std::nullptr_t*, Event* raw) {
  std::unique_ptr<Event> event(raw);
  if (env == nullptr || onEvent.IsEmpty()) return;
  Napi::HandleScope scope(env);
  try {
    std::visit([&](auto& e) { onEvent.Call({Napi::String::New(env, EventName(e)), Payload(env, e)}); }, *event);
  } catch (const Napi::Error& error) {
    error.ThrowAsJavaScriptException();
  }
}

using EventFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, Event, CallJs>;

// ---- capture thread: queuing events ----

class JsEventSink final : public EventSink {
 public:
  explicit JsEventSink(EventFunction function) : function_(function) {}

  void OnArmed(ArmedEvent event) override { Post(std::move(event)); }
  void OnSegment(SegmentEvent event) override { Post(std::move(event)); }
  void OnDone(DoneEvent event) override { Post(std::move(event)); }
  void OnFailed(FailedEvent event) override { Post(std::move(event)); }
  void Close() override { function_.Release(); }

 private:
  void Post(Event event) {
    auto owned = std::make_unique<Event>(std::move(event));
    // The queue is unbounded, so this never waits; it fails only while the
    // environment is closing, and then the event is simply freed.
    if (function_.BlockingCall(owned.get()) == napi_ok) owned.release();
  }

  EventFunction function_;
};

// ---- option parsing ----

std::string OsName() {
  utsname name{};
  if (uname(&name) != 0) return "Linux";
  return std::string(name.sysname) + " " + name.release;
}

// What every capture writes, cold or warm: format, section, byte and packet limits, summaries, flow end.
OutputOptions ParseOutputOptions(Napi::Object options) {
  Napi::Env env = options.Env();
  OutputOptions out;
  const std::string format = js::GetString(options, "format", "", {16, false}, "pcapng");
  if (format == "pcapng") {
    out.format = CaptureFormat::kPcapng;
  } else if (format == "pcap") {
    out.format = CaptureFormat::kPcap;
  } else {
    js::ThrowRangeError(env, "format", "expected \"pcap\" or \"pcapng\"");
  }
  out.section.comment = js::GetString(options, "comment", "", {PcapngWriter::kMaxOptionBytes, true}, "");
  out.section.application = js::GetString(options, "application", "", {256, true}, "pcapd");
  out.section.hardware = js::GetString(options, "hardware", "", {256, true}, "");
  out.section.os = OsName();
  Napi::Object limits = js::RequireObject(options.Get("limits"), "limits");
  out.limits.packets = js::GetInteger(limits, "packets", "limits", 0, js::kMaxSafeInteger, 0);
  out.limits.bytes = js::GetInteger(limits, "bytes", "limits", 0, js::kMaxSafeInteger, 0);
  out.limits.segmentBytes = js::GetInteger(limits, "segmentBytes", "limits", 0, js::kMaxSafeInteger, 0);
  out.packetDebug = js::GetBool(options, "packetDebug", "", false);
  out.maxSummaryLines = js::GetInteger(options, "maxSummaryLines", "", 0, kMaxSummaryLines, 1000);
  const Napi::Value flow = options.Get("flow");
  if (!flow.IsUndefined()) {
    Napi::Object object = js::RequireObject(flow, "flow");
    out.flow.tcpClose = js::GetBool(object, "tcpClose", "flow");
    out.flow.idleNs = js::GetInteger(object, "idleMs", "flow", 0, kMaxDurationMs) * 1'000'000u;
  }
  return out;
}

SessionOptions ParseOptions(Napi::Object options) {
  SessionOptions out;
  const std::string filter = js::GetString(options, "filter", "", {kMaxFilterBytes, true}, "");
  const auto snaplen = static_cast<uint32_t>(js::GetInteger(options, "snaplen", "", 1, kMaxSnaplen, kMaxSnaplen));
  const bool promisc = js::GetBool(options, "promisc", "", true);
  const auto bufferBytes =
      static_cast<int>(js::GetInteger(options, "bufferBytes", "", kMinBufferBytes, kMaxBufferBytes, 8 * 1024 * 1024));

  Napi::Array interfaces = js::RequireArray(options.Get("interfaces"), "interfaces", 1, kMaxInterfaces);
  for (uint32_t i = 0; i < interfaces.Length(); ++i) {
    const std::string path = "interfaces[" + std::to_string(i) + "]";
    Napi::Object entry = js::RequireObject(interfaces.Get(i), path);
    SourceOptions source;
    source.device = js::GetString(entry, "name", path, {kMaxInterfaceNameBytes, false});
    source.description = js::GetString(entry, "description", path, {1024, true}, "");
    source.filter = filter;
    source.snaplen = snaplen;
    source.promisc = promisc;
    source.bufferBytes = bufferBytes;
    out.sources.push_back(std::move(source));
  }

  out.output = ParseOutputOptions(options);
  Napi::Object limits = js::RequireObject(options.Get("limits"), "limits");
  // 0: no duration limit (a named capture bounded by its own maxima).
  out.durationNs = js::GetInteger(limits, "durationMs", "limits", 0, kMaxDurationMs) * 1'000'000u;
  out.idleNs = js::GetInteger(limits, "idleMs", "limits", 0, kMaxDurationMs, 0) * 1'000'000u;
  out.segmentNs = js::GetInteger(limits, "segmentMs", "limits", 0, kMaxDurationMs, 0) * 1'000'000u;
  out.segmentAlign = js::GetBool(limits, "segmentAlign", "limits", false);
  out.mergeHoldbackNs = js::GetInteger(options, "mergeHoldbackMs", "", 0, 10'000, 20) * 1'000'000u;
  return out;
}

// A capture attached to a warm interface: the reader's handle is already open,
// so only what is the capture's own is read here.
WarmCaptureOptions ParseWarmOptions(Napi::Object options) {
  WarmCaptureOptions out;
  out.filter = js::GetString(options, "filter", "", {kMaxFilterBytes, true}, "");
  out.snaplen = static_cast<uint32_t>(js::GetInteger(options, "snaplen", "", 1, kMaxSnaplen, kMaxSnaplen));
  Napi::Array interfaces = js::RequireArray(options.Get("interfaces"), "interfaces", 1, 1);
  Napi::Object entry = js::RequireObject(interfaces.Get(0u), "interfaces[0]");
  out.description = js::GetString(entry, "description", "interfaces[0]", {1024, true}, "");
  out.output = ParseOutputOptions(options);
  Napi::Object limits = js::RequireObject(options.Get("limits"), "limits");
  // 0: no duration limit (a named capture bounded by its own maxima).
  out.durationNs = js::GetInteger(limits, "durationMs", "limits", 0, kMaxDurationMs) * 1'000'000u;
  out.idleNs = js::GetInteger(limits, "idleMs", "limits", 0, kMaxDurationMs, 0) * 1'000'000u;
  out.segmentNs = js::GetInteger(limits, "segmentMs", "limits", 0, kMaxDurationMs, 0) * 1'000'000u;
  out.segmentAlign = js::GetBool(limits, "segmentAlign", "limits", false);
  out.lookbackNs = js::GetInteger(options, "lookbackMs", "", 0, kMaxDurationMs, 0) * 1'000'000u;
  return out;
}

}  // namespace

Napi::Function CaptureWrap::Define(Napi::Env env) {
  return DefineClass(env, "Capture",
                     {
                         InstanceMethod<&CaptureWrap::Start>("start"),
                         InstanceMethod<&CaptureWrap::Cancel>("cancel"),
                         InstanceMethod<&CaptureWrap::Rotate>("rotate"),
                         InstanceMethod<&CaptureWrap::Progress>("progress"),
                     });
}

std::atomic<int64_t> CaptureWrap::liveObjects_{0};

CaptureWrap::CaptureWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CaptureWrap>(info) {
  liveObjects_.fetch_add(1, std::memory_order_relaxed);
  Napi::Env env = info.Env();
  Napi::Object options = js::RequireObject(info[0], "options");
  if (!info[1].IsFunction()) js::ThrowTypeError(env, "onEvent", "expected a function");
  const Napi::Value warm = options.Get("warm");
  std::shared_ptr<WarmReader> reader;
  if (!warm.IsUndefined()) {
    reader = WarmInterfaceWrap::ReaderOf(warm);
    if (!reader) js::ThrowTypeError(env, "warm", "expected a WarmInterface");
  }

  // The thread-safe function keeps the event loop alive while the capture runs
  // and owns a reference to the session, so the session outlives its thread
  // even if JavaScript drops this object. It alone holds `onEvent`: a
  // reference kept here too would close a cycle (this object -> onEvent ->
  // its closure -> the JavaScript object wrapping this one) that the garbage
  // collector cannot see through, and every capture would leak.
  // Owned by the finalizer once the function exists; freed here if creating it throws.
  auto keepAlive = std::make_unique<std::shared_ptr<CaptureControl>>();
  std::shared_ptr<CaptureControl>* kept = keepAlive.get();
  EventFunction function = EventFunction::New(
      env, info[1].As<Napi::Function>(), "pcapd capture", 0, 1, nullptr,
      [owned = std::shared_ptr<std::shared_ptr<CaptureControl>>(std::move(keepAlive))](Napi::Env, std::nullptr_t*,
                                                                                       std::nullptr_t*) {
        // The capture thread released this function as its last act: it is
        // returning now. Joining here frees its stack at once rather than
        // when the collector gets round to this object. (At environment
        // teardown the function is finalized early: the stop makes the join
        // short there too.)
        if (*owned) {
          (*owned)->RequestStop(StopReason::kShutdown);
          (*owned)->Join();
        }
      },
      static_cast<std::nullptr_t*>(nullptr));
  try {
    auto sink = std::make_unique<JsEventSink>(function);
    if (reader) {
      session_ = std::make_shared<WarmCapture>(reader, ParseWarmOptions(options), std::move(sink));
    } else {
      session_ = std::make_shared<CaptureSession>(ParseOptions(options), std::move(sink));
    }
  } catch (const CaptureError& error) {
    function.Release();
    Napi::Error js = Napi::Error::New(env, error.what());
    js.Set("code", error.code());
    throw js;
  } catch (...) {
    function.Release();  // a bad argument: thrown on as the JavaScript error it is
    throw;
  }
  *kept = session_;
  function_ = function;
  InstanceData& data = InstanceDataOf(env);
  std::lock_guard<std::mutex> lock(data.mutex);
  Remember(data.captures, session_);
}

CaptureWrap::~CaptureWrap() {
  liveObjects_.fetch_sub(1, std::memory_order_relaxed);
  if (!started_ && function_ != nullptr) napi_release_threadsafe_function(function_, napi_tsfn_release);
}

Napi::Value CaptureWrap::Start(const Napi::CallbackInfo& info) {
  if (started_) {
    Napi::Error error = Napi::Error::New(info.Env(), "capture already started");
    error.Set("code", codes::kNativeArgument);
    throw error;
  }
  started_ = true;
  session_->Start();
  return info.Env().Undefined();
}

Napi::Value CaptureWrap::Cancel(const Napi::CallbackInfo& info) {
  StopReason reason = StopReason::kCancelled;
  if (!info[0].IsUndefined()) {
    if (!info[0].IsString()) js::ThrowTypeError(info.Env(), "reason", "expected a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name == "shutdown") {
      reason = StopReason::kShutdown;
    } else if (name != "cancelled") {
      js::ThrowRangeError(info.Env(), "reason", "expected \"cancelled\" or \"shutdown\"");
    }
  }
  session_->RequestStop(reason);
  return info.Env().Undefined();
}

Napi::Value CaptureWrap::Rotate(const Napi::CallbackInfo& info) {
  session_->RequestRotate();
  return info.Env().Undefined();
}

Napi::Value CaptureWrap::Progress(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("packets", static_cast<double>(session_->packets()));
  out.Set("bytes", static_cast<double>(session_->bytes()));
  out.Set("segment", static_cast<double>(session_->segment()));
  return out;
}

Napi::Value NativeResources(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("captureObjects", static_cast<double>(CaptureWrap::LiveObjects()));
  out.Set("captureThreads", static_cast<double>(CaptureSession::UnjoinedThreads()));
  out.Set("warmReaderThreads", static_cast<double>(WarmReader::LiveThreads()));
  const FilterProgram::CacheCounters filters = FilterProgram::Counters();
  out.Set("filtersCompiled", static_cast<double>(filters.compiled));
  out.Set("filtersReused", static_cast<double>(filters.reused));
  return out;
}

void StopAllCaptures(Napi::Env env) {
  auto* data = env.GetInstanceData<InstanceData>();
  if (data == nullptr) return;
  std::vector<std::shared_ptr<CaptureControl>> live = LiveObjects(*data, data->captures);
  for (auto& capture : live) capture->RequestStop(StopReason::kShutdown);
  for (auto& capture : live) capture->Join();
  // Warm captures end with their readers.
  StopAllWarmReaders(env);
}

}  // namespace pcapd
