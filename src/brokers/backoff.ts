/**
 * Reconnect delays for every broker: capped exponential backoff with jitter,
 * so fifty sensors that lost the same broker do not all come back in the
 * same millisecond (ioredis lib/redis/RedisOptions.ts retryStrategy does the
 * same for its own reconnects).
 */

export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay exceeds this. */
  capMs: number;
}

export const BROKER_BACKOFF: BackoffOptions = { baseMs: 100, capMs: 10_000 };

/**
 * Delay before retry number `attempt` (1 for the first): half of it fixed,
 * half random ("equal jitter"), so a retry never comes at once and never
 * later than the cap.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = BROKER_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceilingMs = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
