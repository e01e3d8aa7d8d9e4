#include "filter_check.h"

#include <pcap/pcap.h>

#include <memory>
#include <string>

#include "js_args.h"
#include "live_source.h"

namespace pcapd {

Napi::Value ValidateFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) js::ThrowTypeError(env, "filter", "expected a string");
  const std::string filter = info[0].As<Napi::String>().Utf8Value();
  if (filter.size() > 65535) js::ThrowRangeError(env, "filter", "longer than 65535 bytes");
  if (filter.find('\0') != std::string::npos) js::ThrowRangeError(env, "filter", "must not contain NUL");
  Napi::Object args = Napi::Object::New(env);
  args.Set("dlt", info[1]);
  args.Set("snaplen", info[2]);
  const auto dlt = static_cast<int>(js::GetInteger(args, "dlt", "", 0, 65535, 1));  // DLT_EN10MB
  const auto snaplen = static_cast<int>(js::GetInteger(args, "snaplen", "", 1, 262144, 262144));

  PcapPtr dead(pcap_open_dead(dlt, snaplen));
  Napi::Object result = Napi::Object::New(env);
  if (!dead) {
    result.Set("ok", false);
    result.Set("error", "cannot open a dead handle for this link type");
    return result;
  }
  bpf_program program{};
  if (pcap_compile(dead.get(), &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    result.Set("ok", false);
    result.Set("error", pcap_geterr(dead.get()));
    return result;
  }
  result.Set("ok", true);
  result.Set("instructions", program.bf_len);
  pcap_freecode(&program);
  return result;
}

}  // namespace pcapd
