// Module entry: the Capture and WarmInterface classes, listDevices(), validateFilter(),
// libVersion(), resources(). Loaded once by src/capture/native.ts.
#include <napi.h>
#include <pcap/pcap.h>

#include "capture_wrap.h"
#include "devices.h"
#include "filter_check.h"
#include "warm_interface_wrap.h"

namespace pcapd {

namespace {

Napi::Value LibVersion(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), pcap_lib_version()); }

}  // namespace

}  // namespace pcapd

static Napi::Object InitPcapd(Napi::Env env, Napi::Object exports) {
  using namespace pcapd;
  // Initialise libpcap for UTF-8 error strings once per process.
  char errbuf[PCAP_ERRBUF_SIZE];
  (void)pcap_init(PCAP_CHAR_ENC_UTF_8, errbuf);
  // On environment teardown (process exit, worker end) every capture thread is
  // told to stop and joined before the addon goes away.
  env.AddCleanupHook([env]() { StopAllCaptures(env); });
  exports.Set("Capture", CaptureWrap::Define(env));
  exports.Set("WarmInterface", WarmInterfaceWrap::Define(env));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  exports.Set("validateFilter", Napi::Function::New(env, ValidateFilter, "validateFilter"));
  exports.Set("libVersion", Napi::Function::New(env, LibVersion, "libVersion"));
  exports.Set("resources", Napi::Function::New(env, NativeResources, "resources"));
  return exports;
}

NODE_API_MODULE(pcapd_native, InitPcapd)
