/**
 * Timing helpers the latency benchmarks share: a sub-millisecond wall clock,
 * ISO timestamps with nanoseconds, percentiles, a paced sender, and the test
 * servers' env file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Epoch milliseconds with the sub-millisecond part (the same clock pcapd stamps with). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** "2026-11-25T15:08:22.228036251Z" → epoch ms with the sub-millisecond part. */
export function isoToMs(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!match?.[1]) return Number.NaN;
  const fraction = match[2] ?? '0';
  return Date.parse(`${match[1]}Z`) + Number(`0.${fraction}`) * 1000;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Calls `send(i)` `count` times at `rate` per second without waiting for one to finish before the next. */
export async function paced(count: number, rate: number, send: (index: number) => Promise<void>): Promise<void> {
  const intervalMs = 1000 / rate;
  const started = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let index = 0; index < count; index++) {
    const due = started + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(index));
  }
  await Promise.all(pending);
}

/** Reads the test servers' env file (scripts/test-services.sh) into process.env, unless already set. */
export function loadServiceEnv(): void {
  const file = `${process.env['PCAPD_SVC_ROOT'] ?? '/var/tmp/pcapd-test-services'}/env`;
  if (process.env['PCAPD_TEST_REDIS_URL'] !== undefined || !existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^(\w+)=(.*)$/.exec(line);
    if (match?.[1] && match[2] !== undefined) process.env[match[1]] ??= match[2];
  }
}
