/**
 * The real daemon, end to end: bin/pcapd started from config.example.toml, a
 * request over its HTTP API for traffic generated in the test's own
 * namespaces, and the pcapng on disk read back with tshark.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { metricValue } from '../helpers/brokers.js';
import { capinfos, readPackets } from '../helpers/capture-files.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

let daemon: RunningDaemon;
let link: TestLink;

beforeAll(async () => {
  daemon = await startDaemon({ edits: { general: { node: '"sensor-e2e"' } } });
});

afterAll(async () => {
  await daemon.stop();
});

afterEach(async () => {
  await destroyAllTestLinks();
});

async function sendBurst(count: number, sizeBytes: number): Promise<void> {
  const path = join(daemon.dir, `burst-${count}-${sizeBytes}.pcap`);
  await writeTrafficPcap(path, count, sizeBytes);
  await link.replay(path);
}

describe('a capture requested over HTTP', () => {
  it('is armed, captures the traffic and lands on disk as a pcapng tshark reads', async () => {
    link = await createTestLink();
    const request = {
      node: 'sensor-e2e',
      interface: [link.hostIf],
      bpf: TEST_FILTER,
      packets: 25,
      id: 'e2e-basic',
      alertid: 4242,
      tags: 'e2e,http',
      customer: 'acme',
    };
    const submitted = await daemon.api('/captures', postJson(request));
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ id: 'e2e-basic', queued: false, location: '/captures/e2e-basic' });

    await daemon.waitForState('e2e-basic', ['capturing']);
    await sendBurst(40, 150);
    const outcome = await daemon.waitForState('e2e-basic', ['done', 'failed']);

    expect(outcome).toMatchObject({
      state: 'done',
      reason: 'packets',
      packets: 25,
      node: 'sensor-e2e',
      alertid: 4242,
      customer: 'acme',
      tags: ['e2e', 'http'],
    });
    expect(outcome.deliveries).toHaveLength(1);
    const [path] = outcome.deliveries[0].locations as string[];
    expect(path).toMatch(new RegExp(`^${daemon.captureDir}/sensor-e2e-${link.hostIf}-\\d{8}T\\d{6}Z-e2e-basic\\.pcapng$`));
    expect((await stat(path!)).mode & 0o777).toBe(0o640);
    const packets = await readPackets(path!);
    expect(packets).toHaveLength(25);
    expect(packets.map((p) => p.sequence)).toEqual([...Array(25).keys()]);
    const info = await capinfos(path!);
    expect(info.comment).toContain('pcapd capture e2e-basic');
    expect(info.comment).toContain('alertid: 4242');
    expect(info.comment).toContain(`bpf: ${TEST_FILTER}`);
    expect(info.interfaces[0]?.['Capture length']).toBe('500'); // general.snaplength

    const download = await fetch(`${daemon.baseUrl}/captures/e2e-basic/pcap`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/x-pcapng');
    expect(Buffer.from(await download.arrayBuffer()).length).toBe(outcome.bytes);
  });

  it('answers ?wait=armed once recording, so traffic sent right after the answer is all captured', async () => {
    link = await createTestLink();
    const request = { node: 'sensor-e2e', interface: [link.hostIf], bpf: TEST_FILTER, packets: 30, timeout: 5, id: 'e2e-armed' };
    const armed = await daemon.api('/captures?wait=armed', postJson(request));
    expect(armed.status).toBe(200);
    expect(armed.body).toMatchObject({ id: 'e2e-armed', state: 'capturing' });
    expect(Date.parse(armed.body.startedAt)).not.toBeNaN();

    await sendBurst(30, 120);
    const outcome = await daemon.waitForState('e2e-armed', ['done', 'failed']);
    expect(outcome).toMatchObject({ state: 'done', reason: 'packets', packets: 30 });
    const packets = await readPackets(outcome.deliveries[0].locations[0]);
    expect(packets.map((p) => p.sequence)).toEqual([...Array(30).keys()]);
  });

  it('refuses a wait value it does not know before taking the request', async () => {
    const refused = await daemon.api('/captures?wait=soon', postJson({ node: 'sensor-e2e', interface: ['lo'], bpf: 'icmp', packets: 1, id: 'e2e-wait-soon' }));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'PCAPD_ERR_REQUEST_INVALID' });
    expect((await daemon.api('/captures/e2e-wait-soon')).status).toBe(404);
  });

  it('refuses a wait timeout of 0 (or any that is not whole seconds from 1) before taking the request', async () => {
    for (const [index, query] of [
      'wait&timeout=0',
      'wait=armed&timeout=0',
      'wait&timeout=-5',
      'wait&timeout=1.5',
      'wait&timeout=soon',
      'wait&timeout=',
      'wait&timeout=2&timeout=3',
      'timeout=60',
    ].entries()) {
      const id = `e2e-timeout-${index}`;
      const refused = await daemon.api(`/captures?${query}`, postJson({ node: 'sensor-e2e', interface: ['lo'], bpf: 'udp port 9', duration: 30, id }));
      expect(refused.status, query).toBe(400);
      expect(refused.body.error, query).toMatchObject({ code: 'PCAPD_ERR_REQUEST_INVALID', message: expect.stringMatching(/\?timeout/) });
      expect((await daemon.api(`/captures/${id}`)).status, query).toBe(404);
    }
  });

  it('answers ?wait with the state so far once timeout seconds have passed', async () => {
    const id = 'e2e-wait-timeout';
    const answered = await daemon.api('/captures?wait&timeout=1', postJson({ node: 'sensor-e2e', interface: ['lo'], bpf: 'udp port 9', duration: 30, id }));
    expect(answered.status).toBe(202);
    expect(answered.body).toMatchObject({ id, state: 'capturing' });
    expect((await daemon.api(`/captures/${id}`, { method: 'DELETE' })).status).toBe(202);
    await daemon.waitForState(id, ['done', 'failed']);
  });

  it('is listed, counted in /metrics and visible in /stats', async () => {
    link = await createTestLink();
    const finishedBefore = await metricValue(daemon, 'pcapd_captures_finished_total', { reason: 'packets' });
    const packetsBefore = await metricValue(daemon, 'pcapd_captured_packets_total');
    const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: 7, id: 'e2e-listed' };
    expect((await daemon.api('/captures?wait=armed', postJson(request))).status).toBe(200);
    await sendBurst(10, 120);
    expect(await daemon.waitForState('e2e-listed', ['done', 'failed'])).toMatchObject({ state: 'done', packets: 7 });

    const list = await daemon.api('/captures');
    expect(list.body.captures).toContainEqual(expect.objectContaining({ id: 'e2e-listed', state: 'done', packets: 7 }));
    expect(await metricValue(daemon, 'pcapd_captures_finished_total', { reason: 'packets' })).toBe(finishedBefore + 1);
    expect(await metricValue(daemon, 'pcapd_captured_packets_total')).toBe(packetsBefore + 7);
    const metrics = await daemon.api('/metrics');
    expect(metrics.body).toMatch(/pcapd_build_info\{version="[^"]+",node="v\d+/);
    const stats = await daemon.api('/stats');
    expect(stats.body.scheduler).toMatchObject({ running: 0, queued: 0, reservedBytes: 0 });
    // No capture runs: its thread was joined when it ended.
    expect(stats.body.native.captureThreads).toBe(0);
  });

  it('clamps limits above the configured maxima and reports the clamp', async () => {
    link = await createTestLink();
    const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: 10_000_000, duration: 999_999, id: 'e2e-clamp' };
    expect((await daemon.api('/captures', postJson(request))).status).toBe(202);
    await daemon.waitForState('e2e-clamp', ['capturing']);
    expect((await daemon.api('/captures/e2e-clamp', { method: 'DELETE' })).status).toBe(202);
    const outcome = await daemon.waitForState('e2e-clamp', ['done', 'failed']);
    expect(outcome.reason).toBe('cancelled');
    expect(outcome.clamps).toEqual([
      { field: 'packets', requested: 10_000_000, applied: 50_000 },
      { field: 'duration', requested: 999_999, applied: 3600 },
    ]);
    expect(outcome.limits).toMatchObject({ packets: 50_000, durationSeconds: 3600 });
    await daemon.waitForLog((line) => line.msg === 'request limit clamped to the configured maximum' && line['field'] === 'packets');
  });

  it('captures a request for another node nowhere and says so', async () => {
    const result = await daemon.api('/captures', postJson({ node: 'some-other-sensor', interface: ['lo'] }));
    expect(result).toEqual({ status: 200, body: { ignored: true, why: 'other-node' } });
  });

  it('captures a duplicate request id once', async () => {
    link = await createTestLink();
    const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: 5, id: 'e2e-dup' };
    expect((await daemon.api('/captures?wait=armed', postJson(request))).status).toBe(200);
    const whileRunning = await daemon.api('/captures', postJson(request));
    expect(whileRunning.status).toBe(409);
    expect(whileRunning.body.error.code).toBe('PCAPD_ERR_REQUEST_DUPLICATE');

    await sendBurst(5, 120);
    expect(await daemon.waitForState('e2e-dup', ['done', 'failed'])).toMatchObject({ state: 'done', packets: 5 });
    const afterwards = await daemon.api('/captures', postJson(request));
    expect(afterwards.status).toBe(409);
    expect(afterwards.body.error.code).toBe('PCAPD_ERR_REQUEST_DUPLICATE');
    // Captured once: one listed capture, one file with its id.
    const list = await daemon.api('/captures');
    expect(list.body.captures.filter((capture: { id: string }) => capture.id === 'e2e-dup')).toHaveLength(1);
    expect((await readdir(daemon.captureDir)).filter((name) => !name.startsWith('.') && name.includes('-e2e-dup.'))).toHaveLength(1);
  });
});
