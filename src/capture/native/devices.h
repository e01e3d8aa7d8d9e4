// listDevices(): what pcap_findalldevs() sees, for GET /interfaces and for
// checking request interfaces before anything is opened.
#pragma once

#include <napi.h>

namespace pcapd {

Napi::Value ListDevices(const Napi::CallbackInfo& info);

}  // namespace pcapd
