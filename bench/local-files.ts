/**
 * What browsing and retention cost on a large general.localdir, beside
 * `find | sort` on the same tree in the same run:
 *
 * 1. A root of BENCH_FILES capture files (default 100,000) in folders of
 *    1,000, each with its sidecar, as the local sink leaves them.
 * 2. One GET /files page (listLocalFiles, limit 100) at the start, the middle
 *    and the end of the tree; a page whose filter matches nothing (it stops
 *    after MAX_EXAMINED_PER_PAGE files); every page in turn at limit 1000.
 * 3. One retention pass's scan and plan (storedFiles + planRetention).
 * 4. Reference: `find ROOT -name '*.pcap' | sort` (the whole listing, names only).
 *
 * RSS is read after each step; the heap growth a page causes is the figure
 * that must stay flat whatever the root holds. Reported, never asserted.
 *
 *   node --expose-gc --import tsx bench/local-files.ts
 *   BENCH_FILES=20000 BENCH_SAMPLES=3 node --expose-gc --import tsx bench/local-files.ts
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { listLocalFiles, MAX_EXAMINED_PER_PAGE, type FileQuery } from '../src/sinks/local-files.js';
import { planRetention, storedFiles } from '../src/sinks/local-retention.js';
import { rssBytes } from './lib/proc.js';
import { formatSpread, spread } from './lib/stats.js';
import { nowMs } from './lib/timing.js';

const execFileAsync = promisify(execFile);
const MB = 1_000_000;
const FILES = Number(process.env['BENCH_FILES'] ?? 100_000);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 5);
const PER_FOLDER = 1_000;
/** Folder and file names as general.filename makes them, so comparisons cost what they would. */
const folderName = (i: number): string => `2026/05/${String(i).padStart(4, '0')}`;
const fileName = (i: number): string => `sensor1-eth1-20260504T${String(i).padStart(6, '0')}Z-alert-${i}.pcapng`;

async function makeTree(root: string): Promise<string[]> {
  const paths: string[] = [];
  for (let folder = 0; folder * PER_FOLDER < FILES; folder++) {
    const dir = join(root, folderName(folder));
    await mkdir(dir, { recursive: true });
    const names = Array.from({ length: Math.min(PER_FOLDER, FILES - folder * PER_FOLDER) }, (_, i) => fileName(folder * PER_FOLDER + i));
    await Promise.all(
      names.map(async (name, i) => {
        await writeFile(join(dir, name), Buffer.alloc(64));
        const meta = {
          id: `alert-${folder * PER_FOLDER + i}`,
          node: 'sensor1',
          interfaces: ['eth1'],
          format: 'pcapng',
          startedAt: new Date().toISOString(),
          segment: 0,
          packets: 1,
        };
        await writeFile(join(dir, `.${name}.json`), JSON.stringify(meta));
      }),
    );
    paths.push(...names.map((name) => `${folderName(folder)}/${name}`));
  }
  return paths;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = nowMs();
  const value = await work();
  return { ms: nowMs() - start, value };
}

async function sampleMs(work: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push((await timed(work)).ms);
  return samples;
}

/** Heap in use after a full collection (node --expose-gc), else as it stands. */
function retainedHeapBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function rssMb(): string {
  return (rssBytes(process.pid) / MB).toFixed(1);
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pcapd-bench-files-'));
  try {
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Linux ${release()}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const made = await timed(() => makeTree(root));
    const paths = made.value;
    console.log(
      `tree: ${paths.length} capture files (+ sidecars) in ${Math.ceil(paths.length / PER_FOLDER)} folders, made in ${(made.ms / 1000).toFixed(1)} s; RSS ${rssMb()} MB`,
    );
    const page = (query: Partial<FileQuery>) => () => listLocalFiles(root, { limit: 100, ...query });
    const middle = paths[Math.floor(paths.length / 2)];
    const nearEnd = paths[paths.length - 50];
    const rows: [string, number[]][] = [
      ['page of 100, start', await sampleMs(page({}))],
      ['page of 100, middle (cursor)', await sampleMs(page(middle === undefined ? {} : { after: middle }))],
      ['page of 100, end (cursor)', await sampleMs(page(nearEnd === undefined ? {} : { after: nearEnd }))],
      [`filter matching nothing (${MAX_EXAMINED_PER_PAGE} looked at)`, await sampleMs(page({ id: 'no-such-id' }))],
    ];
    for (const [label, samples] of rows) console.log(`${label.padEnd(44)} ${formatSpread(spread(samples), 1)} ms`);
    console.log(`RSS after the pages: ${rssMb()} MB`);

    const walk = await timed(async () => {
      let count = 0;
      let after: string | undefined;
      do {
        const next = await listLocalFiles(root, { limit: 1000, ...(after === undefined ? {} : { after }) });
        count += next.files.length;
        after = next.next;
      } while (after !== undefined);
      return count;
    });
    console.log(`every page at limit 1000: ${walk.value} files in ${(walk.ms / 1000).toFixed(2)} s; RSS ${rssMb()} MB`);

    const heapBefore = retainedHeapBytes();
    const pass = await timed(async () => planRetention(await storedFiles(root), Date.now() + 3_600_000, { maxBytes: 0, maxAgeMs: 60_000 }));
    // Every file planned for removal: the most a pass holds.
    const heldMb = (retainedHeapBytes() - heapBefore) / MB;
    console.log(
      `retention scan + plan: ${pass.value.files} files, ${pass.value.remove.length} planned, ${(pass.ms / 1000).toFixed(2)} s; plan held ${heldMb.toFixed(1)} MB of heap; RSS ${rssMb()} MB`,
    );

    const reference = await sampleMs(() => execFileAsync('sh', ['-c', `find '${root}' -name '*.pcap*' ! -name '.*' | sort | wc -l`]));
    console.log(`reference: find | sort (whole tree)            ${formatSpread(spread(reference), 1)} ms`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
