import { describe, expect, it, vi } from 'vitest';

import { backoffDelayMs } from '../src/backoff.js';
import { sleep } from '../src/timers.js';

describe('backoffDelayMs', () => {
  const options = { baseMs: 100, capMs: 10_000 };

  it('doubles per attempt, between half and all of the ceiling', () => {
    expect(backoffDelayMs(1, options, () => 0)).toBe(50);
    expect(backoffDelayMs(1, options, () => 1)).toBe(100);
    expect(backoffDelayMs(4, options, () => 0)).toBe(400);
    expect(backoffDelayMs(4, options, () => 1)).toBe(800);
  });

  it('never exceeds the cap, however many attempts', () => {
    for (const attempt of [8, 20, 1000]) {
      expect(backoffDelayMs(attempt, options, () => 1)).toBe(10_000);
      expect(backoffDelayMs(attempt, options, () => 0)).toBe(5_000);
    }
  });

  it('spreads retries of many clients (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(6, options)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('sleep', () => {
  it('ends when its signal aborts, without waiting out its time', async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      const sleeping = sleep(60_000, controller.signal);
      controller.abort();
      await sleeping; // the fake clock never moved
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
