/**
 * GET /captures/:id/pcap through the real daemon: a capture the local sink
 * wrote is served from that file (no second copy held in memory, so the
 * retention stats do not count it), a deleted file answers 410 with its code,
 * and a capture with no local copy is served from memory retention.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, expect, it } from 'vitest';

import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

let daemon: RunningDaemon | undefined;
let link: TestLink | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await destroyAllTestLinks();
});

async function captureDone(running: RunningDaemon, id: string, packets: number): Promise<any> {
  link ??= await createTestLink();
  const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets, id };
  expect((await running.api('/captures?wait=armed', postJson(request))).status).toBe(200);
  const traffic = join(running.dir, `traffic-${id}.pcap`);
  await writeTrafficPcap(traffic, packets, 900);
  await link.replay(traffic);
  const outcome = await running.waitForState(id, ['done', 'failed']);
  expect(outcome).toMatchObject({ state: 'done', reason: 'packets', packets });
  return outcome;
}

async function download(running: RunningDaemon, id: string): Promise<{ status: number; type: string | null; disposition: string | null; bytes: Buffer }> {
  const response = await fetch(`${running.baseUrl}/captures/${id}/pcap`);
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    disposition: response.headers.get('content-disposition'),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

it('serves a capture the local sink wrote from that file, holds no copy in memory, and answers 410 once the file is gone', async () => {
  daemon = await startDaemon();
  const outcome = await captureDone(daemon, 'dl-local', 40);
  const [path] = outcome.deliveries.find((delivery: { sink: string }) => delivery.sink === 'local').locations as string[];
  const onDisk = await readFile(path!);

  const served = await download(daemon, 'dl-local');
  expect(served.status).toBe(200);
  expect(served.type).toBe('application/x-pcapng');
  expect(served.disposition).toBe(`attachment; filename="${path!.split('/').pop()}"`);
  expect(served.bytes.equals(onDisk)).toBe(true);
  expect((await daemon.api('/stats')).body.scheduler.retainedBytes).toBe(0);

  await rm(path!);
  const gone = await daemon.api('/captures/dl-local/pcap');
  expect(gone.status).toBe(410);
  expect(gone.body.error.code).toBe('PCAPD_ERR_CAPTURE_FILE_GONE');
  expect((await daemon.api('/captures/dl-local/pcap?file=1')).body.error.code).toBe('PCAPD_ERR_CAPTURE_NOT_FOUND');
}, 60_000);

it('keeps a capture with no local copy in memory for download, and counts it', async () => {
  daemon = await startDaemon({ edits: { general: { writelocal: 'false' } } });
  const outcome = await captureDone(daemon, 'dl-memory', 30);
  expect(outcome.deliveries).toEqual([]);

  const served = await download(daemon, 'dl-memory');
  expect(served.status).toBe(200);
  expect(served.bytes.length).toBe(outcome.bytes);
  expect(served.bytes.readUInt32LE(0)).toBe(0x0a0d0d0a); // a pcapng section header
  expect((await daemon.api('/stats')).body.scheduler.retainedBytes).toBe(outcome.bytes);
}, 60_000);
