/**
 * `pcapd spool list|retry|cull` through the real bin/pcapd: on a spool no
 * pcapd runs on (the command acts itself), and on the spool of a running
 * daemon (the command hands the request over and prints the daemon's answer).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SpoolStore, type SpoolState } from '../../src/spool/store.js';
import { exampleConfigWith, runPcapd, startDaemon } from '../helpers/daemon.js';
import { makeJob, makeSpooledOutcome } from '../helpers/job.js';
import { finishedCapture, smallPcap } from '../helpers/pcap-buffer.js';

let dir: string;
let configPath: string;
let store: SpoolStore;

const pcapd = runPcapd;

function state(sink: string, failed: boolean, atMs = Date.now()): SpoolState {
  const at = new Date(atMs).toISOString();
  return {
    sinks: { [sink]: { failures: 3, nextAttemptAt: at, failed, code: 'PCAPD_ERR_SINK_S3', message: 'upload failed: NoSuchBucket', lastAttemptAt: at } },
  };
}

async function spoolEntry(id: string, sink: string, options: { failed?: boolean; ageMs?: number } = {}): Promise<string> {
  const at = new Date(Date.now() - (options.ageMs ?? 0));
  const entry = await store.add(
    finishedCapture([smallPcap(`${id}.pcap`)], makeJob({ id })),
    [sink],
    makeSpooledOutcome(id, { packets: 1, bytes: 1 }),
    state(sink, options.failed ?? false, at.getTime()),
    at,
  );
  return entry.key;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-spool-cmd-'));
  configPath = join(dir, 'config.toml');
  await writeFile(configPath, await exampleConfigWith({ spool: { dir: JSON.stringify(join(dir, 'spool')), maxage: '3600' } }));
  store = new SpoolStore(join(dir, 'spool'));
  await store.init();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pcapd spool, with no pcapd running', () => {
  it('list shows each capture and where it stands with each sink', async () => {
    const key = await spoolEntry('cmd-1', 's3', { failed: true });
    const { code, stdout } = await pcapd('spool', 'list', '-config', configPath);
    expect(code).toBe(0);
    expect(stdout).toContain(`spool ${join(dir, 'spool')}: 1 capture(s)`);
    expect(stdout).toContain('no pcapd is running on it');
    expect(stdout).toContain(`${key}  id cmd-1  segment 0`);
    expect(stdout).toContain('s3: FAILED (PCAPD_ERR_SINK_S3: upload failed: NoSuchBucket; waits for pcapd spool retry)');
  });

  it('list --json gives the same as data', async () => {
    const key = await spoolEntry('cmd-2', 'cloudshark');
    const { stdout } = await pcapd('spool', 'list', '--json', '-config', configPath);
    expect(JSON.parse(stdout)).toEqual({
      dir: join(dir, 'spool'),
      captures: [
        expect.objectContaining({
          key,
          id: 'cmd-2',
          segment: 0,
          files: ['cmd-2.pcap'],
          sinks: [expect.objectContaining({ sink: 'cloudshark', state: 'retrying', attempts: 3, code: 'PCAPD_ERR_SINK_S3' })],
        }),
      ],
    });
  });

  it('cull --dry-run names what would go and removes nothing; cull removes it', async () => {
    const old = await spoolEntry('old', 's3', { ageMs: 2 * 3600_000 });
    await spoolEntry('fresh', 's3');
    const dry = await pcapd('spool', 'cull', '--dry-run', '-config', configPath);
    expect(dry.stdout).toMatch(new RegExp(`1 capture\\(s\\) would be removed\\nwould remove ${old} \\(age, [\\d.]+ KiB, 2h old, never delivered to s3\\)`));
    expect(await readdir(store.entriesDir)).toHaveLength(2);

    const real = await pcapd('spool', 'cull', '-config', configPath);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain(`removed ${old} (age`);
    expect((await readdir(store.entriesDir)).some((name) => name.includes('fresh'))).toBe(true);
    expect(await readdir(store.entriesDir)).toHaveLength(1);
  });

  it('retry re-arms failed captures for the next start', async () => {
    const key = await spoolEntry('cmd-3', 's3', { failed: true });
    const { stdout } = await pcapd('spool', 'retry', 'cmd-3', '-config', configPath);
    expect(stdout).toContain('no pcapd is running: 1 capture(s) re-armed');
    const saved = JSON.parse(await readFile(join(store.entriesDir, key, 'state.json'), 'utf8')) as SpoolState;
    expect(saved.sinks['s3']).toMatchObject({ failed: false, failures: 3 });
  });

  it('refuses unknown options with the usage', async () => {
    const { code, stderr } = await pcapd('spool', 'cull', '--force', '-config', configPath);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown option --force for spool cull');
    expect(stderr).toContain('usage: pcapd spool list');
  });
});

describe('pcapd spool, with pcapd running on the spool', () => {
  it('hands retry and cull to the running pcapd and prints its answer', async () => {
    // Waits for Cloudshark, which this daemon does not enable: it stays in the spool.
    const key = await spoolEntry('cmd-4', 'cloudshark');
    const daemon = await startDaemon({ dir, edits: { spool: { dir: JSON.stringify(join(dir, 'spool')) } } });
    try {
      await daemon.waitForLog((line) => line.msg === 'spooled capture not delivered; retrying later' && line['code'] === 'PCAPD_ERR_SINK_NOT_CONFIGURED');
      const list = await pcapd('spool', 'list', '-config', daemon.configPath);
      expect(list.stdout).toMatch(/held by the running pcapd \(pid \d+\)/);

      const retry = await pcapd('spool', 'retry', '-config', daemon.configPath);
      expect(retry).toMatchObject({ code: 0, stdout: `the running pcapd retries 1 capture(s) now\nretrying ${key}\n` });
      await daemon.waitForLog((line) => line.msg === 'pcapd spool request served' && line['action'] === 'retry');

      const cull = await pcapd('spool', 'cull', '-config', daemon.configPath);
      expect(cull).toMatchObject({ code: 0, stdout: 'the running pcapd removed 0 capture(s)\n' });
    } finally {
      await daemon.stop();
    }
  });
});
