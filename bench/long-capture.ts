/**
 * A long named capture at a steady packet rate: does pcapd's memory stay
 * flat across segments, about two segments' worth above idle, and never grow
 * with the capture's length? One daemon, one veth pair, one named capture cut
 * into clock-aligned segments with a ring of files, traffic replayed at a
 * fixed rate for the whole run. RSS is sampled every second and summarised
 * per segment; the first and last minutes are compared.
 *
 *   npx tsx bench/long-capture.ts                        10 minutes, 10 s segments, 4000 pps of 1000 B
 *   LONG_SECONDS=60 LONG_SEGMENT_SECONDS=5 npx tsx bench/long-capture.ts
 *
 * Needs root and tcpreplay. Bounded: the capture is deleted and everything
 * cleaned up after LONG_SECONDS + 120 s whatever happened.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { TEST_FILTER, udpFrame, writeFramesPcap } from '../test/helpers/frames.js';
import { postJson } from '../test/helpers/daemon.js';
import { run } from '../test/helpers/exec.js';
import { runDaemonBench, type DaemonBench } from './lib/daemon-bench.js';
import { rssBytes } from './lib/proc.js';

const SECONDS = Number(process.env['LONG_SECONDS'] ?? 600);
const SEGMENT_SECONDS = Number(process.env['LONG_SEGMENT_SECONDS'] ?? 10);
const PPS = Number(process.env['LONG_PPS'] ?? 4000);
const FRAME_BYTES = Number(process.env['LONG_FRAME_BYTES'] ?? 1000);
const RING_FILES = 6;
/** Frames in the replayed file; tcpreplay loops it for the whole run. */
const LOOP_FRAMES = PPS * 10;
const MIB = 1024 * 1024;

async function localFiles(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile() || !/\.pcapng?$/.test(entry.name) || entry.name.startsWith('.')) continue;
    count++;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { count, bytes };
}

async function main(): Promise<void> {
  await runDaemonBench({ name: 'long-capture', deadlineSeconds: SECONDS + 120 }, measure);
}

async function measure({ daemon, pid, link, deadline }: DaemonBench): Promise<void> {
  await sleep(10_000);
  const idleRss = rssBytes(pid);

  const pcap = join(daemon.dir, 'steady.pcap');
  await writeFramesPcap(
    pcap,
    Array.from({ length: LOOP_FRAMES }, (_, sequence) => udpFrame(FRAME_BYTES, sequence)),
  );
  const body = {
    node: 'any',
    interface: [link.hostIf],
    bpf: TEST_FILTER,
    name: 'long-run',
    segment: { seconds: SEGMENT_SECONDS, align: true },
    ring: { files: RING_FILES },
  };
  const answer = await daemon.api('/captures?wait=armed', postJson(body));
  if (answer.status !== 200) throw new Error(`capture not armed: ${answer.status} ${JSON.stringify(answer.body)}`);
  const loops = Math.ceil((SECONDS * PPS) / LOOP_FRAMES);
  const traffic = run('ip', ['netns', 'exec', link.ns, 'tcpreplay', '-q', '-i', link.nsIf, `--pps=${PPS}`, `--loop=${loops}`, pcap], (SECONDS + 60) * 1000);

  const samples: Array<{ t: number; rss: number; segment: number }> = [];
  const started = performance.now();
  while (!deadline.aborted && performance.now() - started < SECONDS * 1000) {
    await sleep(1000);
    const live = (await daemon.api('/captures/long-run')).body as { live?: { segment?: number } };
    samples.push({ t: (performance.now() - started) / 1000, rss: rssBytes(pid), segment: live.live?.segment ?? -1 });
  }
  await traffic.catch(() => undefined);
  const onDisk = await localFiles(daemon.captureDir);
  const outcome = (await daemon.api('/captures/long-run', { method: 'DELETE' })).body as unknown;
  void outcome;

  // What a segment's file really held (tcpreplay may send below the asked rate), else the nominal size.
  const nominalSegmentBytes = SEGMENT_SECONDS * PPS * (FRAME_BYTES + 32);
  const segmentBytes = onDisk.count > 0 ? onDisk.bytes / onDisk.count : nominalSegmentBytes;
  const minute = (from: number, to: number): number[] => samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rss);
  const max = (values: number[]): number => values.reduce((a, b) => Math.max(a, b), 0);
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  const firstMinute = minute(SEGMENT_SECONDS * 2, 60 + SEGMENT_SECONDS * 2);
  const lastMinute = minute(SECONDS - 60, SECONDS + 1);
  const segments = new Map<number, number[]>();
  for (const sample of samples) segments.set(sample.segment, [...(segments.get(sample.segment) ?? []), sample.rss]);

  console.log(
    `long capture: ${SECONDS} s, ${PPS} pps of ${FRAME_BYTES} B (${((PPS * FRAME_BYTES * 8) / 1e6).toFixed(0)} Mbit/s), ${SEGMENT_SECONDS} s aligned segments, ring of ${RING_FILES} files`,
  );
  console.log(`segments seen: ${segments.size}; files on disk at the end: ${onDisk.count} (${(onDisk.bytes / MIB).toFixed(1)} MiB)`);
  console.log(`a segment's file is ${(segmentBytes / MIB).toFixed(1)} MiB on disk (${(nominalSegmentBytes / MIB).toFixed(1)} MiB at the asked rate)`);
  console.log('');
  console.log(`RSS idle before the capture        ${(idleRss / MIB).toFixed(1)} MiB`);
  console.log(`RSS first minute (mean / max)      ${(mean(firstMinute) / MIB).toFixed(1)} / ${(max(firstMinute) / MIB).toFixed(1)} MiB`);
  console.log(`RSS last minute (mean / max)       ${(mean(lastMinute) / MIB).toFixed(1)} / ${(max(lastMinute) / MIB).toFixed(1)} MiB`);
  console.log(`growth, last minute − first minute ${((mean(lastMinute) - mean(firstMinute)) / MIB).toFixed(1)} MiB (mean)`);
  console.log(
    `peak above idle                    ${((max(samples.map((s) => s.rss)) - idleRss) / MIB).toFixed(1)} MiB = ${((max(samples.map((s) => s.rss)) - idleRss) / segmentBytes).toFixed(2)} segments`,
  );
  console.log('');
  console.log(
    'per segment (max RSS, MiB): ' +
      [...segments]
        .filter(([segment]) => segment >= 0)
        .map(([segment, values]) => `${segment}:${(max(values) / MIB).toFixed(0)}`)
        .join(' '),
  );
}

await main();
