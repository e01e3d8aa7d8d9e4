/** Time as pcapd reads it; tests pass a fake (see test/helpers/fake-clock.ts). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
};
