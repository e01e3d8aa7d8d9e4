/**
 * Signals: SIGTERM during a capture delivers the partial capture with reason
 * "shutdown" and exits 0; SIGHUP reloads the config, keeping the old one when
 * the new file is bad.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { readPackets } from '../helpers/capture-files.js';
import { editToml, postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks } from '../helpers/netns.js';

let daemon: RunningDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await destroyAllTestLinks();
});

describe('SIGTERM', () => {
  it('ends a running capture early, delivers it with reason shutdown and exits 0', async () => {
    daemon = await startDaemon();
    const link = await createTestLink();
    const burst = join(daemon.dir, 'burst.pcap');
    await writeTrafficPcap(burst, 12, 200);
    await daemon.api('/captures', postJson({ node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, duration: 600, id: 'term' }));
    await daemon.waitForState('term', ['capturing']);
    await link.replay(burst);
    await expect.poll(async () => (await daemon!.api('/captures/term')).body.packets, { timeout: 5_000 }).toBe(12);

    daemon.process.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);

    const ended = daemon.logs.find((line) => line.msg === 'capture ended' && line['reqId'] === 'term');
    expect(ended).toMatchObject({ reason: 'shutdown', packets: 12 });
    const delivered = daemon.logs.find((line) => line.msg === 'capture delivered' && line['reqId'] === 'term');
    const [path] = (delivered?.['locations'] ?? []) as string[];
    expect((await readPackets(path!)).map((p) => p.sequence)).toEqual([...Array(12).keys()]);
    expect(daemon.logs.at(-1)?.msg).toBe('pcapd stopped');
  });
});

describe('SIGHUP', () => {
  it('applies a valid new config and keeps it when a later one is invalid', async () => {
    daemon = await startDaemon();
    const original = await readFile(daemon.configPath, 'utf8');
    await writeFile(daemon.configPath, editToml(original, { general: { maxpackets: '7' } }));
    daemon.process.kill('SIGHUP');
    await daemon.waitForLog((line) => line.msg === 'config reloaded');

    await daemon.api('/captures', postJson({ node: 'any', interface: ['lo'], bpf: 'udp port 1', packets: 100, duration: 1, id: 'hup1' }));
    expect((await daemon.waitForState('hup1', ['done'])).clamps).toEqual([{ field: 'packets', requested: 100, applied: 7 }]);

    await writeFile(daemon.configPath, editToml(original, { general: { maxpakets: '1' } }));
    daemon.process.kill('SIGHUP');
    const rejected = await daemon.waitForLog((line) => line.msg === 'config reload rejected; keeping the running config');
    expect(String(rejected['err'])).toMatch(/general\.maxpakets: unknown key/);
    const metrics = await daemon.api('/metrics');
    expect(metrics.body).toMatch(/pcapd_config_reloads_total\{outcome="ok"\} 1/);
    expect(metrics.body).toMatch(/pcapd_config_reloads_total\{outcome="rejected"\} 1/);

    await daemon.api('/captures', postJson({ node: 'any', interface: ['lo'], bpf: 'udp port 1', packets: 100, duration: 1, id: 'hup2' }));
    expect((await daemon.waitForState('hup2', ['done'])).clamps).toEqual([{ field: 'packets', requested: 100, applied: 7 }]);
  });
});
