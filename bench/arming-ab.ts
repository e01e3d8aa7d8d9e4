/**
 * Two builds of pcapd side by side on the warm request path: CPU per
 * request, wakeups per request, publish → armed and last packet → file
 * handed over. A change worth a tenth of a millisecond is lost in the spread
 * between two runs of bench/arming.ts on a shared VM; here both daemons run
 * at once, each with its own warm `lo` and Redis channel, and the requests
 * alternate between them in blocks (A B B A A B …), so drift in the machine
 * falls on both alike.
 *
 *   npx tsx bench/arming-ab.ts [base-revision]        # default HEAD~1, against the working tree
 *   AB_FLAGS_B="--interrupt-budget=8192" npx tsx bench/arming-ab.ts HEAD   # the same code, another node flag
 *
 * A is the base revision, checked out into a temporary worktree and built
 * there (addon and TypeScript); B is this working tree as built (run
 * `npm run build` first). AB_NODE: the node binary for both; AB_FLAGS_A,
 * AB_FLAGS_B: extra node flags for one side; AB_WARMUP (40): requests each
 * daemon gets before measuring; AB_ROUNDS (4), AB_PER_PHASE (250): blocks.
 * CPU per request includes each block's 1.5 s settle time, the warm reader's
 * steady cost with it (the same on both sides).
 *
 * Needs root, Redis from scripts/test-services.sh and a built addon. Figures
 * are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';

import { RedisFixture, uniqueName } from '../test/helpers/brokers.js';
import { REPO, startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { armingEdits, armingLatencies, oneTricklePacket, trickle, WARM_LO, waitForWarmLo } from './lib/arming-setup.js';
import { processCpuMs, threadCpuByName, threadCpuDelta, voluntaryWakeups } from './lib/proc.js';
import { loadServiceEnv, nowMs, paced, percentile } from './lib/timing.js';

const BASE = process.argv[2] ?? 'HEAD~1';
const WARMUP = Number(process.env['AB_WARMUP'] ?? 40);
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 4);
const PER_PHASE = Number(process.env['AB_PER_PHASE'] ?? 250);
const RATE = 50;
const SETTLE_MS = 1500;

interface Side {
  label: 'A' | 'B';
  daemon: RunningDaemon;
  redis: RedisFixture;
  node: string;
  cpuMs: number;
  mainUserMs: number;
  mainWakeups: number;
  allWakeups: number;
  publishedAt: Map<string, number>;
}

/** The base revision in a temporary worktree, built; returns its dist/cli.js and a cleanup. */
function buildBase(): { cli: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pcapd-ab-'));
  execFileSync('git', ['worktree', 'add', '--detach', dir, BASE], { cwd: REPO, stdio: 'inherit' });
  const remove = (): void => {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: REPO, stdio: 'inherit' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    execFileSync('npm', ['run', '--silent', 'build:native'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
    return { cli: join(dir, 'dist', 'cli.js'), remove };
  } catch (err: unknown) {
    remove();
    throw err;
  }
}

/** A script startDaemon runs pcapd through (its `prefix`): it drops the pcapd path it is given and runs `cli` instead. */
function launcher(label: string, cli: string, flags: string): string {
  const path = join(tmpdir(), `pcapd-ab-${process.pid}-${label}.sh`);
  writeFileSync(path, `#!/bin/sh\nshift\nexec ${process.env['AB_NODE'] ?? 'node'} --expose-gc ${flags} ${cli} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

async function startSide(label: 'A' | 'B', cli: string, flags: string): Promise<Side> {
  const redis = await RedisFixture.create('pubsub');
  const node = uniqueName(`ab-${label}`);
  const daemon = await startDaemon({ edits: armingEdits(redis.edits(), node), prefix: [launcher(label, cli, flags)], append: WARM_LO });
  process.on('exit', () => daemon.process.kill('SIGKILL'));
  await waitForWarmLo(daemon);
  return { label, daemon, redis, node, cpuMs: 0, mainUserMs: 0, mainWakeups: 0, allWakeups: 0, publishedAt: new Map() };
}

const requestFor = (side: Side, id: string): string => oneTricklePacket(side.node, id);

async function measureBlock(side: Side, round: number): Promise<void> {
  const pid = side.daemon.process.pid ?? 0;
  const cpuBefore = processCpuMs(pid);
  const threadsBefore = threadCpuByName(pid);
  const wakeupsBefore = voluntaryWakeups(pid);
  await paced(PER_PHASE, RATE, async (i) => {
    const id = `${side.label}-${round}-${i}`;
    side.publishedAt.set(id, nowMs());
    await side.redis.publish(requestFor(side, id));
  });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  side.cpuMs += processCpuMs(pid) - cpuBefore;
  side.mainUserMs += threadCpuDelta(threadsBefore, threadCpuByName(pid)).get('main user') ?? 0;
  const wakeupsAfter = voluntaryWakeups(pid);
  side.mainWakeups += wakeupsAfter.main - wakeupsBefore.main;
  side.allWakeups += wakeupsAfter.all - wakeupsBefore.all;
}

async function report(side: Side, flags: string): Promise<string> {
  const { armedMs: armed, handoverMs: handover, failed } = await armingLatencies(side.daemon, side.publishedAt);
  const n = side.publishedAt.size;
  const f = (values: number[], p: number): string => percentile(values, p).toFixed(2);
  return (
    `${side.label}${flags === '' ? '' : ` (${flags})`}: CPU ${(side.cpuMs / n).toFixed(3)} ms/request (main thread user ${(side.mainUserMs / n).toFixed(3)}), ` +
    `wakeups ${(side.mainWakeups / n).toFixed(2)} main / ${(side.allWakeups / n).toFixed(2)} all threads per request; ` +
    `armed p50 ${f(armed, 50)} p90 ${f(armed, 90)} p99 ${f(armed, 99)} ms; handover p50 ${f(handover, 50)} p99 ${f(handover, 99)} ms; failed ${failed}`
  );
}

async function main(): Promise<void> {
  loadServiceEnv();
  const base = buildBase();
  const flagsA = process.env['AB_FLAGS_A'] ?? '';
  const flagsB = process.env['AB_FLAGS_B'] ?? '';
  const stopTrickle = trickle(1000);
  const sides: Side[] = [];
  try {
    sides.push(await startSide('A', base.cli, flagsA), await startSide('B', join(REPO, 'dist', 'cli.js'), flagsB));
    for (const side of sides) await paced(WARMUP, RATE, (i) => side.redis.publish(requestFor(side, `${side.label}-warmup-${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await measureBlock(side, round);
    }
    stopTrickle();
    const [a, b] = sides;
    if (a === undefined || b === undefined) throw new Error('a side did not start');
    const lines = [
      `arming A/B: A = ${BASE}, B = the working tree; ${ROUNDS} blocks of ${PER_PHASE} requests each at ${RATE}/s, alternating, after ${WARMUP} warm-up; packets: 1 on a warm lo (1 kpps trickle)`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.env['AB_NODE'] ?? process.version}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      await report(a, flagsA),
      await report(b, flagsB),
      `B / A: CPU per request ${(b.cpuMs / a.cpuMs).toFixed(3)}, main thread user ${(b.mainUserMs / a.mainUserMs).toFixed(3)}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    stopTrickle();
    for (const side of sides) {
      await side.daemon.stop();
      await side.redis.close();
    }
    base.remove();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`arming-ab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
