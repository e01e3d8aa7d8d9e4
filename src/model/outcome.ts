/**
 * What a capture request came to: the body of result events and of
 * GET /captures/:id. Plain JSON (strings and numbers only) so it can travel
 * over any broker unchanged.
 */
import type { ErrorCode } from '../errors.js';
import type { StopReason } from '../capture/capture.js';
import type { Clamp, JobLimits } from './job.js';
import type { Delivery } from './finished-capture.js';

export type CaptureState = 'queued' | 'arming' | 'capturing' | 'delivering' | 'done' | 'failed';

export interface InterfaceCounters {
  name: string;
  alias?: string;
  linktype: number;
  snaplenBytes: number;
  /** Packets that passed the kernel filter. */
  received: number;
  /** Dropped by the kernel (ring full). */
  dropped: number;
  /** Dropped by the interface or driver. */
  ifDropped: number;
  written: number;
}

/**
 * A sink that does not have the capture and will not get it without help: a
 * non-retriable error (kept in the spool until a config reload or
 * `pcapd spool retry` tries again, or the cull removes it), a spool that was
 * full, or a cull. `segment` is set for deliveries that went through the spool.
 */
export interface DeliveryFailure {
  sink: string;
  code: ErrorCode;
  message: string;
  segment?: number;
}

/** A sink that failed and is being retried from the spool; a later result event says how it ended. */
export interface PendingDelivery {
  sink: string;
  segment: number;
  /** Failed tries so far. */
  attempts: number;
  /** When the next try is due (ISO 8601). */
  nextAttemptAt: string;
  /** The last try's error. */
  code: ErrorCode;
  message: string;
}

/** One alert of a flow capture: the one that started it, or one merged into it. */
export interface FlowAlertRecord {
  signatureId?: number;
  signature?: string;
  /** The alert's own time, as Suricata wrote it. */
  timestamp?: string;
  /** When pcapd received it (ISO 8601). */
  receivedAt: string;
}

/** What a flow capture (a request with `eve`) is about, and the alerts it gathered. */
export interface FlowOutcome {
  /** Suricata's flow_id, exact (decimal digits). */
  flowId?: string;
  /** pcapd's Community ID (v1) of the flow captured (absent for ICMP without a type). */
  communityId?: string;
  /** The alert's community_id, when it carried one that differs from pcapd's (it should not). */
  alertCommunityId?: string;
  /** "tcp 10.0.0.1:51234 <-> 10.0.0.2:443". */
  flow: string;
  /** The BPF pcapd derived for it (also the interface block's if_filter). */
  filter: string;
  /** The first flows.mergemax alerts, in arrival order, the one that started the capture first. */
  alerts: FlowAlertRecord[];
  /** Alerts merged into this capture after the first (listed or not). */
  merged: number;
  /** Alerts not listed because flows.mergemax was reached. */
  omitted: number;
}

export interface CaptureOutcome {
  id: string;
  node: string;
  source: string;
  alertid?: string | number;
  customer?: string;
  tags: string[];
  state: CaptureState;
  /** Why capturing ended (set once it has). */
  reason?: StopReason;
  /** Set when the capture could not start or failed (state "failed"). */
  error?: { code: ErrorCode; message: string };
  requestedAt: string;
  startedAt?: string;
  /** What pcapd did not do as the request asked, and why (e.g. S3 fields ignored while S3 is off). */
  notes?: string[];
  /** Flow captures: the flow and its alerts. */
  flow?: FlowOutcome;
  /** Captures with lookback: what was asked, how far back the file starts, packets from the ring. */
  lookback?: { askedSeconds: number; servedSeconds: number; packets: number };
  endedAt?: string;
  firstPacketAt?: string;
  lastPacketAt?: string;
  packets: number;
  bytes: number;
  limits: JobLimits;
  clamps: Clamp[];
  interfaces: InterfaceCounters[];
  /** Segments delivered so far (1 for an unsegmented capture once delivered). */
  segments: number;
  deliveries: Delivery[];
  deliveryFailures: DeliveryFailure[];
  /**
   * Sinks still waiting for the capture in the spool. A capture is "done"
   * once every sink either has it (deliveries), waits for it here, or gave up
   * (deliveryFailures); each later change comes as an updated outcome.
   */
  pending?: PendingDelivery[];
}
