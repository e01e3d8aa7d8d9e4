/**
 * The moves of a capture's outcome from one state to the next. Each takes
 * the outcome in the states it may leave and returns a new value of the next
 * state's type, built from the fields every state has plus exactly what the
 * next state guarantees: a field that belongs to an earlier state (`live`
 * once capturing has ended) cannot ride along, and one the next state needs
 * (`error` of a failed outcome) cannot be left out.
 */
import type { Delivery } from './finished-capture.js';
import type {
  ArmingOutcome,
  CaptureOutcome,
  CapturingOutcome,
  DeliveringOutcome,
  DoneCancelledInQueue,
  DoneCaptured,
  DoneEndUnknown,
  FailedBeforeStart,
  FailedCaptured,
  FailedWhileCapturing,
  FinalOutcome,
  InterfaceCounters,
  LiveView,
  LookbackServed,
  OutcomeBase,
  OutcomeError,
  QueuedOutcome,
} from './outcome.js';
import type { StopReason } from '../capture/capture.js';

/** What arming found: when recording began, what the lookback ring gave, the first live view. */
export interface ArmedFacts {
  startedAt: string;
  lookback?: LookbackServed;
  live: LiveView;
}

/** What the capture layer reported when recording ended. An error comes with reason "error", and only with it. */
export type CaptureEnd = {
  startedAt: string;
  endedAt: string;
  firstPacketAt?: string;
  lastPacketAt?: string;
  packets: number;
  bytes: number;
  interfaces: InterfaceCounters[];
} & ({ reason: Exclude<StopReason, 'error'>; error?: never } | { reason: 'error'; error: OutcomeError });

/** Outcomes whose capture has not ended: the ones a failure or a cancel can still end. */
export type UnendedOutcome = QueuedOutcome | ArmingOutcome | CapturingOutcome;

/**
 * The fields every state has, without those of `outcome`'s state. Listed one
 * by one rather than by rest destructuring, which V8 runs through a slow
 * runtime call: this runs at every change of state of every capture.
 * test/model/outcome.test.ts builds an outcome with every field of
 * OutcomeBase set (a Required<OutcomeBase>, so a new field must be added
 * there) and checks that each transition keeps them all.
 */
function baseOf(outcome: CaptureOutcome): OutcomeBase {
  const base: OutcomeBase = {
    id: outcome.id,
    node: outcome.node,
    source: outcome.source,
    tags: outcome.tags,
    requestedAt: outcome.requestedAt,
    packets: outcome.packets,
    bytes: outcome.bytes,
    limits: outcome.limits,
    clamps: outcome.clamps,
    interfaces: outcome.interfaces,
    segments: outcome.segments,
    deliveries: outcome.deliveries,
    deliveryFailures: outcome.deliveryFailures,
  };
  if (outcome.name !== undefined) base.name = outcome.name;
  if (outcome.ring !== undefined) base.ring = outcome.ring;
  if (outcome.alertid !== undefined) base.alertid = outcome.alertid;
  if (outcome.customer !== undefined) base.customer = outcome.customer;
  if (outcome.notes !== undefined) base.notes = outcome.notes;
  if (outcome.flow !== undefined) base.flow = outcome.flow;
  if (outcome.pending !== undefined) base.pending = outcome.pending;
  return base;
}

function startedOf(outcome: { startedAt: string; lookback?: LookbackServed }): { startedAt: string; lookback?: LookbackServed } {
  return { startedAt: outcome.startedAt, ...(outcome.lookback === undefined ? {} : { lookback: outcome.lookback }) };
}

function endTimesOf(outcome: { endedAt: string; firstPacketAt?: string; lastPacketAt?: string }): {
  endedAt: string;
  firstPacketAt?: string;
  lastPacketAt?: string;
} {
  return {
    endedAt: outcome.endedAt,
    ...(outcome.firstPacketAt === undefined ? {} : { firstPacketAt: outcome.firstPacketAt }),
    ...(outcome.lastPacketAt === undefined ? {} : { lastPacketAt: outcome.lastPacketAt }),
  };
}

/** A slot was free: the capture's handle is being opened. */
export function toArming(outcome: QueuedOutcome): ArmingOutcome {
  return { ...baseOf(outcome), state: 'arming' };
}

/** The capture layer reported it armed: it records from `startedAt`. */
export function toCapturing(outcome: ArmingOutcome, armed: ArmedFacts): CapturingOutcome {
  return { ...baseOf(outcome), state: 'capturing', ...startedOf(armed), live: armed.live };
}

/**
 * Recording ended (possibly before the armed report was seen, so from
 * arming too): the final counters and times replace the live ones. The
 * lookback served at arming stays.
 */
export function toDelivering(outcome: ArmingOutcome | CapturingOutcome, end: CaptureEnd): DeliveringOutcome {
  const base = { ...baseOf(outcome), packets: end.packets, bytes: end.bytes, interfaces: end.interfaces };
  const times = {
    ...startedOf({ startedAt: end.startedAt, ...(outcome.lookback === undefined ? {} : { lookback: outcome.lookback }) }),
    ...endTimesOf(end),
  };
  if (end.reason === 'error') return { ...base, state: 'delivering', ...times, reason: 'error', error: end.error };
  return { ...base, state: 'delivering', ...times, reason: end.reason };
}

/** Every sink was tried: done, or failed when capturing ended on an error. */
export function afterDelivery(outcome: DeliveringOutcome): DoneCaptured | FailedCaptured {
  const base = baseOf(outcome);
  const times = { ...startedOf(outcome), ...endTimesOf(outcome) };
  if (outcome.reason === 'error') return { ...base, state: 'failed', ...times, reason: 'error', error: outcome.error };
  return { ...base, state: 'done', ...times, reason: outcome.reason };
}

/** Cancelled while waiting for a slot: it never recorded. */
export function cancelInQueue(outcome: QueuedOutcome): DoneCancelledInQueue {
  return { ...baseOf(outcome), state: 'done', reason: 'cancelled' };
}

/** It could not start, or the capture layer failed without a result; a started capture keeps its start. */
export function toFailed(outcome: UnendedOutcome, error: OutcomeError): FailedBeforeStart | FailedWhileCapturing {
  const base = baseOf(outcome);
  if (outcome.state === 'capturing') return { ...base, state: 'failed', ...startedOf(outcome), error };
  return { ...base, state: 'failed', error };
}

/**
 * The outcome as the spool keeps it with a delivery of this capture: as it
 * will read once that delivery's first try is recorded (its deliveries so
 * far included, one more segment). A segment spooled while its capture runs
 * is kept as done with the end unknown: the copy is only read when this
 * process no longer knows the capture (after a restart), and then it no
 * longer runs.
 */
export function spooledCopy(outcome: CaptureOutcome, delivered: readonly Delivery[]): FinalOutcome {
  const copy = structuredClone(outcome);
  copy.deliveries.push(...structuredClone([...delivered]));
  copy.segments += 1;
  switch (copy.state) {
    case 'queued':
    case 'arming':
      return endUnknown(copy);
    case 'capturing':
      return { ...endUnknown(copy), ...startedOf(copy) };
    case 'delivering':
      return afterDelivery(copy);
    case 'done':
    case 'failed':
      return copy;
    default: {
      const unreachable: never = copy;
      throw new Error(`unknown capture state ${JSON.stringify(unreachable)}`);
    }
  }
}

function endUnknown(outcome: CaptureOutcome): DoneEndUnknown {
  return { ...baseOf(outcome), state: 'done' };
}
