#include "packet_summary.h"

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>

#include "link_types.h"

namespace pcapd {

namespace {

using namespace link;

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

std::string Address(int family, const uint8_t* bytes) {
  char text[INET6_ADDRSTRLEN] = {0};
  inet_ntop(family, bytes, text, sizeof(text));
  return text;
}

std::string Transport(uint8_t protocol, const uint8_t* p, size_t length, const std::string& src,
                      const std::string& dst) {
  char line[256];
  if ((protocol == 6 || protocol == 17) && length >= 4) {
    const char* name = protocol == 6 ? "TCP" : "UDP";
    std::snprintf(line, sizeof(line), "%s %s:%u > %s:%u", name, src.c_str(), ReadU16(p), dst.c_str(), ReadU16(p + 2));
  } else if ((protocol == 1 || protocol == 58) && length >= 2) {
    std::snprintf(line, sizeof(line), "%s %s > %s type %u code %u", protocol == 1 ? "ICMP" : "ICMPv6", src.c_str(),
                  dst.c_str(), p[0], p[1]);
  } else {
    std::snprintf(line, sizeof(line), "IP proto %u %s > %s", protocol, src.c_str(), dst.c_str());
  }
  return line;
}

std::string Network(uint16_t ethertype, const uint8_t* p, size_t length) {
  if (ethertype == kEthertypeIpv4 && length >= 20) {
    const size_t headerBytes = static_cast<size_t>(p[0] & 0x0f) * 4;
    if (headerBytes < 20 || headerBytes > length) return "IPv4 (truncated)";
    return Transport(p[9], p + headerBytes, length - headerBytes, Address(AF_INET, p + 12), Address(AF_INET, p + 16));
  }
  if (ethertype == kEthertypeIpv6 && length >= 40) {
    return Transport(p[6], p + 40, length - 40, Address(AF_INET6, p + 8), Address(AF_INET6, p + 24));
  }
  if (ethertype == 0x0806) return "ARP";
  char line[32];
  std::snprintf(line, sizeof(line), "ethertype 0x%04x", ethertype);
  return line;
}

std::string Decode(int linktype, const uint8_t* p, size_t length) {
  switch (linktype) {
    case kLinktypeEthernet: {
      if (length < 14) return "Ethernet (truncated)";
      size_t offset = 12;
      uint16_t ethertype = ReadU16(p + offset);
      while ((ethertype == kEthertypeVlan || ethertype == kEthertypeQinq) && length >= offset + 6) {
        offset += 4;  // skip 802.1Q / 802.1ad tags
        ethertype = ReadU16(p + offset);
      }
      return Network(ethertype, p + offset + 2, length - offset - 2);
    }
    case kLinktypeLinuxSll:
      if (length < 16) return "SLL (truncated)";
      return Network(ReadU16(p + 14), p + 16, length - 16);
    case kLinktypeLinuxSll2:
      if (length < 20) return "SLL2 (truncated)";
      return Network(ReadU16(p), p + 20, length - 20);
    case kLinktypeRaw:
      if (length < 1) return "raw (empty)";
      return Network((p[0] >> 4) == 6 ? kEthertypeIpv6 : kEthertypeIpv4, p, length);
    default: {
      char line[32];
      std::snprintf(line, sizeof(line), "linktype %d", linktype);
      return line;
    }
  }
}

}  // namespace

std::string SummarizePacket(const InterfaceInfo& iface, const PacketRecord& packet) {
  const time_t seconds = static_cast<time_t>(packet.timestampNs / 1'000'000'000u);
  const auto nanos = static_cast<unsigned long>(packet.timestampNs % 1'000'000'000u);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%02d:%02d:%02d.%09lu", utc.tm_hour, utc.tm_min, utc.tm_sec, nanos);
  char length[48];
  std::snprintf(length, sizeof(length), " length %u", packet.origlen);
  return std::string(stamp) + " " + iface.name + " " + Decode(iface.linktype, packet.data, packet.caplen) + length;
}

}  // namespace pcapd
