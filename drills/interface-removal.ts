/**
 * An interface deleted in the middle of a capture (the veth pair removed):
 * the capture ends with reason `error`, keeps and delivers the packets it
 * had, and the daemon serves the next request.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readPackets } from '../test/helpers/capture-files.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { run } from '../test/helpers/exec.js';
import { createTestLink } from '../test/helpers/netns.js';
import { waitFor } from '../test/helpers/wait.js';
import { armCapture, captureFrames, captureRequest, sendFrames, sinksOf, type Outcome } from './lib/captures.js';
import type { Drill } from './lib/drill.js';

const FRAMES = 100;

export const interfaceRemoval: Drill = {
  name: 'interface-removed',
  budgetMs: () => 60_000,
  async run(ctx) {
    const dir = await mkdtemp(join(tmpdir(), 'pcapd-drill-'));
    ctx.defer(() => rm(dir, { recursive: true, force: true }));
    const daemon = await startDaemon({ dir });
    ctx.defer(() => daemon.stop());
    const doomed = await createTestLink();
    ctx.defer(() => doomed.destroy());

    await armCapture(daemon, captureRequest(doomed, 'ifgone-1', { duration: 30 }));
    ctx.counts.requested += 1;
    await sendFrames(doomed, dir, FRAMES);
    await waitFor(`${FRAMES} packets recorded`, async () => {
      const { body } = await daemon.api('/captures/ifgone-1');
      return (body as Outcome).packets >= FRAMES ? true : undefined;
    });
    ctx.step(`capture on ${doomed.hostIf} recorded ${FRAMES} packets; deleting the veth`);
    await run('ip', ['link', 'del', doomed.hostIf]);
    const ended = (await daemon.waitForState('ifgone-1', ['done', 'failed'], 15_000)) as Outcome;
    const files = (await readdir(daemon.captureDir)).filter((name) => !name.startsWith('.') && name.includes('-ifgone-1.'));
    const packetsInFile = files[0] === undefined ? 0 : (await readPackets(join(daemon.captureDir, files[0]))).length;
    ctx.step(
      `capture ended: ${ended.state}, reason ${ended.reason ?? '-'} (${ended.error?.code ?? 'no code'}), ${ended.packets} packets; file read back by tshark: ${packetsInFile} packets`,
    );
    // State `failed` with the cause (PCAPD_ERR_CAPTURE_FAILED), or `done`: either way reason `error` and the packets delivered.
    ctx.check('it ends with reason error', ended.reason === 'error', ended);
    ctx.check('the file keeps every packet', packetsInFile === FRAMES && files.length === 1, { files, packetsInFile });
    if (ended.packets === FRAMES) ctx.counts.captured += 1;
    if (sinksOf(ended).includes('local') && packetsInFile === FRAMES) ctx.counts.delivered += 1;
    else ctx.counts.lost += 1;
    ctx.counts.duplicated += Math.max(0, files.length - 1);
    ctx.check('pcapd keeps running', (await daemon.api('/healthz')).status === 200);

    const fresh = await createTestLink();
    ctx.defer(() => fresh.destroy());
    const next = await captureFrames(daemon, fresh, dir, 'ifgone-2', 20);
    ctx.counts.requested += 1;
    ctx.step(`next request on ${fresh.hostIf}: ${next.state}, reason ${next.reason ?? '-'}, ${next.packets} packets`);
    ctx.check('the next request is served', next.state === 'done' && next.reason === 'packets' && next.packets === 20, next);
    if (next.state === 'done') ctx.counts.captured += 1;
    if (sinksOf(next).includes('local')) ctx.counts.delivered += 1;
    else ctx.counts.lost += 1;
  },
};
