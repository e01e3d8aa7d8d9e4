/**
 * What POST /captures?wait&timeout accepts, in one place for the route that
 * checks it and the OpenAPI document that describes it.
 */
import { PcapdError } from '../errors.js';

/** `?wait` (also `=done`, `=1`, `=true`): the final result; `?wait=armed`: the state once recording. */
export const WAIT_VALUES = ['', 'done', '1', 'true', 'armed'] as const;
/** `?timeout` when not given, and the longest wait: a longer one is served with this one. */
export const MAX_WAIT_SECONDS = 3600;

const WAIT_VALUE_SET: ReadonlySet<string> = new Set(WAIT_VALUES);

export type WaitQuery = { kind: 'none' } | { kind: 'wait'; until: 'done' | 'armed'; timeoutMs: number };

function invalid(message: string): PcapdError {
  return new PcapdError('PCAPD_ERR_REQUEST_INVALID', message);
}

function quoted(value: string): string {
  return JSON.stringify(value.slice(0, 32));
}

/**
 * The wait a POST asks for, judged before the request is taken, like every
 * other query value: a value pcapd does not understand is refused, never read
 * as some other wait. `timeout=0` in particular is refused rather than read
 * as "no timeout" (it used to wait the full hour) or as "do not wait" (that
 * is a POST without ?wait).
 */
export function waitQueryOf(query: Record<string, unknown>): WaitQuery {
  const { wait, timeout } = query;
  if (wait === undefined) {
    if (timeout !== undefined) throw invalid('?timeout is how long ?wait waits: it needs ?wait');
    return { kind: 'none' };
  }
  if (typeof wait !== 'string' || !WAIT_VALUE_SET.has(wait)) {
    const got = typeof wait === 'string' ? quoted(wait) : 'more than one';
    throw invalid(`?wait takes no value (or "done") or "armed" (got ${got})`);
  }
  return { kind: 'wait', until: wait === 'armed' ? 'armed' : 'done', timeoutMs: timeoutSecondsOf(timeout) * 1000 };
}

function timeoutSecondsOf(timeout: unknown): number {
  if (timeout === undefined) return MAX_WAIT_SECONDS;
  if (typeof timeout !== 'string') throw invalid('?timeout is given more than once');
  const seconds = /^\d{1,9}$/u.test(timeout) ? Number(timeout) : Number.NaN;
  if (!(seconds >= 1)) throw invalid(`?timeout must be a whole number of seconds, at least 1 (got ${quoted(timeout)})`);
  return Math.min(seconds, MAX_WAIT_SECONDS);
}
