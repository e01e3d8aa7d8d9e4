/**
 * S3 and Cloudshark down for a minute while captures finish, then back:
 * the captures wait in the spool and every one arrives once in each sink.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startDaemon } from '../test/helpers/daemon.js';
import { createTestLink } from '../test/helpers/netns.js';
import { mergeEdits } from '../test/helpers/brokers.js';
import { captureFrames, localCopies, sinksOf, waitDelivered } from './lib/captures.js';
import type { Drill } from './lib/drill.js';
import { remoteSinks } from './lib/remote-sinks.js';

const SINKS = ['local', 's3', 'cloudshark'];

export const sinkOutage: Drill = {
  name: 'sink-outage',
  budgetMs: ({ outageSeconds }) => outageSeconds * 1000 + 120_000,
  async run(ctx) {
    const dir = await mkdtemp(join(tmpdir(), 'pcapd-drill-'));
    ctx.defer(() => rm(dir, { recursive: true, force: true }));
    const sinks = await remoteSinks(ctx);
    const daemon = await startDaemon({ dir, edits: mergeEdits(sinks.edits(), { spool: { retrybase: '1', retrymax: '5' } }) });
    ctx.defer(() => daemon.stop());
    const link = await createTestLink();
    ctx.defer(() => link.destroy());
    const ids: string[] = [];
    const capture = async (id: string): Promise<void> => {
      ids.push(id);
      ctx.counts.requested += 1;
      const outcome = await captureFrames(daemon, link, dir, id, 40);
      if (outcome.state === 'done') ctx.counts.captured += 1;
      ctx.step(
        `${id}: ${outcome.state}, ${outcome.packets} packets, delivered [${sinksOf(outcome).join(', ')}], pending [${(outcome.pending ?? []).map((p) => `${p.sink} ${p.code}`).join(', ')}]`,
      );
    };

    await capture('outage-before');
    const { outageSeconds } = ctx.options;
    ctx.step(`S3 (proxy in front of versitygw) and Cloudshark down for ${outageSeconds} s`);
    const downAt = performance.now();
    await sinks.down();
    await capture('outage-1');
    await capture('outage-2');
    await new Promise((resolve) => setTimeout(resolve, (outageSeconds * 1000) / 2 - (performance.now() - downAt)));
    await capture('outage-3');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageSeconds * 1000 - (performance.now() - downAt))));
    await sinks.up();
    ctx.step(`both back after ${((performance.now() - downAt) / 1000).toFixed(0)} s; waiting for the spool`);
    for (const id of ids) {
      const outcome = await waitDelivered(daemon, id, SINKS, 60_000);
      if (sinksOf(outcome).join(',') === [...SINKS].sort().join(',')) ctx.counts.delivered += 1;
      else ctx.counts.lost += 1;
    }
    // Longer than retrymax: whatever would be sent twice has been by now.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    for (const id of ids) {
      const copies = { ...(await sinks.copies(id)), local: await localCopies(daemon.captureDir, id) };
      ctx.step(`${id}: copies s3 ${copies.s3}, cloudshark ${copies.cloudshark}, local ${copies.local}`);
      ctx.check(`${id} is in every sink once`, copies.s3 === 1 && copies.cloudshark === 1 && copies.local === 1, copies);
      ctx.counts.duplicated += Math.max(0, copies.s3 - 1) + Math.max(0, copies.cloudshark - 1) + Math.max(0, copies.local - 1);
    }
  },
};
