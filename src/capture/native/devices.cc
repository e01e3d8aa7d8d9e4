#include "devices.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <memory>
#include <string>

#include "capture_error.h"

namespace pcapd {

namespace {

struct DeviceListDeleter {
  void operator()(pcap_if_t* list) const { pcap_freealldevs(list); }
};

Napi::Value AddressText(Napi::Env env, const sockaddr* address) {
  if (address == nullptr) return env.Null();
  char text[INET6_ADDRSTRLEN] = {0};
  switch (address->sa_family) {
    case AF_INET:
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof(text));
      return Napi::String::New(env, text);
    case AF_INET6:
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof(text));
      return Napi::String::New(env, text);
    case AF_PACKET: {
      const auto* link = reinterpret_cast<const sockaddr_ll*>(address);
      std::string mac;
      for (int i = 0; i < link->sll_halen && i < 8; ++i) {
        char byte[4];
        std::snprintf(byte, sizeof(byte), i == 0 ? "%02x" : ":%02x", link->sll_addr[i]);
        mac += byte;
      }
      return Napi::String::New(env, mac);
    }
    default:
      return env.Null();
  }
}

const char* FamilyName(int family) {
  switch (family) {
    case AF_INET:
      return "ipv4";
    case AF_INET6:
      return "ipv6";
    case AF_PACKET:
      return "link";
    default:
      return "other";
  }
}

const char* ConnectionStatus(bpf_u_int32 flags) {
  switch (flags & PCAP_IF_CONNECTION_STATUS) {
    case PCAP_IF_CONNECTION_STATUS_CONNECTED:
      return "connected";
    case PCAP_IF_CONNECTION_STATUS_DISCONNECTED:
      return "disconnected";
    case PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE:
      return "not-applicable";
    default:
      return "unknown";
  }
}

}  // namespace

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_if_t* raw = nullptr;
  if (pcap_findalldevs(&raw, errbuf) != 0) {
    Napi::Error error = Napi::Error::New(env, std::string("pcap_findalldevs: ") + errbuf);
    error.Set("code", codes::kDeviceList);
    throw error;
  }
  std::unique_ptr<pcap_if_t, DeviceListDeleter> list(raw);
  Napi::Array devices = Napi::Array::New(env);
  uint32_t index = 0;
  for (pcap_if_t* device = list.get(); device != nullptr; device = device->next) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", device->name);
    entry.Set("description", device->description != nullptr ? device->description : "");
    entry.Set("loopback", (device->flags & PCAP_IF_LOOPBACK) != 0);
    entry.Set("up", (device->flags & PCAP_IF_UP) != 0);
    entry.Set("running", (device->flags & PCAP_IF_RUNNING) != 0);
    entry.Set("wireless", (device->flags & PCAP_IF_WIRELESS) != 0);
    entry.Set("connection", ConnectionStatus(device->flags));
    Napi::Array addresses = Napi::Array::New(env);
    uint32_t addressIndex = 0;
    for (pcap_addr_t* address = device->addresses; address != nullptr; address = address->next) {
      if (address->addr == nullptr) continue;
      Napi::Object item = Napi::Object::New(env);
      item.Set("family", FamilyName(address->addr->sa_family));
      item.Set("address", AddressText(env, address->addr));
      item.Set("netmask", AddressText(env, address->netmask));
      item.Set("broadcast", AddressText(env, address->broadaddr));
      addresses.Set(addressIndex++, item);
    }
    entry.Set("addresses", addresses);
    devices.Set(index++, entry);
  }
  return devices;
}

}  // namespace pcapd
