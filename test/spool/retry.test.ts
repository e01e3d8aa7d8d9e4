import { describe, expect, it } from 'vitest';

import { PcapdError, SinkError } from '../../src/errors.js';
import { backoffMs, isRetriable, retryDecision } from '../../src/spool/retry.js';

const policy = { baseMs: 1000, maxMs: 60_000 };

describe('retry helper', () => {
  it('doubles the wait per failure up to the maximum', () => {
    const top = { ...policy, random: () => 1 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, top))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  });

  it('spreads each wait over the upper half of its step (jitter), never below half', () => {
    expect(backoffMs(3, { ...policy, random: () => 0 })).toBe(2000);
    expect(backoffMs(3, { ...policy, random: () => 0.5 })).toBe(3000);
    const samples = Array.from({ length: 500 }, () => backoffMs(4, policy));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(4000);
    expect(Math.max(...samples)).toBeLessThanOrEqual(8000);
    expect(new Set(samples).size).toBeGreaterThan(100);
  });

  it('does not overflow after very many failures', () => {
    expect(backoffMs(10_000, { ...policy, random: () => 1 })).toBe(60_000);
  });

  it('decides from the error alone: SinkError.retriable, other pcapd decisions no, unknown errors yes', () => {
    expect(isRetriable(new SinkError('PCAPD_ERR_SINK_S3', 's3', 'down', { retriable: true }))).toBe(true);
    expect(isRetriable(new SinkError('PCAPD_ERR_SINK_S3', 's3', 'no such bucket', { retriable: false }))).toBe(false);
    expect(isRetriable(new PcapdError('PCAPD_ERR_SPOOL_READ', 'damaged'))).toBe(false);
    expect(isRetriable(new TypeError('a bug somewhere'))).toBe(true);
    expect(retryDecision(new SinkError('PCAPD_ERR_SINK_S3', 's3', 'x', { retriable: false }), 1, policy)).toEqual({ retry: false });
    expect(retryDecision(new Error('x'), 2, { ...policy, random: () => 1 })).toEqual({ retry: true, delayMs: 2000 });
  });
});
