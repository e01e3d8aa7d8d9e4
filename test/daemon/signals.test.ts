/**
 * Signals: SIGTERM during a capture delivers the partial capture with reason
 * "shutdown" and exits 0; SIGHUP reloads the config, keeping the old one when
 * the new file is bad.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
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

/** One HTTP/1.1 response read off a raw socket: status and JSON body (pcapd answers with Content-Length). */
interface RawResponse {
  status: number;
  body: any;
}

/** Splits what a server sent on one connection into its responses. */
function parseResponses(bytes: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const headerEnd = rest.indexOf('\r\n\r\n');
    if (headerEnd < 0) throw new Error(`incomplete response: ${rest.toString('latin1').slice(0, 200)}`);
    const head = rest.subarray(0, headerEnd).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    const length = Number(/^content-length: *(\d+)$/im.exec(head)?.[1]);
    if (!Number.isInteger(length)) throw new Error(`response without Content-Length: ${head}`);
    const body = rest.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
    responses.push({ status, body: JSON.parse(body) });
    rest = rest.subarray(headerEnd + 4 + length);
  }
  return responses;
}

function rawPost(path: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: pcapd\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

describe('SIGTERM and the HTTP API', () => {
  it("answers a request that arrives during the shutdown with pcapd's error body, code PCAPD_ERR_SHUTTING_DOWN, and logs it as refused", async () => {
    daemon = await startDaemon();
    const running = daemon;
    // A closing server takes no new connection: the late request comes on one
    // kept busy by a ?wait, pipelined behind it.
    const { port } = new URL(running.baseUrl);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(rawPost('/captures?wait', { node: 'any', interface: ['lo'], bpf: 'udp port 9', duration: 600, id: 'term-busy' }));
    await running.waitForState('term-busy', ['capturing']);

    running.process.kill('SIGTERM');
    await running.waitForLog((line) => line.msg === 'shutting down: no new requests; ending running captures');
    socket.end(rawPost('/captures', { node: 'any', interface: ['lo'], bpf: 'udp port 9', duration: 600, id: 'term-late' }));
    await closed;
    expect(await running.exited).toBe(0);

    const [busy, late, ...more] = parseResponses(Buffer.concat(received));
    expect(more).toEqual([]);
    expect(busy).toMatchObject({ status: 200, body: { id: 'term-busy', state: 'done', reason: 'shutdown' } });
    expect(late?.status).toBe(503);
    expect(late?.body).toEqual({ error: { code: 'PCAPD_ERR_SHUTTING_DOWN', message: expect.stringMatching(/shutting down/) } });
    expect(running.logs.find((line) => line.msg === 'request rejected' && line['code'] === 'PCAPD_ERR_SHUTTING_DOWN')).toMatchObject({ source: 'http' });
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
