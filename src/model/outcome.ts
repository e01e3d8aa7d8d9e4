/**
 * What a capture request came to: the body of result events and of
 * GET /captures/:id. Plain JSON (strings and numbers only) so it can travel
 * over any broker unchanged. One type per state, each with exactly the
 * fields that state guarantees; the moves between them are in
 * outcome-transitions.ts.
 */
import type { ErrorCode } from '../errors.js';
import type { StopReason } from '../capture/capture.js';
import type { Clamp, JobLimits, JobRing } from './job.js';
import type { Delivery } from './finished-capture.js';

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

/** A running capture, as GET /captures/:id shows it while it runs. */
export interface LiveView {
  interfaces: string[];
  filter: string;
  /** The number of the segment being written (0 for the first). */
  segment: number;
  packetsPerSecond: number;
  bitsPerSecond: number;
  /** The interval the rates are over (the time since the previous reading at least a second old). */
  intervalSeconds: number;
}

/** Captures with lookback: what was asked, how far back the file starts, packets from the ring. */
export interface LookbackServed {
  askedSeconds: number;
  servedSeconds: number;
  packets: number;
}

/** Why a capture could not start, or failed; the code is logged and counted as a reason. */
export interface OutcomeError {
  code: ErrorCode;
  message: string;
}

/** What every outcome carries, whatever its state. */
export interface OutcomeBase {
  id: string;
  /** A named capture's name: it is addressed by it as by its id. */
  name?: string;
  /** A named capture's ring of files. */
  ring?: JobRing;
  node: string;
  source: string;
  alertid?: string | number;
  customer?: string;
  tags: string[];
  requestedAt: string;
  /** What pcapd did not do as the request asked, and why (e.g. S3 fields ignored while S3 is off). */
  notes?: string[];
  /** Flow captures: the flow and its alerts. */
  flow?: FlowOutcome;
  /** Live counters while capturing, the final ones once capturing ended. */
  packets: number;
  bytes: number;
  limits: JobLimits;
  clamps: Clamp[];
  /** Per-interface counters, filled when capturing ends. */
  interfaces: InterfaceCounters[];
  /** Segments delivered so far (1 for an unsegmented capture once delivered). */
  segments: number;
  deliveries: Delivery[];
  deliveryFailures: DeliveryFailure[];
  /**
   * Sinks still waiting for the capture in the spool. A capture is "done"
   * once every sink either has it (deliveries), waits for it here, or gave up
   * (deliveryFailures); each later change comes as an updated outcome.
   * Absent only in outcomes spooled by versions that did not write it.
   */
  pending?: PendingDelivery[];
}

/*
 * The fields below belong to stages of a capture's life. A state that has
 * not reached a stage declares its fields `?: never`, so reading one on the
 * union is allowed (it is undefined there) and setting it is a type error.
 */

/** Recording has begun. */
interface Started {
  startedAt: string;
  lookback?: LookbackServed;
}

interface NotStarted {
  startedAt?: never;
  lookback?: never;
}

/** Recording has ended: why, when, and the first and last packet's times (absent when it caught none). */
interface Ended extends Started {
  reason: StopReason;
  endedAt: string;
  firstPacketAt?: string;
  lastPacketAt?: string;
}

interface NotEnded {
  reason?: never;
  endedAt?: never;
  firstPacketAt?: never;
  lastPacketAt?: never;
}

interface NoError {
  error?: never;
}

interface NotLive {
  live?: never;
}

/** Waiting for a capture slot (scheduler.queue). */
export interface QueuedOutcome extends OutcomeBase, NotStarted, NotEnded, NoError, NotLive {
  state: 'queued';
}

/** Admitted: its handle and ring are being opened. */
export interface ArmingOutcome extends OutcomeBase, NotStarted, NotEnded, NoError, NotLive {
  state: 'arming';
}

/** Recording; `packets` and `bytes` are the live counters. */
export interface CapturingOutcome extends OutcomeBase, Started, NotEnded, NoError {
  state: 'capturing';
  /** Interfaces, BPF, current segment and rates. */
  live: LiveView;
}

interface DeliveringBase extends OutcomeBase, Ended, NotLive {
  state: 'delivering';
}

/** Capturing ended; the sinks are being tried. */
export interface DeliveringCaptured extends DeliveringBase, NoError {
  reason: Exclude<StopReason, 'error'>;
}

/** Capturing ended on an error; the packets so far are being delivered, and the outcome ends "failed". */
export interface DeliveringFailed extends DeliveringBase {
  reason: 'error';
  error: OutcomeError;
}

export type DeliveringOutcome = DeliveringCaptured | DeliveringFailed;

/** Captured and handed to every sink (delivered, pending in the spool, or listed in deliveryFailures). */
export interface DoneCaptured extends OutcomeBase, Ended, NoError, NotLive {
  state: 'done';
  reason: Exclude<StopReason, 'error'>;
}

/** Cancelled (DELETE, or its config block removed) while it waited in the queue: it never recorded. */
export interface DoneCancelledInQueue extends OutcomeBase, NotStarted, NoError, NotLive {
  state: 'done';
  reason: 'cancelled';
  endedAt?: never;
  firstPacketAt?: never;
  lastPacketAt?: never;
}

/**
 * The spool's copy of a segment spooled while its capture still ran, read
 * back after a restart (or once http.history forgot the capture): the
 * segment is done, how the capture ended is not known.
 */
export interface DoneEndUnknown extends OutcomeBase, Partial<Started>, NotEnded, NoError, NotLive {
  state: 'done';
}

export type DoneOutcome = DoneCaptured | DoneCancelledInQueue | DoneEndUnknown;

/** It could not start: refused in the queue, at shutdown, or by the capture layer. */
export interface FailedBeforeStart extends OutcomeBase, NotStarted, NotEnded, NotLive {
  state: 'failed';
  error: OutcomeError;
}

/** The capture layer failed after recording began, without a result. */
export interface FailedWhileCapturing extends OutcomeBase, Started, NotEnded, NotLive {
  state: 'failed';
  error: OutcomeError;
}

/** Capturing ended on an error (e.g. the interface went away); the packets so far were delivered. */
export interface FailedCaptured extends OutcomeBase, Ended, NotLive {
  state: 'failed';
  reason: 'error';
  error: OutcomeError;
}

export type FailedOutcome = FailedBeforeStart | FailedWhileCapturing | FailedCaptured;

/** What a capture request came to, by state. */
export type CaptureOutcome = QueuedOutcome | ArmingOutcome | CapturingOutcome | DeliveringOutcome | DoneOutcome | FailedOutcome;

/** queued, arming, capturing, delivering, then done or failed (failed can follow any state before delivering). */
export type CaptureState = CaptureOutcome['state'];

/** The outcome of a capture in one state. */
export type OutcomeIn<S extends CaptureState> = Extract<CaptureOutcome, { state: S }>;

/** States a capture leaves no more (its outcome may still gain deliveries from the spool). */
export type FinalOutcome = DoneOutcome | FailedOutcome;
