/**
 * `timestamp` against `general.staleafter`: an alert that waited in a broker
 * longer than that is no longer worth a capture, and a timestamp far in the
 * future is a sender's clock (or unit) error, said as such.
 */
import { PcapdError } from '../errors.js';

/** Clock skew tolerated for timestamps in the future. */
export const FUTURE_SKEW_SECONDS = 60;

export function checkFreshness(timestamp: number | string | undefined, staleAfterSeconds: number, nowMs: number): void {
  if (timestamp === undefined || staleAfterSeconds <= 0) return;
  const sentMs = typeof timestamp === 'number' ? timestamp * 1000 : Date.parse(timestamp);
  if (Number.isNaN(sentMs)) {
    throw new PcapdError('PCAPD_ERR_REQUEST_INVALID', `/timestamp: ${JSON.stringify(timestamp)} is not a date`);
  }
  const ageSeconds = Math.round((nowMs - sentMs) / 1000);
  if (ageSeconds > staleAfterSeconds) {
    throw new PcapdError('PCAPD_ERR_REQUEST_STALE', `the request is ${ageSeconds} s old; general.staleafter drops requests older than ${staleAfterSeconds} s`);
  }
  if (-ageSeconds > FUTURE_SKEW_SECONDS) {
    // A millisecond epoch read as seconds lands tens of thousands of years ahead.
    const looksLikeMs = typeof timestamp === 'number' && timestamp > 1e11;
    const hint = looksLikeMs ? ' (timestamp is epoch seconds, not milliseconds)' : '';
    throw new PcapdError(
      'PCAPD_ERR_REQUEST_STALE',
      `the request is ${-ageSeconds} s in the future, beyond the ${FUTURE_SKEW_SECONDS} s allowed for clock skew; ` + `check the sender's clock${hint}`,
    );
  }
}
