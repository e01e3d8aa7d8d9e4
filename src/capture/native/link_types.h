// Link-layer and network-layer numbers the native code reads frames by
// (tcpdump.org LINKTYPE_* values, IEEE ethertypes), in one place.
#pragma once

#include <cstdint>

namespace pcapd::link {

constexpr int kLinktypeEthernet = 1;
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeLinuxSll = 113;
constexpr int kLinktypeIpv4 = 228;
constexpr int kLinktypeIpv6 = 229;
constexpr int kLinktypeLinuxSll2 = 276;

constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86dd;
constexpr uint16_t kEthertypeVlan = 0x8100;  // 802.1Q
constexpr uint16_t kEthertypeQinq = 0x88a8;  // 802.1ad

}  // namespace pcapd::link
