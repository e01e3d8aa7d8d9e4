/**
 * What an idle pcapd costs: CPU and wakeups per second of a daemon on the
 * embedded default (HTTP API on loopback, local-disk sink, nothing captured),
 * beside a bare Node.js process that only keeps its event loop alive, in the
 * same run. Wakeups are context switches (voluntary + involuntary) of every
 * thread, from /proc/<pid>/task/<tid>/status.
 *
 *   npx tsx bench/idle.ts
 *   BENCH_IDLE_SECONDS=30 BENCH_IDLE_SETTLE_SECONDS=15 npx tsx bench/idle.ts
 *
 * Goal (issue: quiet when idle): CPU ≤ 0.1 % of a core and ≤ 10 wakeups a
 * second. Reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';

import { startDaemon } from '../test/helpers/daemon.js';
import { CLOCK_TICK_MS, threadUsage } from './lib/proc.js';

const SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 20);
/** After start-up the heap settles (V8's memory reducer runs a few collections): not idle yet. */
const SETTLE_MS = Number(process.env['BENCH_IDLE_SETTLE_SECONDS'] ?? 15) * 1000;

async function measure(pid: number): Promise<{ cpuPercent: number; wakeupsPerSecond: number }> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const before = threadUsage(pid);
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const after = threadUsage(pid);
  return {
    cpuPercent: ((after.cpuMs - before.cpuMs) / (SECONDS * 1000)) * 100,
    wakeupsPerSecond: (after.wakeups - before.wakeups) / SECONDS,
  };
}

async function main(): Promise<void> {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  const daemon = await startDaemon();
  try {
    const [pcapd, node] = await Promise.all([measure(daemon.process.pid ?? 0), measure(bare.pid ?? 0)]);
    const goal = (met: boolean): string => (met ? 'met' : 'MISSED');
    console.log(
      [
        `idle: ${SECONDS} s after ${SETTLE_MS / 1000} s of settling, pcapd on the embedded default beside a bare Node.js process`,
        `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.version}, load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        '',
        `${''.padEnd(12)} ${'CPU % of a core'.padStart(16)} ${'wakeups/s'.padStart(10)}`,
        `${'pcapd'.padEnd(12)} ${pcapd.cpuPercent.toFixed(3).padStart(16)} ${pcapd.wakeupsPerSecond.toFixed(1).padStart(10)}`,
        `${'bare node'.padEnd(12)} ${node.cpuPercent.toFixed(3).padStart(16)} ${node.wakeupsPerSecond.toFixed(1).padStart(10)}`,
        '',
        `goals: CPU ≤ 0.1 %: ${goal(pcapd.cpuPercent <= 0.1)}; wakeups ≤ 10/s: ${goal(pcapd.wakeupsPerSecond <= 10)} ` +
          `(CPU is counted in clock ticks of ${CLOCK_TICK_MS} ms: ${((CLOCK_TICK_MS / (SECONDS * 1000)) * 100).toFixed(3)} % is one tick over the window)`,
        '',
      ].join('\n'),
    );
  } finally {
    bare.kill();
    await daemon.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`idle: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
