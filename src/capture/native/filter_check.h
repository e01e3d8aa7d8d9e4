// validateFilter(bpf, dlt, snaplen): compiles a filter against a dead handle, so
// a request's BPF is judged before any device is opened.
#pragma once

#include <napi.h>

namespace pcapd {

Napi::Value ValidateFilter(const Napi::CallbackInfo& info);

}  // namespace pcapd
