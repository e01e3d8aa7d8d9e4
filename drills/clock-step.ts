/**
 * The wall clock stepped forward and back under a running daemon: pcapd
 * runs under libfaketime (Debian package faketime) with an offset the drill
 * rewrites while captures and retries run. Only CLOCK_REALTIME moves
 * (FAKETIME_DONT_FAKE_MONOTONIC=1), as when an operator or NTP sets the clock.
 * What must hold: `duration` and the idle `timeout` last as long as asked,
 * and a spool retry due in a second is tried within seconds, not an hour
 * later. Freshness (`staleafter`) compares the request's own timestamp, a
 * wall time from another host, with pcapd's wall clock: no duration is
 * measured there, and a request is judged by the time pcapd's clock says.
 */
import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { mergeEdits } from '../test/helpers/brokers.js';
import { postJson, startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { createTestLink, type TestLink } from '../test/helpers/netns.js';
import { armCapture, captureFrames, captureRequest, sendFrames, sinksOf, waitDelivered, type Outcome } from './lib/captures.js';
import type { Drill, DrillContext } from './lib/drill.js';
import { remoteSinks } from './lib/remote-sinks.js';

const HOUR_MS = 3_600_000;

/**
 * The multi-threaded libfaketime, preloaded directly: the `faketime` wrapper
 * sets FAKETIME, which takes precedence over FAKETIME_TIMESTAMP_FILE, so its
 * offset could not be changed while the daemon runs.
 */
async function libfaketime(): Promise<string> {
  for (const arch of await readdir('/usr/lib')) {
    const path = join('/usr/lib', arch, 'faketime', 'libfaketimeMT.so.1');
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  throw new Error('libfaketimeMT.so.1 not found: install the Debian package faketime (scripts/install.sh --test)');
}

/** libfaketime rereads the offset file at every clock read (FAKETIME_NO_CACHE). */
async function setOffset(file: string, offset: string): Promise<void> {
  await writeFile(file, `${offset}\n`);
}

/** The daemon's wall clock less ours, in hours, from its HTTP Date header. */
async function daemonOffsetHours(daemon: RunningDaemon): Promise<number> {
  const response = await fetch(`${daemon.baseUrl}/healthz`);
  await response.text();
  return Math.round((Date.parse(response.headers.get('date') ?? '') - Date.now()) / 360_000) / 10;
}

/** Seconds from armed to done, on the drill's own monotonic clock, the daemon's wall clock jumping by `offset` a second in. */
async function timedCapture(
  ctx: DrillContext,
  daemon: RunningDaemon,
  link: TestLink,
  offsetFile: string,
  id: string,
  limits: Record<string, unknown>,
  offset: string,
  traffic: boolean,
): Promise<{ seconds: number; outcome: Outcome }> {
  await armCapture(daemon, captureRequest(link, id, limits));
  ctx.counts.requested += 1;
  const armedMs = performance.now();
  if (traffic) await sendFrames(link, daemon.dir, 10);
  const trafficEndMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, traffic ? 200 : 1000));
  await setOffset(offsetFile, offset);
  const outcome = (await daemon.waitForState(id, ['done', 'failed'], 20_000)) as Outcome;
  ctx.step(`${id}: pcapd's wall clock ${await daemonOffsetHours(daemon)} h from ours when it ended`);
  const seconds = (performance.now() - (traffic ? trafficEndMs : armedMs)) / 1000;
  if (outcome.state === 'done') ctx.counts.captured += 1;
  if (sinksOf(outcome).includes('local')) ctx.counts.delivered += 1;
  else ctx.counts.lost += 1;
  return { seconds, outcome };
}

export const clockSteps: Drill = {
  name: 'clock-step',
  budgetMs: () => 120_000,
  async run(ctx) {
    const dir = await mkdtemp(join(tmpdir(), 'pcapd-drill-'));
    ctx.defer(() => rm(dir, { recursive: true, force: true }));
    const offsetFile = join(dir, 'faketime');
    await writeFile(offsetFile, '+0\n');
    const sinks = await remoteSinks(ctx);
    const daemon = await startDaemon({
      dir,
      env: { LD_PRELOAD: await libfaketime(), FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' },
      edits: mergeEdits(sinks.edits(), { spool: { retrybase: '1', retrymax: '2' }, general: { staleafter: '60', deliverempty: 'true' } }),
    });
    ctx.defer(() => daemon.stop());
    const link = await createTestLink();
    ctx.defer(() => link.destroy());

    const forward = await timedCapture(ctx, daemon, link, offsetFile, 'clock-duration-fwd', { duration: 3 }, '+1h', false);
    ctx.step(`duration 3 s, wall clock +1 h a second in: ended (${forward.outcome.reason ?? forward.outcome.state}) after ${forward.seconds.toFixed(2)} s`);
    ctx.check(
      'duration 3 s lasts about 3 s across a forward step',
      forward.outcome.reason === 'duration' && forward.seconds > 2.5 && forward.seconds < 5,
      forward,
    );
    const back = await timedCapture(ctx, daemon, link, offsetFile, 'clock-duration-back', { duration: 3 }, '-1h', false);
    ctx.step(`duration 3 s, wall clock stepped back 2 h: ended (${back.outcome.reason ?? back.outcome.state}) after ${back.seconds.toFixed(2)} s`);
    ctx.check('duration 3 s lasts about 3 s across a backward step', back.outcome.reason === 'duration' && back.seconds > 2.5 && back.seconds < 5, back);
    const idle = await timedCapture(ctx, daemon, link, offsetFile, 'clock-idle', { timeout: 2, duration: 30 }, '+1h', true);
    ctx.step(
      `idle timeout 2 s, wall clock +2 h after the last packet: ended (${idle.outcome.reason ?? idle.outcome.state}) ${idle.seconds.toFixed(2)} s after the traffic`,
    );
    ctx.check('the idle timeout lasts about 2 s', idle.outcome.reason === 'timeout' && idle.seconds > 1 && idle.seconds < 4.5, idle);

    // Retries: both remote sinks down, the capture spooled with tries due a second or two
    // later (wall time now +1 h); the clock goes back 2 h, the sinks come back.
    await sinks.down();
    const spooled = await captureFrames(daemon, link, dir, 'clock-retry', 10);
    ctx.counts.requested += 1;
    if (spooled.state === 'done') ctx.counts.captured += 1;
    ctx.step(`clock-retry captured with S3 and Cloudshark down: pending [${(spooled.pending ?? []).map((p) => p.sink).join(', ')}]`);
    await setOffset(offsetFile, '-1h');
    await sinks.up();
    const retriedFromMs = performance.now();
    const delivered = await waitDelivered(daemon, 'clock-retry', ['local', 's3', 'cloudshark'], 30_000);
    const retrySeconds = (performance.now() - retriedFromMs) / 1000;
    ctx.step(
      `wall clock stepped back 2 h, sinks back: delivered to [${sinksOf(delivered).join(', ')}] ${retrySeconds.toFixed(1)} s later (spool.retrymax 2 s)`,
    );
    ctx.step(`pcapd's wall clock ${await daemonOffsetHours(daemon)} h from ours`);
    const everywhere = sinksOf(delivered).length === 3;
    ctx.check('the spool retries within seconds of a backward step', everywhere, delivered);
    if (everywhere) ctx.counts.delivered += 1;
    else ctx.counts.lost += 1;
    const copies = await sinks.copies('clock-retry');
    ctx.counts.duplicated += Math.max(0, copies.s3 - 1) + Math.max(0, copies.cloudshark - 1);

    // Freshness: pcapd's wall clock is 1 h behind now. A request stamped by a sender
    // whose clock agrees with pcapd's is fresh; one stamped an hour "ahead" is refused.
    const agreeing = new Date(Date.now() - HOUR_MS).toISOString();
    const fresh = await daemon.api('/captures', postJson({ ...captureRequest(link, 'clock-fresh', { duration: 1 }), timestamp: agreeing }));
    const ahead = await daemon.api('/captures', postJson({ ...captureRequest(link, 'clock-ahead', { duration: 1 }), timestamp: new Date().toISOString() }));
    ctx.step(
      `staleafter 60 s, pcapd's clock 1 h behind: request stamped in its time → ${fresh.status}; stamped 1 h ahead of it → ${ahead.status} ${String(ahead.body?.error?.code ?? '')}`,
    );
    ctx.check("freshness is judged on pcapd's wall clock", fresh.status === 202 && ahead.body?.error?.code === 'PCAPD_ERR_REQUEST_STALE', {
      fresh: fresh.body,
      ahead: ahead.body,
    });
    if (fresh.status === 202) await daemon.waitForState('clock-fresh', ['done', 'failed'], 15_000);
  },
};
