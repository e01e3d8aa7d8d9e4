/**
 * The outcome's states and the transitions between them. The type-level
 * cases are checked by `tsc -p tsconfig.json` (each @ts-expect-error fails
 * the typecheck when the line it marks becomes valid); the runtime cases
 * check the values the transitions build, against the OpenAPI schema the
 * HTTP API is documented by.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';

import { CaptureOutcomeSchema } from '../../src/http/openapi.js';
import type {
  ArmingOutcome,
  CaptureOutcome,
  CaptureState,
  CapturingOutcome,
  DeliveringOutcome,
  DoneOutcome,
  FailedOutcome,
  FinalOutcome,
  LiveView,
  OutcomeBase,
  QueuedOutcome,
} from '../../src/model/outcome.js';
import {
  afterDelivery,
  cancelInQueue,
  spooledCopy,
  toArming,
  toCapturing,
  toDelivering,
  toFailed,
  type CaptureEnd,
  type UnendedOutcome,
} from '../../src/model/outcome-transitions.js';
import { makeOutcomeBase } from '../helpers/job.js';

const base: OutcomeBase = makeOutcomeBase('outcome-1', { tags: ['t'], requestedAt: '2024-05-06T07:08:09.000Z' });

const live: LiveView = { interfaces: ['eth0'], filter: 'udp', segment: 0, packetsPerSecond: 0, bitsPerSecond: 0, intervalSeconds: 0 };
const startedAt = '2024-05-06T07:08:09.010000000Z';
const error = { code: 'PCAPD_ERR_CAPTURE_FAILED', message: 'eth0 went away' } as const;

const queued = (): QueuedOutcome => ({ ...base, state: 'queued' });
const capturing = (): CapturingOutcome => toCapturing(toArming(queued()), { startedAt, lookback: { askedSeconds: 5, servedSeconds: 4.5, packets: 3 }, live });

const end = {
  startedAt,
  endedAt: '2024-05-06T07:08:10.010000000Z',
  firstPacketAt: '2024-05-06T07:08:09.500000000Z',
  lastPacketAt: '2024-05-06T07:08:09.900000000Z',
  packets: 7,
  bytes: 900,
  interfaces: [{ name: 'eth0', linktype: 1, snaplenBytes: 65_535, received: 7, dropped: 0, ifDropped: 0, written: 7 }],
};

/** The outcome as it travels: JSON, then read by the schema the API documents. */
function onTheWire(outcome: CaptureOutcome): z.output<typeof CaptureOutcomeSchema> {
  return CaptureOutcomeSchema.parse(JSON.parse(JSON.stringify(outcome)));
}

describe('outcome types: each state carries what it guarantees', () => {
  it('has the six states', () => {
    expectTypeOf<CaptureState>().toEqualTypeOf<'queued' | 'arming' | 'capturing' | 'delivering' | 'done' | 'failed'>();
  });

  it('refuses outcomes a state cannot have', () => {
    // @ts-expect-error a failed outcome needs its error
    const failedWithoutError: FailedOutcome = { ...base, state: 'failed' };
    // @ts-expect-error a capturing outcome has started
    const capturingWithoutStart: CapturingOutcome = { ...base, state: 'capturing', live };
    // @ts-expect-error a capturing outcome shows its live view
    const capturingWithoutLive: CapturingOutcome = { ...base, state: 'capturing', startedAt };
    // @ts-expect-error only a capturing outcome has a live view
    const doneWithLive: DoneOutcome = { ...base, state: 'done', ...end, reason: 'packets', live };
    // @ts-expect-error a queued capture has not started
    const queuedWithStart: QueuedOutcome = { ...base, state: 'queued', startedAt };
    // @ts-expect-error a capture that ended on an error is failed, not done
    const doneOnError: DoneOutcome = { ...base, state: 'done', ...end, reason: 'error' };
    // @ts-expect-error reason "error" comes with the error
    const deliveringWithoutError: DeliveringOutcome = { ...base, state: 'delivering', ...end, reason: 'error' };
    // @ts-expect-error delivering has ended: it needs endedAt
    const deliveringWithoutEnd: DeliveringOutcome = { ...base, state: 'delivering', startedAt, reason: 'packets' };
    expect([failedWithoutError, capturingWithoutStart, capturingWithoutLive, doneWithLive, queuedWithStart]).toHaveLength(5);
    expect([doneOnError, deliveringWithoutError, deliveringWithoutEnd]).toHaveLength(3);
  });

  it('lets a transition start only from the states it leaves, and says what it makes', () => {
    expectTypeOf(toArming).parameter(0).toEqualTypeOf<QueuedOutcome>();
    expectTypeOf(toCapturing).parameter(0).toEqualTypeOf<ArmingOutcome>();
    expectTypeOf(toCapturing).returns.toEqualTypeOf<CapturingOutcome>();
    expectTypeOf(toDelivering).parameter(0).toEqualTypeOf<ArmingOutcome | CapturingOutcome>();
    expectTypeOf(afterDelivery).parameter(0).toEqualTypeOf<DeliveringOutcome>();
    expectTypeOf(afterDelivery).returns.toExtend<DoneOutcome | FailedOutcome>();
    expectTypeOf(cancelInQueue).parameter(0).toEqualTypeOf<QueuedOutcome>();
    expectTypeOf(toFailed).parameter(0).toEqualTypeOf<UnendedOutcome>();
    expectTypeOf(toFailed).returns.toExtend<FailedOutcome>();
    expectTypeOf(spooledCopy).returns.toEqualTypeOf<FinalOutcome>();
    // @ts-expect-error an end on an error carries the error
    const endWithoutError: CaptureEnd = { ...end, reason: 'error' };
    // @ts-expect-error an end for another reason carries none
    const endWithError: CaptureEnd = { ...end, reason: 'packets', error };
    expect([endWithoutError.reason, endWithError.reason]).toEqual(['error', 'packets']);
  });

  it('is accepted by the schema the API documents it with', () => {
    // Compiles only while every state's type fits the schema's output for that state (its named fields; it allows more).
    type Named<T> = T extends unknown ? { [K in keyof T as string extends K ? never : K]: T[K] } : never;
    const asDocumented = (outcome: CaptureOutcome): Named<z.output<typeof CaptureOutcomeSchema>> => outcome;
    expect(asDocumented(capturing()).state).toBe('capturing');
  });
});

describe('outcome transitions', () => {
  it('moves a capture from queued to done, each step carrying exactly its state’s fields', () => {
    const first = queued();
    const arming = toArming(first);
    const running = capturing();
    const delivering = toDelivering(running, { ...end, reason: 'packets' });
    const done = afterDelivery(delivering);

    expect(first.state).toBe('queued'); // a transition builds a new value; the old one is left as it was
    expect(arming).toEqual({ ...base, state: 'arming' });
    expect(running).toEqual({ ...base, state: 'capturing', startedAt, lookback: { askedSeconds: 5, servedSeconds: 4.5, packets: 3 }, live });
    expect(delivering).toEqual({ ...base, ...end, state: 'delivering', reason: 'packets', lookback: running.lookback });
    expect(done).toEqual({ ...delivering, state: 'done' });
    expect(done).not.toHaveProperty('live');
    expect(done).not.toHaveProperty('error');
    for (const outcome of [first, arming, running, delivering, done]) expect(onTheWire(outcome).state).toBe(outcome.state);
  });

  it('ends a capture that stopped on an error as failed, with its error, reason and packets', () => {
    const delivering = toDelivering(capturing(), { ...end, reason: 'error', error });
    expect(delivering).toMatchObject({ state: 'delivering', reason: 'error', error, packets: 7 });
    const failed = afterDelivery(delivering);
    expect(failed).toEqual({ ...delivering, state: 'failed' });
    expect(onTheWire(failed)).toMatchObject({ state: 'failed', reason: 'error', error });
  });

  it('takes the final counters and start time from the end, also for an end seen before the armed report', () => {
    const delivering = toDelivering(toArming(queued()), { startedAt, endedAt: end.endedAt, packets: 0, bytes: 120, interfaces: [], reason: 'cancelled' });
    expect(delivering).toEqual({ ...base, state: 'delivering', reason: 'cancelled', startedAt, endedAt: end.endedAt, bytes: 120 });
    expect(onTheWire(delivering).state).toBe('delivering');
  });

  it('fails a capture before it records without a start, and one that recorded keeps its start but not its live view', () => {
    const early = toFailed(queued(), { code: 'PCAPD_ERR_ADMISSION_FULL', message: 'waited 30 s' });
    expect(early).toEqual({ ...base, state: 'failed', error: { code: 'PCAPD_ERR_ADMISSION_FULL', message: 'waited 30 s' } });
    const late = toFailed(capturing(), error);
    expect(late).toEqual({ ...base, state: 'failed', startedAt, lookback: { askedSeconds: 5, servedSeconds: 4.5, packets: 3 }, error });
    expect(late).not.toHaveProperty('live');
    expect(onTheWire(early).state).toBe('failed');
    expect(onTheWire(late).state).toBe('failed');
  });

  it('cancels a queued capture as done with reason cancelled and no times', () => {
    const cancelled = cancelInQueue(queued());
    expect(cancelled).toEqual({ ...base, state: 'done', reason: 'cancelled' });
    expect(onTheWire(cancelled)).toMatchObject({ state: 'done', reason: 'cancelled' });
  });

  it('keeps every field every state has through every transition', () => {
    // Required<…>: a field added to OutcomeBase fails the typecheck here until it is set, and then this test until the transitions copy it.
    const full: Required<OutcomeBase> = {
      ...makeOutcomeBase('outcome-full', { tags: ['a', 'b'], packets: 3, bytes: 300, segments: 2 }),
      name: 'night-watch',
      ring: { files: 4, bytes: 0 },
      alertid: 42,
      customer: 'acme',
      notes: ['s3 fields ignored: S3 is not enabled'],
      flow: { flowId: '1234', flow: 'tcp 10.0.0.1:51234 <-> 10.0.0.2:443', filter: 'tcp', alerts: [], merged: 0, omitted: 0 },
      deliveries: [{ sink: 'local', locations: ['/x.pcapng'] }],
      deliveryFailures: [{ sink: 's3', code: 'PCAPD_ERR_SINK_S3', message: 'no bucket' }],
      pending: [{ sink: 'cloudshark', segment: 0, attempts: 1, nextAttemptAt: startedAt, code: 'PCAPD_ERR_SINK_CLOUDSHARK', message: 'refused' }],
      clamps: [{ field: 'packets', requested: 10, applied: 5 }],
    };
    const start = (): QueuedOutcome => ({ ...full, state: 'queued' });
    const running = toCapturing(toArming(start()), { startedAt, live });
    const delivering = toDelivering(running, { ...end, reason: 'packets' });
    const endFields = { packets: end.packets, bytes: end.bytes, interfaces: end.interfaces };
    const after: Array<[string, CaptureOutcome, Partial<OutcomeBase>]> = [
      ['toArming', toArming(start()), {}],
      ['toCapturing', running, {}],
      ['toDelivering', delivering, endFields],
      ['afterDelivery', afterDelivery(delivering), endFields],
      ['cancelInQueue', cancelInQueue(start()), {}],
      ['toFailed', toFailed(running, error), {}],
    ];
    for (const [transition, outcome, changed] of after) {
      for (const [field, value] of Object.entries({ ...full, ...changed })) {
        expect(outcome, `${transition} keeps ${field}`).toHaveProperty([field], value);
      }
    }
  });

  it('rejects on the wire a failed outcome without error and a capturing one without live view', () => {
    expect(() => onTheWire({ ...base, state: 'failed' } as unknown as CaptureOutcome)).toThrow();
    expect(() => onTheWire({ ...base, state: 'capturing', startedAt } as unknown as CaptureOutcome)).toThrow();
    expect(() => onTheWire({ ...base, state: 'delivering', startedAt, reason: 'packets' } as unknown as CaptureOutcome)).toThrow();
  });
});

describe('spooledCopy: the outcome the spool keeps with a delivery', () => {
  const delivery = { sink: 's3', locations: ['s3://bucket/a.pcapng'] };

  it('reads as the capture will once the delivery is recorded: done, one more segment, the delivery included', () => {
    const delivering = toDelivering(capturing(), { ...end, reason: 'packets' });
    const copy = spooledCopy(delivering, [delivery]);
    expect(copy).toEqual({ ...afterDelivery(delivering), segments: 1, deliveries: [delivery] });
    expect(delivering.deliveries).toEqual([]); // the capture's own outcome is not changed
    expect(delivering.segments).toBe(0);
  });

  it('keeps a capture that ended on an error as failed', () => {
    const copy = spooledCopy(toDelivering(capturing(), { ...end, reason: 'error', error }), []);
    expect(copy).toMatchObject({ state: 'failed', reason: 'error', error, segments: 1 });
  });

  it('keeps a segment of a running capture as done with its start, its end unknown and no live view', () => {
    const copy = spooledCopy(capturing(), [delivery]);
    expect(copy).toEqual({
      ...base,
      state: 'done',
      startedAt,
      lookback: { askedSeconds: 5, servedSeconds: 4.5, packets: 3 },
      segments: 1,
      deliveries: [delivery],
    });
    expect(onTheWire(copy)).toMatchObject({ state: 'done', startedAt });
  });

  it('leaves a final outcome final', () => {
    const done = afterDelivery(toDelivering(capturing(), { ...end, reason: 'packets' }));
    expect(spooledCopy(done, [])).toEqual({ ...done, segments: 1 });
  });
});
