#include "filter_check.h"

#include <string>

#include "capture_error.h"
#include "filter_program.h"
#include "js_args.h"

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

  Napi::Object result = Napi::Object::New(env);
  try {
    // Owned by FilterProgram and freed on every path, a thrown JavaScript exception included.
    const FilterProgram program(dlt, snaplen, filter);
    result.Set("ok", true);
    result.Set("instructions", program.instructions());
  } catch (const CaptureError& error) {
    result.Set("ok", false);
    result.Set("error", error.what());
  }
  return result;
}

}  // namespace pcapd
