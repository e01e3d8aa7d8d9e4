// A compiled BPF program. Run in user space on packets a shared handle already
// read (pcap_offline_filter): each capture attached to a warm interface has its
// own, and the lookback ring may have one. Or compiled on a live handle and
// installed in the kernel there (a cold capture's). Owns the program
// (pcap_freecode).
#pragma once

#include <pcap/pcap.h>

#include <memory>
#include <string>

namespace pcapd {

class FilterProgram {
 public:
  // Compiles `filter` for packets of link type `dlt` (DLT_*) and `snaplen`.
  // Throws CaptureError(PCAPD_ERR_BPF_INVALID) with libpcap's message.
  FilterProgram(int dlt, int snaplen, const std::string& filter);
  // Compiles `filter` on `handle`, an activated live handle, so that libpcap
  // may use the kernel's BPF extensions (VLAN tags in metadata); for
  // pcap_setfilter; an empty filter compiles too. Throws
  // CaptureError(PCAPD_ERR_BPF_INVALID).
  FilterProgram(pcap_t* handle, const std::string& filter);

  // An empty filter matches everything without running a program.
  bool Matches(const pcap_pkthdr& header, const u_char* data) const {
    return !program_ || pcap_offline_filter(program_.get(), &header, data) != 0;
  }

  // The program; null for an empty filter compiled for user space (Matches passes everything).
  const bpf_program* program() const { return program_.get(); }

  // Length of the compiled program; an empty filter is libpcap's one "accept" instruction.
  unsigned instructions() const { return program_ ? program_->bf_len : 1; }

 private:
  struct Free {
    void operator()(bpf_program* program) const {
      pcap_freecode(program);
      std::default_delete<bpf_program>()(program);
    }
  };
  std::unique_ptr<bpf_program, Free> program_;
};

}  // namespace pcapd
