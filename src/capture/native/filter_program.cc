#include "filter_program.h"

#include <atomic>
#include <list>
#include <mutex>
#include <tuple>

#include "capture_error.h"
#include "live_source.h"

namespace pcapd {

namespace {

struct Free {
  void operator()(bpf_program* program) const {
    pcap_freecode(program);
    std::default_delete<bpf_program>()(program);
  }
};

std::shared_ptr<const bpf_program> Compile(pcap_t* handle, const std::string& filter) {
  auto program = std::make_unique<bpf_program>();
  if (pcap_compile(handle, program.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    throw CaptureError(codes::kBpfInvalid, pcap_geterr(handle));
  }
  return std::shared_ptr<const bpf_program>(program.release(), Free());
}

// A handful of recent programs is enough: what repeats is one request's filter,
// validated at the intake and compiled again when its capture attaches, and
// the filters of an alert storm. Long filters are not kept, so the cache stays
// a few hundred KB at most whatever the requests say.
constexpr size_t kCacheEntries = 64;
constexpr size_t kCacheFilterBytes = 4096;

struct Entry {
  int dlt;
  int snaplen;
  std::string filter;
  std::shared_ptr<const bpf_program> program;
};

std::mutex cacheMutex;
std::list<Entry> cache;  // most recently used first
std::atomic<uint64_t> compiled{0};
std::atomic<uint64_t> reused{0};

}  // namespace

FilterProgram::FilterProgram(int dlt, int snaplen, const std::string& filter) {
  if (filter.empty()) return;
  // Looked up and compiled under one lock, so two threads asking for the same
  // program compile it once (compiles are short: a request's filter is capped).
  std::lock_guard<std::mutex> lock(cacheMutex);
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (std::tie(it->dlt, it->snaplen, it->filter) == std::tie(dlt, snaplen, filter)) {
      cache.splice(cache.begin(), cache, it);
      program_ = it->program;
      reused.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  PcapPtr dead(pcap_open_dead(dlt, snaplen));
  if (!dead) throw CaptureError(codes::kBpfInvalid, "cannot compile a filter for link type " + std::to_string(dlt));
  program_ = Compile(dead.get(), filter);
  compiled.fetch_add(1, std::memory_order_relaxed);
  if (filter.size() > kCacheFilterBytes) return;
  cache.push_front(Entry{dlt, snaplen, filter, program_});
  if (cache.size() > kCacheEntries) cache.pop_back();
}

FilterProgram::FilterProgram(pcap_t* handle, const std::string& filter)
    // Compiled even when empty: the handle gets libpcap's accept-all program
    // (with its snap length), as it always has. Never cached: it may use the
    // handle's kernel extensions.
    : program_(Compile(handle, filter)) {}

FilterProgram::CacheCounters FilterProgram::Counters() {
  return {compiled.load(std::memory_order_relaxed), reused.load(std::memory_order_relaxed)};
}

}  // namespace pcapd
