#include "filter_program.h"

#include "capture_error.h"
#include "live_source.h"

namespace pcapd {

FilterProgram::FilterProgram(int dlt, int snaplen, const std::string& filter) {
  if (filter.empty()) return;
  PcapPtr dead(pcap_open_dead(dlt, snaplen));
  if (!dead) throw CaptureError(codes::kBpfInvalid, "cannot compile a filter for link type " + std::to_string(dlt));
  auto program = std::make_unique<bpf_program>();
  if (pcap_compile(dead.get(), program.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    throw CaptureError(codes::kBpfInvalid, pcap_geterr(dead.get()));
  }
  program_.reset(program.release());
}

FilterProgram::FilterProgram(pcap_t* handle, const std::string& filter) {
  // Compiled even when empty: the handle gets libpcap's accept-all program
  // (with its snap length), as it always has.
  auto program = std::make_unique<bpf_program>();
  if (pcap_compile(handle, program.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    throw CaptureError(codes::kBpfInvalid, pcap_geterr(handle));
  }
  program_.reset(program.release());
}

}  // namespace pcapd
