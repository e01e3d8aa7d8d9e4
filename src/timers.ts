/**
 * Waiting with a bound: a pause that an abort ends early, and work raced
 * against a deadline whose timer is cleared as soon as either side settles,
 * so no stray timer keeps a stopping process alive.
 */

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

/** What raceTimeout answers when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** `work`'s value, or TIMED_OUT if `ms` pass first; `work` itself is not cancelled. */
export async function raceTimeout<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    // A bound on a wait never keeps the process alive by itself.
    timer = setTimeout(() => resolve(TIMED_OUT), ms).unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
