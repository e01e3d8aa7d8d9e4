/** Waiting for something a test cannot be told about, by polling: the one helper every test uses. */

/** What a probe returns while the awaited state is not there yet. */
type NotYet = undefined | null | false;

export interface WaitOptions {
  /** Default 20 s. */
  timeoutMs?: number;
  /** Pause between probes; default 50 ms. */
  intervalMs?: number;
  /** Appended to the timeout message: what the test saw last (counts, stderr), so a failure says why. */
  detail?: () => string;
}

/**
 * Thrown from a probe to end the wait at once (the process being waited on
 * exited, say); any other error from a probe counts as "not yet" (a server
 * not listening yet) and is named in the timeout message.
 */
export class StopWaiting extends Error {
  override readonly name = 'StopWaiting';
}

/**
 * Probes until `probe` returns something other than undefined, null or false,
 * and returns that; fails at the deadline with what it waited for, how long,
 * the last probe error and `detail`.
 */
export async function waitFor<T>(what: string, probe: () => T | NotYet | Promise<T | NotYet>, options: number | WaitOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50, detail } = typeof options === 'number' ? { timeoutMs: options } : options;
  const startedMs = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err: unknown) {
      if (err instanceof StopWaiting) throw new Error(`stopped waiting for ${what}: ${err.message}`, { cause: err });
      lastError = err;
    }
    const elapsedMs = Date.now() - startedMs;
    if (elapsedMs >= timeoutMs) {
      const parts = [`timed out after ${elapsedMs} ms waiting for ${what}`];
      if (lastError !== undefined) parts.push(`last probe error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      if (detail !== undefined) parts.push(detail());
      throw new Error(parts.join('; '), lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - elapsedMs)));
  }
}
