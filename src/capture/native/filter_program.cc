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

}  // namespace pcapd
