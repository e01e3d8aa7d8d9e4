/** Time as pcapd reads it; tests pass a fake ({ nowMs: () => t }). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
};
