// A one-line description of a packet for `packetdebug`, computed on the capture
// thread only when asked: the normal packet path decodes nothing.
#pragma once

#include <string>

#include "format_writer.h"

namespace pcapd {

std::string SummarizePacket(const InterfaceInfo& iface, const PacketRecord& packet);

}  // namespace pcapd
