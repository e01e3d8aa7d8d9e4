/**
 * Warm interfaces through the real daemon: an [[interface]] block marked warm
 * opens the interface at startup; a request with `lookback` gets the packets
 * from before it, read back with tshark; lookback on a cold interface is
 * refused with its code; SIGHUP adds and removes warm interfaces.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { capinfos, readPackets } from '../helpers/capture-files.js';
import { exampleConfigWith, postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

let daemon: RunningDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await destroyAllTestLinks();
});

function warmBlock(name: string, extra = ''): string {
  return `[[interface]]\nname = "${name}"\nalias = ["sensor"]\nwarm = true\nlookbackseconds = 20\nlookbackbytes = 4194304\n${extra}\n`;
}

async function warmStatus(running: RunningDaemon, name: string): Promise<any> {
  const { body } = await running.api('/interfaces');
  return body.warm.find((entry: { name: string }) => entry.name === name);
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('a warm interface in the daemon', () => {
  it('serves a lookback request with the packets from before it, and says so in the result and the file', async () => {
    const link = await createTestLink();
    daemon = await startDaemon({ edits: { general: { node: '"sensor-warm"' } }, append: warmBlock(link.hostIf) });
    const running = daemon;
    await waitFor('the warm interface to open', async () => (await warmStatus(running, link.hostIf))?.state === 'up');

    const before = join(running.dir, 'before.pcap');
    await writeTrafficPcap(before, 300, 150, { firstSequence: 0 });
    await link.replay(before, { pps: 1000 });
    const armed = await running.api(
      '/captures?wait=armed',
      postJson({ node: 'sensor-warm', alias: ['sensor'], bpf: 'udp dst port 9999', lookback: 60, packets: 400, id: 'warm-lookback' }),
    );
    expect(armed.status).toBe(200);
    expect(armed.body).toMatchObject({ state: 'capturing', lookback: { askedSeconds: 20, packets: 300 } });
    expect(armed.body.clamps).toEqual([{ field: 'lookback', requested: 60, applied: 20 }]);
    const after = join(running.dir, 'after.pcap');
    await writeTrafficPcap(after, 100, 150, { firstSequence: 300 });
    await link.replay(after, { pps: 2000 });

    const outcome = await running.waitForState('warm-lookback', ['done', 'failed']);
    expect(outcome).toMatchObject({ state: 'done', reason: 'packets', packets: 400 });
    expect(outcome.lookback.servedSeconds).toBeGreaterThan(0);
    expect(Date.parse(outcome.firstPacketAt)).toBeLessThan(Date.parse(outcome.startedAt));
    const path = outcome.deliveries[0].locations[0] as string;
    expect((await readPackets(path)).map((packet) => packet.sequence)).toEqual(range(0, 400));
    expect((await capinfos(path)).comment).toMatch(/lookback: asked 20\.000 s, served \d+\.\d{3} s/);

    const stats = await running.api('/stats');
    expect(stats.body.scheduler.lookbackRingBytes).toBe(4194304);
    expect(stats.body.warm[0]).toMatchObject({ name: link.hostIf, state: 'up', ring: { capacityBytes: 4194304 } });
    const metrics = await running.api('/metrics');
    expect(metrics.body).toContain(`pcapd_warm_interface_up{interface="${link.hostIf}"} 1`);
    expect(metrics.body).toContain(`pcapd_lookback_ring_bytes{interface="${link.hostIf}"} 4194304`);
  });

  it('refuses lookback on an interface that is not warm, with its code, and keeps running', async () => {
    daemon = await startDaemon({ edits: { general: { node: '"sensor-warm"' } } });
    const refused = await daemon.api('/captures', postJson({ node: 'any', interface: ['lo'], lookback: 5, id: 'cold-lookback' }));
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('PCAPD_ERR_LOOKBACK_NOT_WARM');
    const metrics = await daemon.api('/metrics');
    expect(metrics.body).toMatch(/pcapd_requests_rejected_total\{source="http",reason="PCAPD_ERR_LOOKBACK_NOT_WARM"\} 1/);
    expect((await daemon.api('/healthz')).status).toBe(200);
  });

  it('adds and removes warm interfaces on SIGHUP', async () => {
    const link = await createTestLink();
    daemon = await startDaemon({ edits: { general: { node: '"sensor-warm"' } } });
    const running = daemon;
    expect((await running.api('/interfaces')).body.warm).toEqual([]);

    const warmConfig = await exampleConfigWith({
      general: { node: '"sensor-warm"', localdir: JSON.stringify(running.captureDir) },
      http: { port: String(new URL(running.baseUrl).port) },
      spool: { dir: JSON.stringify(join(running.dir, 'spool')) },
    });
    await writeFile(running.configPath, `${warmConfig}\n${warmBlock(link.hostIf)}`);
    running.process.kill('SIGHUP');
    await waitFor('the warm interface to open after SIGHUP', async () => (await warmStatus(running, link.hostIf))?.state === 'up');

    await writeFile(running.configPath, warmConfig);
    running.process.kill('SIGHUP');
    await waitFor('the warm interface to close after SIGHUP', async () => (await warmStatus(running, link.hostIf)) === undefined);
    const refused = await running.api('/captures', postJson({ node: 'any', interface: [link.hostIf], lookback: 5 }));
    expect(refused.body.error.code).toBe('PCAPD_ERR_LOOKBACK_NOT_WARM');
  });
});
