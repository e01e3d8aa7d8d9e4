// A compiled BPF program. Run in user space on packets a shared handle already
// read (pcap_offline_filter): each capture attached to a warm interface has its
// own, and the lookback ring may have one. Or compiled on a live handle and
// installed in the kernel there (a cold capture's). A program compiled for
// user space is shared, read-only, with every other FilterProgram of the same
// link type, snap length and text (a small cache: the intake validates a
// request's filter and a warm capture then compiles the same one); the last
// owner frees it (pcap_freecode).
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <string>

namespace pcapd {

class FilterProgram {
 public:
  // The snap length of programs run in user space. pcap_offline_filter is
  // only asked whether a packet matches, never how much of it to keep (the
  // capture truncates on its own), so they are compiled at libpcap's largest
  // snap length, as the intake validates a request's filter: the two share
  // one compilation.
  static constexpr int kUserSpaceSnaplen = 262144;

  // Compiles `filter` for packets of link type `dlt` (DLT_*) and `snaplen`, or
  // takes the program compiled for the same three from the cache. Throws
  // CaptureError(PCAPD_ERR_BPF_INVALID) with libpcap's message.
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

  // User-space compilations since the addon loaded, and how many the cache answered.
  struct CacheCounters {
    uint64_t compiled;
    uint64_t reused;
  };
  static CacheCounters Counters();

 private:
  std::shared_ptr<const bpf_program> program_;
};

}  // namespace pcapd
