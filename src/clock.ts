/**
 * Time as pcapd reads it; tests pass a fake ({ nowMs: () => t, monotonicMs: () => m }).
 *
 * Two clocks, because an operator or NTP may step the wall clock by hours:
 * wall time says when something happened (names, timestamps, the request's
 * own `timestamp`), monotonic time measures how long something took or
 * how long to wait (retry backoff, queue and dedup windows). A duration read
 * from the wall clock ends early or waits an hour after such a step.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall time: steps when the clock is set). */
  nowMs(): number;
  /** Milliseconds from an arbitrary origin that never steps (CLOCK_MONOTONIC): only differences mean anything. */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};
