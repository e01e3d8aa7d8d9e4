import { describe, expect, it } from 'vitest';

import { PartitionLedger } from '../../src/listeners/kafka-offsets.js';

describe('PartitionLedger', () => {
  it('commits up to the oldest request still in flight, whatever order captures end in', () => {
    const ledger = new PartitionLedger();
    for (const offset of [5n, 6n, 7n]) ledger.add(offset);
    expect(ledger.done(7n)).toBeUndefined(); // 5 and 6 still running
    expect(ledger.done(6n)).toBeUndefined();
    expect(ledger.done(5n)).toBe(8n); // all three handled: the next to read is 8
    expect(ledger.floor).toBe(8n);
  });

  it('moves the floor as far as the handled prefix reaches', () => {
    const ledger = new PartitionLedger();
    for (const offset of [10n, 11n, 12n]) ledger.add(offset);
    expect(ledger.done(10n)).toBe(11n);
    expect(ledger.done(12n)).toBeUndefined();
    expect(ledger.floor).toBe(11n);
  });

  it('recognises offsets redelivered after a consumer restart: in flight, or below the floor', () => {
    const ledger = new PartitionLedger();
    ledger.add(3n);
    ledger.add(4n);
    ledger.done(3n);
    expect(ledger.has(2n)).toBe(true); // below the floor: handled
    expect(ledger.has(3n)).toBe(true);
    expect(ledger.has(4n)).toBe(true); // still capturing
    expect(ledger.has(5n)).toBe(false);
  });

  it('never commits backwards over a confirmed commit', () => {
    const ledger = new PartitionLedger();
    expect(ledger.wants(4n)).toBe(true);
    ledger.confirmed(9n);
    expect(ledger.wants(4n)).toBe(false);
    expect(ledger.wants(9n)).toBe(false);
    expect(ledger.wants(10n)).toBe(true);
    ledger.add(9n);
    ledger.done(9n);
    expect(ledger.needsCommit()).toBe(true); // floor 10 > confirmed 9
  });

  it('ignores an offset it never tracked', () => {
    expect(new PartitionLedger().done(1n)).toBeUndefined();
  });
});

describe('PartitionLedger.commit', () => {
  it('sends one commit at a time; offsets asked for meanwhile collapse into the newest', async () => {
    const ledger = new PartitionLedger();
    const sent: bigint[] = [];
    let release: () => void = () => undefined;
    const send = (offset: bigint): Promise<void> => {
      sent.push(offset);
      ledger.confirmed(offset);
      return new Promise((resolve) => {
        release = resolve;
      });
    };
    ledger.commit(1n, send);
    ledger.commit(2n, send);
    ledger.commit(4n, send);
    ledger.commit(3n, send); // older than one already waiting: dropped
    expect(sent).toEqual([1n]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([1n, 4n]);
    release();
    await ledger.committing;
    expect(sent).toEqual([1n, 4n]);
  });

  it('skips an offset already confirmed by a later commit', async () => {
    const ledger = new PartitionLedger();
    const sent: bigint[] = [];
    ledger.confirmed(10n);
    ledger.commit(8n, async (offset) => {
      sent.push(offset);
    });
    await ledger.committing;
    expect(sent).toEqual([]);
  });
});
