/**
 * pcapd killed with SIGKILL, then started again on the same folder and spool:
 * - during a capture: the request came from a Redis stream, acknowledged only
 *   once delivered, so the restarted pcapd reads it again and captures it;
 * - during delivery: the S3 upload is held mid-way by a proxy; the write-ahead
 *   copy in the spool is delivered after the restart, once per sink.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createFixture, mergeEdits } from '../test/helpers/brokers.js';
import { startDaemon, type RunningDaemon, type StartOptions } from '../test/helpers/daemon.js';
import { createTestLink } from '../test/helpers/netns.js';
import { armCapture, captureRequest, localCopies, sendFrames, sinksOf, waitDelivered, type Outcome } from './lib/captures.js';
import type { Drill, DrillContext } from './lib/drill.js';
import { remoteSinks } from './lib/remote-sinks.js';

async function kill(ctx: DrillContext, daemon: RunningDaemon): Promise<void> {
  daemon.process.kill('SIGKILL');
  await daemon.exited;
  ctx.step(`pcapd (pid ${daemon.process.pid}) killed with SIGKILL`);
}

/** Starts daemons on one folder; each is stopped at cleanup (a killed one already is). */
async function restartable(ctx: DrillContext, options: StartOptions): Promise<() => Promise<RunningDaemon>> {
  const dir = await mkdtemp(join(tmpdir(), 'pcapd-drill-'));
  ctx.defer(() => rm(dir, { recursive: true, force: true }));
  return async () => {
    const daemon = await startDaemon({ ...options, dir });
    ctx.defer(() => daemon.stop());
    return daemon;
  };
}

export const killedDuringCapture: Drill = {
  name: 'sigkill-capture',
  budgetMs: () => 90_000,
  async run(ctx) {
    const redis = await createFixture('redis', { redisMode: 'streams' });
    ctx.defer(() => redis.close());
    const start = await restartable(ctx, { edits: redis.edits() });
    const link = await createTestLink();
    ctx.defer(() => link.destroy());
    const first = await start();
    const request = captureRequest(link, 'killcap-1', { packets: 50, duration: 30 });
    await redis.publish(JSON.stringify(request), first);
    ctx.counts.requested += 1;
    await first.waitForState('killcap-1', ['capturing']);
    await sendFrames(link, first.dir, 20);
    ctx.step('request read from a Redis stream; capture running with 20 of 50 packets');
    await kill(ctx, first);

    const second = await start();
    await second.waitForState('killcap-1', ['capturing'], 30_000);
    ctx.step('restarted: the unacknowledged request is read again and captured anew');
    await sendFrames(link, second.dir, 50);
    const outcome = (await second.waitForState('killcap-1', ['done', 'failed'], 30_000)) as Outcome;
    ctx.step(`killcap-1: ${outcome.state}, reason ${outcome.reason ?? '-'}, ${outcome.packets} packets, delivered [${sinksOf(outcome).join(', ')}]`);
    ctx.check('captured after the restart', outcome.state === 'done' && outcome.packets === 50, outcome);
    if (outcome.state === 'done') ctx.counts.captured += 1;
    const copies = await localCopies(second.captureDir, 'killcap-1');
    if (sinksOf(outcome).includes('local') && copies >= 1) ctx.counts.delivered += 1;
    else ctx.counts.lost += 1;
    ctx.counts.duplicated += Math.max(0, copies - 1);
  },
};

export const killedDuringDelivery: Drill = {
  name: 'sigkill-delivery',
  budgetMs: () => 120_000,
  async run(ctx) {
    const sinks = await remoteSinks(ctx);
    const start = await restartable(ctx, { edits: mergeEdits(sinks.edits(), { spool: { retrybase: '1', retrymax: '2' } }) });
    const link = await createTestLink();
    ctx.defer(() => link.destroy());
    const first = await start();
    // The upload stops moving part-way (TCP backpressure), as on a link that died.
    sinks.s3Proxy.stallAfterBytes(300_000);
    sinks.cloudshark.holdUploads(true);
    await armCapture(first, captureRequest(link, 'killdel-1', { packets: 800, duration: 30 }));
    ctx.counts.requested += 1;
    await sendFrames(link, first.dir, 800, 1400);
    await first.waitForState('killdel-1', ['delivering'], 30_000);
    await sinks.s3Proxy.waitStalled();
    await sinks.cloudshark.waitForAttempt(1);
    ctx.step('capture done (800 packets); S3 upload held after 300 kB, Cloudshark upload held');
    await kill(ctx, first);
    ctx.counts.captured += 1;

    sinks.s3Proxy.stallAfterBytes(undefined);
    sinks.cloudshark.holdUploads(false);
    const second = await start();
    const outcome = await waitDelivered(second, 'killdel-1', ['local', 's3', 'cloudshark'], 45_000);
    ctx.step(`restarted: killdel-1 delivered [${sinksOf(outcome).join(', ')}] from the spool`);
    if (sinksOf(outcome).length === 3) ctx.counts.delivered += 1;
    else {
      ctx.counts.lost += 1;
      const retries = second.logs.filter((line) => line.msg.includes('not delivered')).slice(-2);
      ctx.step(`last retry failures: ${JSON.stringify(retries)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const copies = { ...(await sinks.copies('killdel-1')), local: await localCopies(second.captureDir, 'killdel-1') };
    ctx.step(`copies s3 ${copies.s3}, cloudshark ${copies.cloudshark}, local ${copies.local}`);
    // S3 overwrites the same key and the local sink never writes twice; Cloudshark has no
    // idempotent key, so an upload it stored whose answer the killed pcapd never read is sent
    // once more after the restart: at most one extra copy, as the README says.
    ctx.check(
      'one copy in S3 and locally, at most two in Cloudshark',
      copies.s3 === 1 && copies.local === 1 && copies.cloudshark >= 1 && copies.cloudshark <= 2,
      copies,
    );
    if (copies.cloudshark === 2) ctx.step('Cloudshark: 1 documented extra copy (it stored the upload the killed pcapd never heard back about)');
    ctx.counts.duplicated += Math.max(0, copies.s3 - 1) + Math.max(0, copies.local - 1);
    ctx.counts.documentedDuplicates += Math.max(0, copies.cloudshark - 1);
  },
};
