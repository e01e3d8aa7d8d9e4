/**
 * Disk full under the spool, and under the local sink: a small tmpfs the
 * drill fills to the last byte. The capture is reported with its code
 * (PCAPD_ERR_SPOOL_FULL, PCAPD_ERR_SINK_LOCAL), counted, pcapd keeps
 * running, and once the space is back it serves the next request (and the
 * local sink gets the capture the spool kept for it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { metricValue } from '../test/helpers/brokers.js';
import { startCloudsharkServer } from '../test/helpers/cloudshark-server.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { createTestLink } from '../test/helpers/netns.js';
import { captureFrames, localCopies, sinksOf, waitDelivered } from './lib/captures.js';
import type { Drill, DrillContext } from './lib/drill.js';
import { mountSmallDisk } from './lib/tmpfs.js';

const DISK_BYTES = 4 * 1024 * 1024;
const FRAMES = 50;

async function workDir(ctx: DrillContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pcapd-drill-'));
  ctx.defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const spoolDiskFull: Drill = {
  name: 'spool-disk-full',
  budgetMs: () => 90_000,
  async run(ctx) {
    const dir = await workDir(ctx);
    const disk = await mountSmallDisk(DISK_BYTES);
    ctx.defer(() => disk.unmount());
    const cloudshark = await startCloudsharkServer();
    ctx.defer(() => cloudshark.stop());
    await cloudshark.stop();
    const daemon = await startDaemon({
      dir,
      edits: {
        spool: { dir: JSON.stringify(join(disk.path, 'spool')), retrybase: '1', retrymax: '2' },
        cloudshark: { upload: 'true', scheme: '"http"', host: '"127.0.0.1"', port: String(cloudshark.port), token: JSON.stringify(cloudshark.token) },
      },
    });
    ctx.defer(() => daemon.stop());
    const link = await createTestLink();
    ctx.defer(() => link.destroy());
    ctx.step(`spool on a ${DISK_BYTES / 1024 / 1024} MiB tmpfs (${disk.path}); Cloudshark down; filling the spool's disk`);
    await disk.fill();

    const full = await captureFrames(daemon, link, dir, 'spoolfull-1', FRAMES);
    ctx.counts.requested += 1;
    const spoolFull = full.deliveryFailures.find((failure) => failure.sink === 'cloudshark');
    ctx.step(
      `capture while full: ${full.state}, ${full.packets} packets, delivered to [${sinksOf(full).join(', ')}], cloudshark: ${spoolFull?.code ?? 'no failure reported'}`,
    );
    ctx.check('the capture ends done with every packet', full.state === 'done' && full.packets === FRAMES, full);
    ctx.check('the local sink still has it', sinksOf(full).includes('local'), full.deliveries);
    ctx.check('Cloudshark is reported PCAPD_ERR_SPOOL_FULL', spoolFull?.code === 'PCAPD_ERR_SPOOL_FULL', full.deliveryFailures);
    const counted = await metricValue(daemon, 'pcapd_spool_write_failures_total', { reason: 'ENOSPC' });
    ctx.step(`pcapd_spool_write_failures_total{reason="ENOSPC"} = ${counted}`);
    ctx.check('the spool write failure is counted', counted >= 1);
    ctx.check('pcapd keeps running', (await daemon.api('/healthz')).status === 200);
    if (full.state === 'done') ctx.counts.captured += 1;
    // Not delivered everywhere, but not lost either: the local sink has it, and the one sink
    // that cannot get it is reported with a code, as the spool-full contract says.
    if (!sinksOf(full).includes('local') || spoolFull === undefined) ctx.counts.lost += 1;

    ctx.step('space back (filler removed), Cloudshark up; next request');
    await disk.free();
    await cloudshark.start();
    const next = await captureFrames(daemon, link, dir, 'spoolfull-2', FRAMES);
    ctx.counts.requested += 1;
    if (next.state === 'done') ctx.counts.captured += 1;
    const arrived = await waitDelivered(daemon, 'spoolfull-2', ['local', 'cloudshark'], 20_000);
    ctx.step(`next capture: ${next.state}, ${next.packets} packets, delivered to [${sinksOf(arrived).join(', ')}]`);
    if (sinksOf(arrived).join(',') === 'cloudshark,local') ctx.counts.delivered += 1;
    else ctx.counts.lost += 1;
    for (const id of ['spoolfull-1', 'spoolfull-2']) {
      const uploads = cloudshark.uploads.filter((upload) => upload.filename.includes(`-${id}.`)).length;
      ctx.counts.duplicated += Math.max(0, uploads - 1) + Math.max(0, (await localCopies(daemon.captureDir, id)) - 1);
    }
  },
};

export const localDiskFull: Drill = {
  name: 'local-disk-full',
  budgetMs: () => 90_000,
  async run(ctx) {
    const dir = await workDir(ctx);
    const disk = await mountSmallDisk(DISK_BYTES);
    ctx.defer(() => disk.unmount());
    const daemon = await startDaemon({ dir, edits: { general: { localdir: JSON.stringify(disk.path) }, spool: { retrybase: '1', retrymax: '2' } } });
    ctx.defer(() => daemon.stop());
    const link = await createTestLink();
    ctx.defer(() => link.destroy());
    ctx.step(`local sink on a ${DISK_BYTES / 1024 / 1024} MiB tmpfs (${disk.path}); filling it`);
    await disk.fill();

    const full = await captureFrames(daemon, link, dir, 'localfull-1', FRAMES);
    ctx.counts.requested += 1;
    if (full.state === 'done') ctx.counts.captured += 1;
    const pending = (full.pending ?? []).find((entry) => entry.sink === 'local');
    ctx.step(`capture while full: ${full.state}, ${full.packets} packets, local: ${pending?.code ?? 'not pending'} (kept in the spool)`);
    ctx.check('the capture ends done with every packet', full.state === 'done' && full.packets === FRAMES, full);
    ctx.check('the local sink is reported PCAPD_ERR_SINK_LOCAL', pending?.code === 'PCAPD_ERR_SINK_LOCAL', full);
    const counted = await metricValue(daemon, 'pcapd_deliveries_total', { sink: 'local', outcome: 'error' });
    ctx.step(`pcapd_deliveries_total{sink="local",outcome="error"} = ${counted}`);
    ctx.check('the failure is counted', counted >= 1);
    ctx.check('pcapd keeps running', (await daemon.api('/healthz')).status === 200);

    ctx.step('space back (filler removed); the spool retries, and a next request');
    await disk.free();
    const late = await waitDelivered(daemon, 'localfull-1', ['local'], 20_000);
    ctx.step(`capture from while full: delivered to [${sinksOf(late).join(', ')}] by the spool`);
    const next = await captureFrames(daemon, link, dir, 'localfull-2', FRAMES);
    ctx.counts.requested += 1;
    if (next.state === 'done') ctx.counts.captured += 1;
    ctx.step(`next capture: ${next.state}, ${next.packets} packets, delivered to [${sinksOf(next).join(', ')}]`);
    for (const [id, outcome] of [
      ['localfull-1', late],
      ['localfull-2', next],
    ] as const) {
      const copies = await localCopies(disk.path, id);
      if (sinksOf(outcome).includes('local') && copies >= 1) ctx.counts.delivered += 1;
      else ctx.counts.lost += 1;
      ctx.counts.duplicated += Math.max(0, copies - 1);
    }
  },
};
