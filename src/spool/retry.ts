/**
 * The one retry helper: whether a failed delivery is tried again, and when.
 * The decision comes from the error alone (SinkError.retriable, see
 * src/errors.ts), the delay from a capped exponential backoff with jitter, so
 * that a sensor fleet whose S3 endpoint comes back is not hit by every node
 * in the same second (ioredis's retryStrategy, kafkajs's retry/index.js).
 */
import { backoffDelayMs } from '../backoff.js';
import { PcapdError, SinkError } from '../errors.js';

export interface RetryPolicy {
  /** Wait before the first retry. */
  baseMs: number;
  /** Longest wait between two tries. */
  maxMs: number;
  /** [0, 1); tests pass a fixed one. */
  random?: () => number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * Whether trying the same delivery again may succeed. A SinkError says so
 * itself; another PcapdError is a pcapd decision (a refused file name) and is
 * not retried; anything else (a bug, an unexpected library error) is retried,
 * because dropping a capture on an error nobody classified is the worse mistake.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof SinkError) return err.retriable;
  if (err instanceof PcapdError) return false;
  return true;
}

/** The wait after the `failures`-th failure in a row (1 for the first), from the one backoff schedule. */
export function backoffMs(failures: number, policy: RetryPolicy): number {
  return backoffDelayMs(failures, { baseMs: policy.baseMs, capMs: policy.maxMs }, policy.random);
}

export function retryDecision(err: unknown, failures: number, policy: RetryPolicy): RetryDecision {
  if (!isRetriable(err)) return { retry: false };
  return { retry: true, delayMs: backoffMs(failures, policy) };
}
