import { describe, expect, it } from 'vitest';

import { settlementOf } from '../../src/listeners/settlement.js';
import { releaseDelaySeconds } from '../../src/listeners/sqs.js';
import type { FinalOutcome } from '../../src/model/outcome.js';

const outcome = new Promise<FinalOutcome>(() => undefined);

describe('settlementOf: what a broker listener does with a message', () => {
  it('acknowledges an accepted request only once its outcome is in', () => {
    expect(settlementOf({ kind: 'accepted', id: 'a', queued: false, outcome, armed: outcome })).toEqual({ kind: 'after-outcome', outcome });
  });

  it('acknowledges refused and duplicate requests at once', () => {
    expect(settlementOf({ kind: 'rejected', code: 'PCAPD_ERR_REQUEST_JSON', message: 'x' })).toEqual({ kind: 'ack' });
    expect(settlementOf({ kind: 'rejected', code: 'PCAPD_ERR_ADMISSION_FULL', message: 'x' })).toEqual({ kind: 'ack' });
    expect(settlementOf({ kind: 'duplicate', id: 'a' })).toEqual({ kind: 'ack' });
  });

  it("releases another node's request, and one refused only because pcapd is shutting down", () => {
    expect(settlementOf({ kind: 'ignored', why: 'other-node' })).toEqual({ kind: 'release', why: 'other-node' });
    expect(settlementOf({ kind: 'rejected', code: 'PCAPD_ERR_SHUTTING_DOWN', message: 'x' })).toEqual({
      kind: 'release',
      why: 'shutting-down',
    });
  });
});

describe('releaseDelaySeconds: an SQS message no node takes', () => {
  it('is visible again at once for its first receives, then hidden a little longer each time, capped', () => {
    expect([1, 2, 3].map(releaseDelaySeconds)).toEqual([0, 0, 0]);
    expect([4, 5, 6, 7].map(releaseDelaySeconds)).toEqual([2, 4, 8, 16]);
    expect(releaseDelaySeconds(40)).toBe(60);
    expect(releaseDelaySeconds(Number.NaN)).toBe(0);
  });
});
