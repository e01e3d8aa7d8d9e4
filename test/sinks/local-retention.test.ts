/**
 * [retention] for general.localdir: the daemon's periodic pass and
 * `pcapd files prune [--dry-run]`, on files the local sink wrote from
 * captures on a veth pair. Files are aged with utimes(2), so which ones are
 * past the limits is known before each pass; what is left is checked on disk.
 */
import { access, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { planRetention, type StoredFile } from '../../src/sinks/local-retention.js';

import { metricValue, waitForMetric } from '../helpers/brokers.js';
import { editToml, runPcapd, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { captureToLocalFile } from '../helpers/local-capture.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

let daemon: RunningDaemon | undefined;
let link: TestLink | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await destroyAllTestLinks();
});

const pcapd = runPcapd;

/** Captures `packets` frames into a file the local sink writes; its absolute path. */
async function captureFile(running: RunningDaemon, id: string, packets: number): Promise<string> {
  link ??= await createTestLink();
  return (await captureToLocalFile(running, link, id, packets)).path;
}

async function age(path: string, hoursAgo: number): Promise<void> {
  const when = new Date(Date.now() - hoursAgo * 3_600_000);
  await utimes(path, when, when);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Every entry under `dir`, hidden ones included, as sorted relative paths. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

it('pcapd files prune --dry-run reports the oldest files past retention.maxbytes and removes nothing; prune removes exactly them', async () => {
  daemon = await startDaemon();
  const files: string[] = [];
  for (const [i, packets] of [30, 30, 30, 30].entries()) files.push(await captureFile(daemon, `prune-${i}`, packets));
  // Oldest first: prune-0 four hours ago … prune-3 one hour ago.
  for (const [i, path] of files.entries()) await age(path, 4 - i);
  const sizes = await Promise.all(files.map(async (path) => (await stat(path)).size));
  const [, , third = 0, fourth = 0] = sizes;
  const config = join(daemon.dir, 'prune.toml');
  await writeFile(config, editToml(await readFile(daemon.configPath, 'utf8'), { retention: { maxbytes: String(third + fourth) } }));
  const before = await tree(daemon.captureDir);
  const listed = await pcapd('files', 'list', '--json', '--interface', link!.hostIf, '-config', config);
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout) as { files: { id: string; bytes: number }[] }).files.map((file) => [file.id, file.bytes]).sort()).toEqual(
    files.map((_, i) => [`prune-${i}`, sizes[i]]),
  );

  const dryRun = await pcapd('files', 'prune', '--dry-run', '-config', config);
  expect(dryRun.stderr).toBe('');
  expect(dryRun.code).toBe(0);
  expect(dryRun.stdout).toContain('4 file(s)');
  expect(dryRun.stdout).toContain('2 would be removed');
  const named = dryRun.stdout.split('\n').filter((line) => line.startsWith('would remove '));
  expect(named).toEqual([
    expect.stringContaining(`would remove ${files[0]!.split('/').pop()} (maxbytes`),
    expect.stringContaining(`would remove ${files[1]!.split('/').pop()} (maxbytes`),
  ]);
  expect(await tree(daemon.captureDir)).toEqual(before);

  const pruned = await pcapd('files', 'prune', '-config', config);
  expect(pruned.code).toBe(0);
  expect(pruned.stdout).toContain('2 removed');
  const kept = files.slice(2).map((path) => path.split('/').pop()!);
  expect(await tree(daemon.captureDir)).toEqual([...kept.map((name) => `.${name}.json`), ...kept].sort());
  // Within the limit now: a second prune has nothing to do.
  expect((await pcapd('files', 'prune', '--dry-run', '-config', config)).stdout).toContain('0 would be removed');
}, 120_000);

it('pcapd files prune does nothing while retention is off', async () => {
  daemon = await startDaemon();
  const path = await captureFile(daemon, 'prune-off', 10);
  await age(path, 24 * 365);
  const result = await pcapd('files', 'prune', '-config', daemon.configPath);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^retention is off/);
  expect(await exists(path)).toBe(true);
}, 60_000);

it('the daemon removes files past retention.maxage on its own, counts and logs them, and touches nothing else', async () => {
  daemon = await startDaemon({ edits: { retention: { maxage: '3600', interval: '1' } } });
  const fresh = await captureFile(daemon, 'age-fresh', 10);
  const stale = [await captureFile(daemon, 'age-stale-1', 10), await captureFile(daemon, 'age-stale-2', 10)];
  for (const path of stale) await age(path, 2);
  // Old, but not capture files the pass may judge: other files, a symlink to a capture outside the root, a hidden file.
  const notes = join(daemon.captureDir, 'notes.txt');
  await writeFile(notes, 'kept');
  const outside = join(daemon.dir, 'outside.pcap');
  await writeFile(outside, await readFile(fresh));
  await symlink(outside, join(daemon.captureDir, 'link.pcap'));
  await mkdir(join(daemon.captureDir, '.hidden'), { recursive: true });
  const hidden = join(daemon.captureDir, '.hidden', 'x.pcap');
  await writeFile(hidden, 'x');
  for (const path of [notes, outside, hidden]) await age(path, 48);

  await waitForMetric(daemon, 'pcapd_local_files_removed_total', { reason: 'maxage' }, 2);
  for (const path of stale) {
    expect(await exists(path)).toBe(false);
    expect(await exists(join(path, '..', `.${path.split('/').pop()}.json`))).toBe(false);
    await daemon.waitForLog((line) => line.msg === 'retention removed a capture file' && line['path'] === path.split('/').pop() && line['reason'] === 'maxage');
  }
  for (const path of [fresh, notes, outside, hidden, join(daemon.captureDir, 'link.pcap')]) expect(await exists(path), path).toBe(true);
  expect(await metricValue(daemon, 'pcapd_local_files_removed_total', { reason: 'maxage' })).toBe(2);
  expect(await metricValue(daemon, 'pcapd_local_files_removed_total', { reason: 'maxbytes' })).toBe(0);
  expect(await metricValue(daemon, 'pcapd_local_files')).toBe(1);
  expect(await metricValue(daemon, 'pcapd_local_bytes')).toBe((await stat(fresh)).size);
}, 120_000);

describe('planRetention', () => {
  const now = Date.parse('2026-05-04T12:00:00Z');
  const file = (path: string, bytes: number, secondsAgo: number): StoredFile => ({ path, bytes, mtimeMs: now - secondsAgo * 1000 });
  const files = [file('new.pcap', 100, 10), file('a/old.pcap', 100, 7200), file('mid.pcap', 100, 600), file('recent.pcap', 100, 1)];

  it('removes past maxage first, then the oldest beyond maxbytes, never a file written in the last seconds', () => {
    const plan = planRetention(files, now, { maxAgeMs: 3_600_000, maxBytes: 150 });
    expect(plan.remove.map((item) => [item.path, item.reason])).toEqual([
      ['a/old.pcap', 'maxage'],
      ['mid.pcap', 'maxbytes'],
      ['new.pcap', 'maxbytes'],
    ]);
    expect(plan).toMatchObject({ files: 4, bytes: 400 });
  });

  it('removes nothing while both limits are 0 or the files fit', () => {
    expect(planRetention(files, now, { maxAgeMs: 0, maxBytes: 0 }).remove).toEqual([]);
    expect(planRetention(files, now, { maxAgeMs: 86_400_000, maxBytes: 400 }).remove).toEqual([]);
  });
});
