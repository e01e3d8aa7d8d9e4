/**
 * Arming and ending, cold against warm, in one run: Redis PUBLISH → capture
 * armed, the pcapd process's CPU per request, the packet that reaches a
 * `packets` limit → the file handed over, and the steady cost of a warm idle
 * interface beside tcpdump on the same traffic.
 *
 *   scripts/test-services.sh start redis && npx tsx bench/arming.ts
 *   BENCH_REQUESTS=1000 BENCH_RATE=50 npx tsx bench/arming.ts
 *
 * pcapd processes run one after the other with the same config: cold ones
 * with kernel rings (general.bufferbytes) of 32 MiB (the default), 8 MiB and
 * 2 MiB, to see what the ring size costs in arming, then a warm one with
 * `[[interface]] name = "lo" warm = true`. Each request
 * captures one packet (`packets: 1`) of a 1 kpps UDP trickle this process
 * sends on lo.
 * - armed: the capture's `startedAt` (stamped by the native core when it is
 *   armed) minus the time just before PUBLISH; same host clock.
 * - CPU per request: the pcapd process's utime + stime (/proc) over the
 *   measured requests and 2 s after them (nothing polls pcapd meanwhile),
 *   less its CPU over an idle window of the same length with the same trickle
 *   (so the warm reader's steady cost, reported below, is not charged to
 *   requests).
 * - handover: `sinceLastPacketMs` of each "capture ended" log line: the
 *   packet that reached the limit → the file in JavaScript, ready for the sinks.
 * - the reference: Redis PUBLISH → a plain subscriber, same rate, same run;
 *   and the CPU per message of a bare Node.js process that only receives
 *   the same messages (ioredis, JSON.parse), the floor under CPU per request.
 * - idle cost: CPU of the warm pcapd over 10 s at 0 pps and at 10 kpps on lo,
 *   beside `tcpdump -i lo -w /dev/null` over the same windows.
 *
 * Needs root, Redis from scripts/test-services.sh and a built addon. Run it on
 * a quiet machine (no JVM brokers beside it). Goals are printed, never asserted.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';

import { mergeEdits, RedisFixture, uniqueName, waitForMetric } from '../test/helpers/brokers.js';
import { REPO, startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { armingEdits, armingLatencies, oneTricklePacket, trickle, WARM_LO, waitForWarmLo, type ArmingLatencies } from './lib/arming-setup.js';
import { processCpuMs, threadCpuByName, threadCpuDelta } from './lib/proc.js';
import { redisPublishRoundTrips, redisSubscriberCpuPerMessageMs } from './lib/redis-reference.js';
import { loadServiceEnv, nowMs, paced, percentile } from './lib/timing.js';

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 1000);
const RATE = Number(process.env['BENCH_RATE'] ?? 50);
const WARMUP = 20;
const IDLE_WINDOW_MS = 10_000;
/** After the last request, time for the last captures to end inside the CPU window. */
const SETTLE_MS = 2000;
const MIB = 1024 * 1024;
/** Cold rings to compare (BENCH_COLD_RINGS_MIB=32,8,2; `none` measures the warm path alone). */
const COLD_RINGS_MIB = (process.env['BENCH_COLD_RINGS_MIB'] ?? '32,8,2')
  .split(',')
  .map(Number)
  .filter((n) => n >= 1);

async function cpuOver(pid: number, windowMs: number): Promise<number> {
  const before = processCpuMs(pid);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  return processCpuMs(pid) - before;
}

interface PhaseResult extends ArmingLatencies {
  cpuPerRequestMs: number;
  cpuRawPerRequestMs: number;
  /** The request window's CPU by thread name, per request (ms), idle window's not subtracted. */
  threadsPerRequestMs: Map<string, number>;
}

async function measurePhase(daemon: RunningDaemon, redis: RedisFixture, node: string, label: string): Promise<PhaseResult> {
  const pid = daemon.process.pid ?? 0;
  const run = uniqueName(label);
  const request = (id: string): string => oneTricklePacket(node, id);
  await paced(WARMUP, RATE, (i) => redis.publish(request(`${run}-warm-${i}`)));
  await waitForMetric(daemon, 'pcapd_requests_received_total', { source: 'redis' }, WARMUP, 60_000);
  // The CPU window: the requests plus a settle time in which the last captures
  // end; nothing polls pcapd during it (the outcomes are read afterwards).
  const windowMs = (REQUESTS / RATE) * 1000 + SETTLE_MS;
  const idleCpuMs = await cpuOver(pid, windowMs);

  const publishedAt = new Map<string, number>();
  const cpuBefore = processCpuMs(pid);
  const threadsBefore = threadCpuByName(pid);
  const windowStarted = nowMs();
  await paced(REQUESTS, RATE, async (i) => {
    const id = `${run}-${i}`;
    const body = request(id);
    publishedAt.set(id, nowMs());
    await redis.publish(body);
  });
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowStarted + windowMs - nowMs())));
  const cpuMs = processCpuMs(pid) - cpuBefore;
  const threads = threadCpuDelta(threadsBefore, threadCpuByName(pid));
  await waitForMetric(daemon, 'pcapd_requests_received_total', { source: 'redis' }, WARMUP + REQUESTS, 120_000);
  const threadsPerRequestMs = new Map([...threads].map(([name, ms]) => [name, ms / REQUESTS]));
  return {
    ...(await armingLatencies(daemon, publishedAt)),
    cpuRawPerRequestMs: cpuMs / REQUESTS,
    cpuPerRequestMs: Math.max(0, cpuMs - idleCpuMs) / REQUESTS,
    threadsPerRequestMs,
  };
}

interface IdleCost {
  pcapdMs: number;
  readerMs: number;
  tcpdumpMs: number;
}

/** CPU over IDLE_WINDOW_MS of the warm pcapd (whole process and reader thread) and of tcpdump on lo, at `pps`. */
async function idleCost(daemon: RunningDaemon, pps: number): Promise<IdleCost> {
  const stop = pps > 0 ? trickle(pps) : () => undefined;
  const tcpdump = spawn('tcpdump', ['-i', 'lo', '-w', '/dev/null', '-n', '-q'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const readerBefore = await readerCpuSeconds(daemon);
    const pcapdBefore = processCpuMs(daemon.process.pid ?? 0);
    const tcpdumpBefore = processCpuMs(tcpdump.pid ?? 0);
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    return {
      pcapdMs: processCpuMs(daemon.process.pid ?? 0) - pcapdBefore,
      readerMs: ((await readerCpuSeconds(daemon)) - readerBefore) * 1000,
      tcpdumpMs: processCpuMs(tcpdump.pid ?? 0) - tcpdumpBefore,
    };
  } finally {
    stop();
    tcpdump.kill('SIGTERM');
  }
}

async function readerCpuSeconds(daemon: RunningDaemon): Promise<number> {
  const { body } = await daemon.api('/stats');
  return Number(body.warm?.[0]?.readerCpuSeconds ?? Number.NaN);
}

function row(label: string, values: readonly number[], extra = ''): string {
  const f = (p: number): string => percentile(values, p).toFixed(2).padStart(8);
  return `${label.padEnd(34)} ${String(values.length).padStart(5)} ${f(50)} ${f(90)} ${f(99)} ${Math.max(...values)
    .toFixed(2)
    .padStart(8)}  ${extra}`;
}

async function main(): Promise<void> {
  loadServiceEnv();
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  const redis = await RedisFixture.create('pubsub');
  const node = uniqueName('bench-node');
  const edits = armingEdits(redis.edits(), node);
  const stopTrickle = trickle(1000);
  const lines: string[] = [];
  const colds: Array<{ ringMiB: number; result: PhaseResult }> = [];
  let warm: PhaseResult;
  let idle0: IdleCost;
  let idle10k: IdleCost;
  try {
    for (const ringMiB of COLD_RINGS_MIB) {
      const coldDaemon = await startDaemon({ edits: mergeEdits(edits, { general: { bufferbytes: String(ringMiB * MIB) } }) });
      process.on('exit', () => coldDaemon.process.kill('SIGKILL'));
      try {
        colds.push({ ringMiB, result: await measurePhase(coldDaemon, redis, node, `cold${ringMiB}`) });
      } finally {
        await coldDaemon.stop();
      }
    }
    const warmDaemon = await startDaemon({ edits, append: WARM_LO });
    process.on('exit', () => warmDaemon.process.kill('SIGKILL'));
    try {
      await waitForWarmLo(warmDaemon);
      warm = await measurePhase(warmDaemon, redis, node, 'warm');
      stopTrickle();
      idle0 = await idleCost(warmDaemon, 0);
      idle10k = await idleCost(warmDaemon, 10_000);
    } finally {
      await warmDaemon.stop();
    }
  } finally {
    stopTrickle();
  }
  const reference = await redisPublishRoundTrips(REQUESTS, RATE);
  const referenceCpuMs = await redisSubscriberCpuPerMessageMs(REQUESTS, RATE, oneTricklePacket(node, 'reference'));
  await redis.close();

  const goal = (met: boolean, text: string): string => `${met ? 'met' : 'MISSED'} (${text})`;
  const cold = colds[0];
  lines.push(
    `arming: Redis PUBLISH → capture armed, ${REQUESTS} requests per path at ${RATE}/s (after ${WARMUP} warm-up), packets: 1 on lo (1 kpps trickle)`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    '',
    `${''.padEnd(34)}     n      p50      p90      p99      max  (ms)`,
    ...colds.map(({ ringMiB, result }) =>
      row(`cold ${ringMiB} MiB ring: publish → armed`, result.armedMs, `failed ${result.failed}; CPU/request ${result.cpuPerRequestMs.toFixed(2)} ms`),
    ),
    row('warm: publish → armed', warm.armedMs, `failed ${warm.failed}; ${goal(percentile(warm.armedMs, 99) <= 2, 'warm p99 ≤ 2 ms')}`),
    row('reference: PUBLISH → subscriber', reference),
    (cold === undefined
      ? ''
      : `warm / cold (${cold.ringMiB} MiB) p50 ${(percentile(warm.armedMs, 50) / percentile(cold.result.armedMs, 50)).toFixed(3)}, ` +
        `p99 ${(percentile(warm.armedMs, 99) / percentile(cold.result.armedMs, 99)).toFixed(3)}; `) +
      `warm − reference p99 ${(percentile(warm.armedMs, 99) - percentile(reference, 99)).toFixed(2)} ms`,
    '',
    ...colds.map(({ ringMiB, result }) => row(`cold ${ringMiB} MiB: last packet → file out`, result.handoverMs)),
    row('warm: last packet → file out', warm.handoverMs, goal(percentile(warm.handoverMs, 99) <= 2, 'p99 ≤ 2 ms')),
    '',
    `process CPU per request (less the idle window's): ` +
      (cold === undefined
        ? `warm ${warm.cpuPerRequestMs.toFixed(2)} ms (raw ${warm.cpuRawPerRequestMs.toFixed(2)} ms); `
        : `cold (${cold.ringMiB} MiB) ${cold.result.cpuPerRequestMs.toFixed(2)} ms, warm ${warm.cpuPerRequestMs.toFixed(2)} ms ` +
          `(ratio ${(warm.cpuPerRequestMs / cold.result.cpuPerRequestMs).toFixed(3)}; raw ${cold.result.cpuRawPerRequestMs.toFixed(2)} / ${warm.cpuRawPerRequestMs.toFixed(2)} ms); `) +
      goal(warm.cpuPerRequestMs <= 1, 'warm ≤ 1 ms'),
    `reference: a bare Node.js process that only receives each message (ioredis subscriber, JSON.parse): ${referenceCpuMs.toFixed(2)} ms CPU per message; ` +
      `warm pcapd / reference ${(warm.cpuPerRequestMs / referenceCpuMs).toFixed(2)}`,
    ...[...colds.map(({ ringMiB, result }) => [`cold ${ringMiB} MiB`, result] as const), ['warm', warm] as const].map(
      ([label, result]) =>
        `  by thread, ${label} (raw ms/request): ` +
        [...result.threadsPerRequestMs]
          .filter(([, ms]) => ms >= 0.005)
          .sort((a, b) => b[1] - a[1])
          .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
          .join(', '),
    ),
    '',
    `warm idle interface (lo, 16 MiB ring), CPU over ${IDLE_WINDOW_MS / 1000} s beside tcpdump -i lo -w /dev/null on the same traffic:`,
    `  0 pps:    pcapd process ${idle0.pcapdMs.toFixed(0)} ms (reader thread ${idle0.readerMs.toFixed(0)} ms), tcpdump ${idle0.tcpdumpMs.toFixed(0)} ms`,
    `  10 kpps:  pcapd process ${idle10k.pcapdMs.toFixed(0)} ms (reader thread ${idle10k.readerMs.toFixed(0)} ms), tcpdump ${idle10k.tcpdumpMs.toFixed(0)} ms, ` +
      `reader / tcpdump ${(idle10k.readerMs / idle10k.tcpdumpMs).toFixed(2)}`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`arming: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
