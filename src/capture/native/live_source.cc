#include "live_source.h"

#include <string>

#include "capture_error.h"
#include "filter_program.h"

namespace pcapd {

namespace {

CaptureError ActivationError(const std::string& device, int status, pcap_t* p) {
  const std::string detail = pcap_geterr(p);
  const std::string text = device + ": " + pcap_statustostr(status) + (detail.empty() ? "" : " (" + detail + ")");
  switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return CaptureError(codes::kInterfaceUnknown, text);
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return CaptureError(codes::kPermissionDenied, text);
    case PCAP_ERROR_IFACE_NOT_UP:
      return CaptureError(codes::kInterfaceDown, text);
    default:
      return CaptureError(codes::kActivateFailed, text);
  }
}

void Check(int status, const char* what, const std::string& device) {
  if (status != 0) {
    throw CaptureError(codes::kActivateFailed, device + ": " + what + ": " + pcap_statustostr(status));
  }
}

}  // namespace

std::unique_ptr<LiveSource> LiveSource::Open(const SourceOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  PcapPtr handle(pcap_create(options.device.c_str(), errbuf));
  if (!handle) throw CaptureError(codes::kActivateFailed, options.device + ": " + errbuf);
  pcap_t* p = handle.get();

  Check(pcap_set_snaplen(p, static_cast<int>(options.snaplen)), "snaplen", options.device);
  Check(pcap_set_promisc(p, options.promisc ? 1 : 0), "promisc", options.device);
  Check(pcap_set_timeout(p, kBlockTimeoutMs), "timeout", options.device);
  Check(pcap_set_buffer_size(p, options.bufferBytes), "buffer size", options.device);
  // Nanosecond timestamps where the platform gives them; microseconds otherwise.
  (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);

  const int status = pcap_activate(p);
  if (status < 0) throw ActivationError(options.device, status, p);

  const FilterProgram filter(p, options.filter);
  // pcap_setfilter takes a mutable pointer but only reads the program.
  if (pcap_setfilter(p, const_cast<bpf_program*>(filter.program())) != 0) {
    throw CaptureError(codes::kBpfInvalid, pcap_geterr(p));
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    throw CaptureError(codes::kActivateFailed, options.device + ": " + errbuf);
  }
  const int fd = pcap_get_selectable_fd(p);
  if (fd < 0) throw CaptureError(codes::kActivateFailed, options.device + ": no selectable descriptor");

  auto source = std::make_unique<LiveSource>(std::move(handle));
  source->fd_ = fd;
  source->dlt_ = pcap_datalink(p);
  source->info_.name = options.device;
  source->info_.description = options.description;
  source->info_.filter = options.filter;
  source->info_.linktype = DltToLinktype(pcap_datalink(p));
  source->info_.snaplen = static_cast<uint32_t>(pcap_snapshot(p));
  source->info_.nanosecond = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  return source;
}

int LiveSource::Dispatch(pcap_handler callback, u_char* user) {
  return pcap_dispatch(handle_.get(), -1, callback, user);
}

int LiveSource::RequiredPollTimeoutMs() const {
  const timeval* required = pcap_get_required_select_timeout(handle_.get());
  if (required == nullptr) return -1;
  return static_cast<int>(required->tv_sec * 1000 + (required->tv_usec + 999) / 1000);
}

void LiveSource::ReadStats(InterfaceCounters& counters) const {
  pcap_stat stats{};
  if (pcap_stats(handle_.get(), &stats) != 0) return;
  counters.statsValid = true;
  counters.received = stats.ps_recv;
  counters.dropped = stats.ps_drop;
  counters.ifDropped = stats.ps_ifdrop;
}

}  // namespace pcapd
