/**
 * Every Prometheus metric pcapd exports, defined in one place. Names follow
 * the Prometheus conventions: pcapd_ prefix, base units (seconds, bytes),
 * _total only on counters. Labels are bounded: listener names, error codes,
 * stop reasons, sink names, interface names; never a request id.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const EVENT_LOOP_SAMPLE_MS = 1000;

export class Metrics {
  readonly registry = new Registry();

  readonly requestsReceived = new Counter({
    name: 'pcapd_requests_received_total',
    help: 'Requests received, by listener (each is also counted where it ended: accepted, rejected, ignored, duplicate or merged)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly requestsAccepted = new Counter({
    name: 'pcapd_requests_accepted_total',
    help: 'Requests accepted for capture on this node, by listener',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly requestsRejected = new Counter({
    name: 'pcapd_requests_rejected_total',
    help: 'Requests rejected, by listener and error code',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly requestsIgnored = new Counter({
    name: 'pcapd_requests_ignored_total',
    help: 'Requests for other nodes, ignored quietly',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly requestsDuplicate = new Counter({
    name: 'pcapd_requests_duplicate_total',
    help: 'Requests whose id was already accepted (captured once)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly flowAlertsMerged = new Counter({
    name: 'pcapd_flow_alerts_merged_total',
    help: 'EVE alerts added to the running (or just ended) capture of their flow instead of starting another',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly eveIgnored = new Counter({
    name: 'pcapd_eve_events_ignored_total',
    help: 'EVE lines on a listener with messages = "eve" that are not alerts (flow, dns, stats, ...), ignored quietly',
    labelNames: ['source', 'event_type'] as const,
    registers: [this.registry],
  });
  readonly limitsClamped = new Counter({
    name: 'pcapd_limits_clamped_total',
    help: 'Request limits lowered to the configured maximum, by field',
    labelNames: ['field'] as const,
    registers: [this.registry],
  });

  readonly capturesRunning = new Gauge({
    name: 'pcapd_captures_running',
    help: 'Captures currently arming or capturing',
    registers: [this.registry],
  });
  readonly capturesQueued = new Gauge({
    name: 'pcapd_captures_queued',
    help: 'Accepted requests waiting for a capture slot',
    registers: [this.registry],
  });
  readonly memoryReserved = new Gauge({
    name: 'pcapd_memory_reserved_bytes',
    help: 'Capture memory reserved by running captures (their byte limits)',
    registers: [this.registry],
  });
  readonly capturesFinished = new Counter({
    name: 'pcapd_captures_finished_total',
    help: 'Captures that ended, by stop reason (packets, bytes, duration, timeout, cancelled, shutdown, error, flow-end, flow-idle)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly capturesFailed = new Counter({
    name: 'pcapd_captures_failed_total',
    help: 'Captures that could not start or run, by error code',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly captureDuration = new Histogram({
    name: 'pcapd_capture_duration_seconds',
    help: 'Wall-clock time from arming to the end of capturing',
    buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly armLatency = new Histogram({
    name: 'pcapd_capture_arm_latency_seconds',
    help: 'Time from receiving a request to its capture being armed',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly capturedPackets = new Counter({
    name: 'pcapd_captured_packets_total',
    help: 'Packets written to capture files',
    registers: [this.registry],
  });
  readonly capturedBytes = new Counter({
    name: 'pcapd_captured_bytes_total',
    help: 'Bytes of capture files produced',
    registers: [this.registry],
  });
  readonly kernelDrops = new Counter({
    name: 'pcapd_kernel_drops_total',
    help: 'Packets the kernel dropped during captures (ring full), by interface',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  readonly interfaceDrops = new Counter({
    name: 'pcapd_interface_drops_total',
    help: 'Packets the interface or driver dropped during captures, by interface',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'pcapd_deliveries_total',
    help: 'Capture files handed to sinks, by sink and outcome (ok, error)',
    labelNames: ['sink', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly deliveryDuration = new Histogram({
    name: 'pcapd_delivery_duration_seconds',
    help: 'Time a sink took to store a capture',
    labelNames: ['sink'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly deliveryRetries = new Counter({
    name: 'pcapd_delivery_retries_total',
    help: 'Retries of spooled captures, by sink and outcome (ok; error: tried again later; failed: not retriable)',
    labelNames: ['sink', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly spoolBytes = new Gauge({
    name: 'pcapd_spool_bytes',
    help: 'Bytes of captures in the spool (waiting for at least one sink)',
    registers: [this.registry],
  });
  readonly spoolFiles = new Gauge({
    name: 'pcapd_spool_files',
    help: 'Capture files in the spool',
    registers: [this.registry],
  });
  readonly spoolPending = new Gauge({
    name: 'pcapd_spool_pending',
    help: 'Spooled captures a sink does not have yet, by sink and state (retrying, failed: waits for a reload or pcapd spool retry)',
    labelNames: ['sink', 'state'] as const,
    registers: [this.registry],
  });
  readonly spoolOldestAge = new Gauge({
    name: 'pcapd_spool_oldest_age_seconds',
    help: 'Age of the oldest capture in the spool; 0 when it is empty',
    registers: [this.registry],
  });
  readonly spoolCulled = new Counter({
    name: 'pcapd_spool_culled_total',
    help: 'Captures removed from the spool, by reason (delivered; age and size: removed before every sink had them)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly localFilesRemoved = new Counter({
    name: 'pcapd_local_files_removed_total',
    help: 'Capture files the [retention] pass removed from general.localdir, by reason (maxage: older than retention.maxage; maxbytes: oldest beyond retention.maxbytes)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly localFilesRemovedBytes = new Counter({
    name: 'pcapd_local_files_removed_bytes_total',
    help: 'Bytes of the capture files the [retention] pass removed from general.localdir, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly localBytes = new Gauge({
    name: 'pcapd_local_bytes',
    help: 'Bytes of the capture files under general.localdir after the last [retention] pass',
    registers: [this.registry],
  });
  readonly localFiles = new Gauge({
    name: 'pcapd_local_files',
    help: 'Capture files under general.localdir after the last [retention] pass',
    registers: [this.registry],
  });
  readonly spoolWriteFailures = new Counter({
    name: 'pcapd_spool_write_failures_total',
    help: 'Captures that could not be spooled, by reason (ENOSPC, EDQUOT, maxbytes, another errno code)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  // Broker listeners (redis, kafka, sqs) and result events
  readonly warmInterfaceUp = new Gauge({
    name: 'pcapd_warm_interface_up',
    help: 'Warm interfaces: 1 while the interface is open and captures can attach, 0 while it is opening or down',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  readonly warmInterfaceFailures = new Counter({
    name: 'pcapd_warm_interface_failures_total',
    help: 'Warm interfaces that failed to open or went down (each is reopened with backoff)',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  readonly lookbackRingBytes = new Gauge({
    name: 'pcapd_lookback_ring_bytes',
    help: "Memory allocated to a warm interface's lookback ring",
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  readonly lookbackServed = new Histogram({
    name: 'pcapd_lookback_served_seconds',
    help: 'How far before arming warm captures with a lookback start',
    buckets: [0, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly listenerUp = new Gauge({
    name: 'pcapd_listener_up',
    help: 'Whether a broker listener is connected and subscribed (1) or not (0), by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly listenerDisconnects = new Counter({
    name: 'pcapd_listener_disconnects_total',
    help: 'Broker connections lost (or failed to open) while the listener was running, by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly listenerInFlight = new Gauge({
    name: 'pcapd_listener_messages_in_flight',
    help: 'Messages received and not yet acknowledged (their capture is running or being delivered), by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly listenerSettlements = new Counter({
    name: 'pcapd_listener_settlements_total',
    help: 'What happened to received messages, by listener and action (ack: committed/deleted/XACKed; release: left or made visible for redelivery; extend: SQS visibility extended)',
    labelNames: ['listener', 'action'] as const,
    registers: [this.registry],
  });
  readonly listenerErrors = new Counter({
    name: 'pcapd_listener_errors_total',
    help: 'Broker operations that failed, by listener and error code',
    labelNames: ['listener', 'reason'] as const,
    registers: [this.registry],
  });
  readonly internalErrors = new Counter({
    name: 'pcapd_internal_errors_total',
    help: 'Unexpected errors (bugs in pcapd, logged at error level with the stack; code PCAPD_ERR_INTERNAL), by where they were caught',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly resultEvents = new Counter({
    name: 'pcapd_result_events_total',
    help: 'Result events published, by transport (redis, kafka, sqs) and outcome (ok, error)',
    labelNames: ['transport', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly configReloads = new Counter({
    name: 'pcapd_config_reloads_total',
    help: 'SIGHUP config reloads, by outcome (ok, rejected)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'pcapd_http_requests_total',
    help: 'HTTP API requests, by route and status class',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'pcapd_build_info',
    help: 'Always 1; labels carry the pcapd, Node.js and libpcap versions',
    labelNames: ['version', 'node', 'libpcap'] as const,
    registers: [this.registry],
  });

  constructor(options: { version: string; libpcap: string; defaults?: boolean }) {
    this.buildInfo.set({ version: options.version, node: process.version, libpcap: options.libpcap }, 1);
    // prom-client samples event-loop lag with a 10 ms timer by default: a
    // hundred wakeups a second in an idle daemon. Once a second still shows
    // the stalls that matter (nodejs_eventloop_lag_*), at one wakeup.
    if (options.defaults ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }
}
