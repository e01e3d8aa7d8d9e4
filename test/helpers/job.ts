/**
 * A complete CaptureJob built by hand, as validation would hand it on, and
 * the CaptureOutcome a scheduler would report for it, for tests of the stages
 * after it (scheduler, sinks, spool, result events). Overrides replace
 * fields; leave one out to keep the default.
 */
import type { CaptureJob } from '../../src/model/job.js';
import type { DeliveringOutcome, FinalOutcome, OutcomeBase } from '../../src/model/outcome.js';
import { spooledCopy } from '../../src/model/outcome-transitions.js';

let jobCounter = 0;

export function makeJob(overrides: Partial<CaptureJob> = {}): CaptureJob {
  const id = overrides.id ?? `test-${process.pid}-${++jobCounter}`;
  return {
    id,
    source: 'http',
    receivedAt: new Date('2024-05-06T07:08:09.000Z'),
    node: 'sensor1',
    request: { id, node: 'sensor1', interface: ['eth0'] },
    interfaces: [{ name: 'eth0' }],
    filter: '',
    snaplenBytes: 65_535,
    format: 'pcapng',
    limits: {
      packets: 100,
      bytes: 1_000_000,
      durationSeconds: 10,
      timeoutSeconds: 0,
      segmentSeconds: 0,
      segmentBytes: 0,
      segmentAlign: false,
      lookbackSeconds: 0,
    },
    clamps: [],
    tags: [],
    packetDebug: false,
    logRequest: false,
    ...overrides,
  };
}

/** The fields every outcome state has, for a capture that has not recorded yet. */
export function makeOutcomeBase(id: string, overrides: Partial<OutcomeBase> = {}): OutcomeBase {
  return {
    id,
    node: 'sensor1',
    source: 'http',
    tags: [],
    requestedAt: new Date().toISOString(),
    packets: 0,
    bytes: 0,
    limits: makeJob().limits,
    clamps: [],
    interfaces: [],
    segments: 0,
    deliveries: [],
    deliveryFailures: [],
    pending: [],
    ...overrides,
  };
}

/** A capture's outcome while it is being delivered: it stopped at its packet limit, nothing delivered, nothing pending. */
export function makeOutcome(id: string, overrides: Partial<OutcomeBase> = {}): DeliveringOutcome {
  const base = makeOutcomeBase(id, { packets: 10, bytes: 100, ...overrides });
  const requestedMs = Date.parse(base.requestedAt);
  return {
    ...base,
    state: 'delivering',
    reason: 'packets',
    startedAt: new Date(requestedMs + 10).toISOString(),
    endedAt: new Date(requestedMs + 1010).toISOString(),
  };
}

/** The outcome the spool keeps with a capture: makeOutcome's, as it reads once its first delivery try is recorded. */
export function makeSpooledOutcome(id: string, overrides: Partial<OutcomeBase> = {}): FinalOutcome {
  return spooledCopy(makeOutcome(id, overrides), []);
}
