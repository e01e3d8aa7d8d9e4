/**
 * The one backoff schedule: capped exponential with jitter, for broker
 * reconnects, warm interface reopening and spool retries alike, so fifty
 * sensors that lost the same broker or S3 endpoint do not all come back in
 * the same millisecond (ioredis lib/redis/RedisOptions.ts retryStrategy does
 * the same for its own reconnects).
 */

export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay exceeds this. */
  capMs: number;
}

/** Broker reconnects. */
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
