import { describe, expect, it } from 'vitest';

import { planCull } from '../../src/spool/cull.js';
import type { SpoolEntry } from '../../src/spool/store.js';

const NOW = Date.parse('2024-06-01T00:00:00Z');
const HOUR = 3_600_000;

function entry(key: string, ageMs: number, bytes: number, sinks: string[], delivered: string[] = []): SpoolEntry {
  const spooledAt = new Date(NOW - ageMs).toISOString();
  return {
    kind: 'valid',
    key,
    dir: `/spool/entries/${key}`,
    bytes,
    files: 1,
    mtimeMs: NOW - ageMs,
    record: { key, id: key, spooledAt, sinks } as never,
    state: { sinks: {} },
    delivered: new Map(delivered.map((sink) => [sink, { deliveredAt: spooledAt, delivery: { sink, locations: [] } }])),
  };
}

const limits = { maxAgeMs: 24 * HOUR, maxBytes: 1000 };

describe('planCull', () => {
  it('removes delivered entries whatever their age', () => {
    const plan = planCull([entry('a', HOUR, 10, ['s3'], ['s3']), entry('b', HOUR, 10, ['s3'])], NOW, limits);
    expect(plan).toEqual([{ key: 'a', reason: 'delivered', bytes: 10, undelivered: [], ageMs: HOUR }]);
  });

  it('removes undelivered entries older than maxage, naming the sinks that never got them', () => {
    const plan = planCull([entry('old', 25 * HOUR, 10, ['s3', 'local'], ['local']), entry('new', HOUR, 10, ['s3'])], NOW, limits);
    expect(plan).toEqual([{ key: 'old', reason: 'age', bytes: 10, undelivered: ['s3'], ageMs: 25 * HOUR }]);
  });

  it('removes the oldest undelivered entries until the spool fits maxbytes', () => {
    const entries = [entry('e1', 5 * HOUR, 400, ['s3']), entry('e2', 4 * HOUR, 400, ['s3']), entry('e3', 3 * HOUR, 400, ['s3'])];
    expect(planCull(entries, NOW, limits).map((item) => [item.key, item.reason])).toEqual([['e1', 'size']]);
    expect(planCull(entries, NOW, limits, { extraBytes: 500 }).map((item) => [item.key, item.reason])).toEqual([
      ['e1', 'size'],
      ['e2', 'size'],
    ]);
  });

  it('counts what delivered and aged removals free before evicting by size', () => {
    const entries = [entry('done', 5 * HOUR, 800, ['s3'], ['s3']), entry('keep', HOUR, 400, ['s3'])];
    expect(planCull(entries, NOW, limits).map((item) => item.key)).toEqual(['done']);
  });

  it('leaves entries being tried for the next pass', () => {
    const entries = [entry('busy', 30 * HOUR, 10, ['s3'])];
    expect(planCull(entries, NOW, limits, { busy: new Set(['busy']) })).toEqual([]);
  });

  it('keeps a damaged entry until its age is up', () => {
    const damaged: SpoolEntry = { kind: 'invalid', key: 'bad', dir: '/x', bytes: 5, files: 1, mtimeMs: NOW - HOUR, problem: 'capture.json: missing' };
    expect(planCull([damaged], NOW, limits)).toEqual([]);
    expect(planCull([{ ...damaged, mtimeMs: NOW - 25 * HOUR }], NOW, limits).map((item) => item.reason)).toEqual(['age']);
  });
});
