/**
 * Named captures through the running daemon on a veth pair, read back with
 * tshark: clock-aligned segments named from their own start, rotate now, a
 * ring of files, and names that try to leave the capture root.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { readPackets } from '../helpers/capture-files.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const PATTERN = '"{name}-%Y%m%dT%H%M%SZ-{id}"';

let daemon: RunningDaemon | undefined;
let link: TestLink;

beforeAll(async () => {
  link = await createTestLink();
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await destroyAllTestLinks();
});

/** Files in the capture root whose names start with `name-`, sorted by segment. */
async function filesOf(running: RunningDaemon, name: string): Promise<string[]> {
  const entries = await readdir(running.captureDir).catch(() => []);
  return entries
    .filter((entry) => entry.startsWith(`${name}-`) && entry.endsWith('.pcapng'))
    .sort((a, b) => segmentOf(a) - segmentOf(b))
    .map((entry) => join(running.captureDir, entry));
}

function segmentOf(path: string): number {
  return Number(/-s(\d{4})\.pcapng$/u.exec(path)?.[1] ?? Number.NaN);
}

/** The time in a file name rendered from %Y%m%dT%H%M%SZ, in ms. */
function nameTimeMs(path: string): number {
  const match = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/u.exec(path);
  if (!match) throw new Error(`no time in ${path}`);
  const [, y = 0, mo = 0, d, h, mi, s] = match.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

async function traffic(running: RunningDaemon, name: string, count: number, firstSequence: number): Promise<string> {
  const path = join(running.dir, `${name}-${firstSequence}.pcap`);
  await writeTrafficPcap(path, count, 200, { firstSequence });
  return path;
}

async function arm(running: RunningDaemon, request: Record<string, unknown>): Promise<any> {
  const armed = await running.api('/captures?wait=armed', postJson({ node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, ...request }));
  expect(armed.status).toBe(200);
  expect(armed.body.state).toBe('capturing');
  return armed.body;
}

describe('named captures', () => {
  it('cuts 1 s clock-aligned segments over 5 s into contiguous files named from their own start, each packet once, each delivered as it closes', async () => {
    daemon = await startDaemon({ edits: { general: { filename: PATTERN } } });
    const pcap = await traffic(daemon, 'aligned', 600, 0);
    const armed = await arm(daemon, { name: 'aligned', segment: { seconds: 1, align: true }, duration: 5 });
    const startedAtMs = Date.parse(armed.startedAt);
    await link.replay(pcap, { pps: 100 });
    const outcome = await daemon.waitForState('aligned', ['done', 'failed'], 20_000);
    expect(outcome).toMatchObject({ state: 'done', reason: 'duration', name: 'aligned' });

    const files = await filesOf(daemon, 'aligned');
    const names = `${armed.startedAt} ${files.map((file) => file.split('/').pop()).join(' ')}`;
    expect(files.length === 5 || files.length === 6, `${files.length} files`).toBe(true);
    expect(files.map(segmentOf)).toEqual(files.map((_, index) => index));
    const sequences: number[] = [];
    for (const [index, file] of files.entries()) {
      const packets = await readPackets(file);
      expect(packets.length).toBeGreaterThan(0);
      const startMs = nameTimeMs(file);
      // The first file is named from arming (or, when the first period caught nothing, from the boundary
      // after it), the others from the boundary they start on.
      if (index === 0) expect([Math.floor(startedAtMs / 1000) * 1000, Math.floor(startedAtMs / 1000) * 1000 + 1000], names).toContain(startMs);
      else expect(startMs, names).toBe(nameTimeMs(files[0]!) + index * 1000);
      for (const packet of packets) {
        const atMs = Number(packet.timeEpochNs / 1_000_000n);
        // A boundary is a packet timestamp: each file holds exactly the packets stamped in its second.
        expect(atMs).toBeGreaterThanOrEqual(startMs);
        expect(atMs).toBeLessThan(startMs + 1000);
        sequences.push(packet.sequence);
      }
    }
    expect(sequences).toEqual(sequences.map((_, index) => index));
    expect(outcome.packets).toBe(sequences.length);

    // Each segment but the last was written before the capture ended.
    const ended = daemon.logs.findIndex((line) => line.msg === 'capture ended' && line['reqId'] === outcome.id);
    const written = daemon.logs.map((line, index) => ({ line, index })).filter(({ line }) => line.msg === 'capture written' && line['reqId'] === outcome.id);
    expect(written).toHaveLength(files.length);
    for (const { line, index } of written) {
      if ((line['segment'] as number) < files.length - 1) expect(index).toBeLessThan(ended);
    }
  }, 60_000);

  it.each(['cold', 'warm'] as const)(
    'rotates on request (%s interface): the segment so far is delivered at once and capturing goes on; GET shows the live view by name',
    async (path) => {
      const warm = `[[interface]]\nname = "${link.hostIf}"\nwarm = true\nlookbackbytes = 0\n`;
      daemon = await startDaemon({ edits: { general: { filename: PATTERN } }, ...(path === 'warm' ? { append: warm } : {}) });
      if (path === 'warm') {
        await waitFor('the warm interface up', async () => ((await daemon!.api('/interfaces')).body.warm[0]?.state === 'up' ? true : undefined));
      }
      await arm(daemon, { name: 'rot', segment: { seconds: 3600 } });
      if (path === 'warm') expect((await daemon.api('/interfaces')).body.warm[0].capturesAttached).toBe(1);
      await link.replay(await traffic(daemon, 'rot', 20, 0));
      await waitFor('20 packets', async () => ((await daemon!.api('/captures/rot')).body.packets === 20 ? true : undefined));

      const live = (await daemon.api('/captures/rot')).body;
      expect(live.live).toMatchObject({ interfaces: [link.hostIf], filter: TEST_FILTER, segment: 0 });
      expect(live.live.packetsPerSecond).toBeGreaterThanOrEqual(0);

      const rotated = await daemon.api('/captures/rot/rotate', { method: 'POST' });
      expect(rotated.status).toBe(202);
      expect(rotated.body).toMatchObject({ rotating: true, segment: 0, id: live.id });
      const [first] = await waitFor('the rotated file', async () => {
        const files = await filesOf(daemon!, 'rot');
        return files.length === 1 ? files : undefined;
      });
      expect(segmentOf(first!)).toBe(0);
      expect((await readPackets(first!)).map((packet) => packet.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect((await daemon.api('/captures/rot')).body).toMatchObject({ state: 'capturing', live: { segment: 1 } });

      await link.replay(await traffic(daemon, 'rot', 10, 20));
      await waitFor('30 packets', async () => ((await daemon!.api('/captures/rot')).body.packets === 30 ? true : undefined));
      expect((await daemon.api('/captures/rot', { method: 'DELETE' })).body).toEqual({ id: live.id, cancelling: true });
      await daemon.waitForState('rot', ['done']);
      const files = await filesOf(daemon, 'rot');
      expect(files.map(segmentOf)).toEqual([0, 1]);
      expect((await readPackets(files[1]!)).map((packet) => packet.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
      expect((await daemon.api('/captures/nobody/rotate', { method: 'POST' })).body.error.code).toBe('PCAPD_ERR_CAPTURE_NOT_FOUND');
    },
    60_000,
  );

  it('keeps a ring of the newest 3 files, deleting the oldest the local sink wrote', async () => {
    daemon = await startDaemon({ edits: { general: { filename: PATTERN } } });
    await arm(daemon, { name: 'ring', segment: { seconds: 3600 }, ring: { files: 3 } });
    for (let segment = 0; segment < 6; segment++) {
      await link.replay(await traffic(daemon, 'ring', 5, segment * 5));
      await waitFor(`packets of segment ${segment}`, async () => ((await daemon!.api('/captures/ring')).body.packets === (segment + 1) * 5 ? true : undefined));
      expect((await daemon.api('/captures/ring/rotate', { method: 'POST' })).status).toBe(202);
      await waitFor(`segment ${segment} delivered`, async () => ((await daemon!.api('/captures/ring')).body.segments === segment + 1 ? true : undefined));
    }
    await daemon.api('/captures/ring', { method: 'DELETE' });
    await daemon.waitForState('ring', ['done']);
    const files = await filesOf(daemon, 'ring');
    expect(files.map(segmentOf)).toEqual([3, 4, 5]);
    const sequences = (await Promise.all(files.map((file) => readPackets(file)))).flat().map((packet) => packet.sequence);
    expect(sequences).toEqual(Array.from({ length: 15 }, (_, i) => 15 + i));
    expect(daemon.logs.some((line) => line.msg === 'ring: oldest files removed')).toBe(true);
  }, 90_000);

  it('refuses names with path tricks, and a second running capture of the same name', async () => {
    daemon = await startDaemon({ edits: { general: { filename: PATTERN } } });
    for (const name of ['../escape', 'a/b', '..', '.hidden', '%2e%2e', 'x'.repeat(65)]) {
      const refused = await daemon.api('/captures', postJson({ node: 'any', interface: [link.hostIf], name, segment: { seconds: 1 } }));
      expect(refused.status, name).toBe(400);
      expect(refused.body.error.code, name).toBe('PCAPD_ERR_NAME_INVALID');
    }
    await arm(daemon, { name: 'once', segment: { seconds: 60 } });
    const second = await daemon.api('/captures', postJson({ node: 'any', interface: [link.hostIf], name: 'once', segment: { seconds: 60 } }));
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('PCAPD_ERR_NAME_TAKEN');
    expect((await readdir(daemon.dir)).filter((entry) => entry.includes('escape'))).toEqual([]);
  }, 60_000);
});

describe('[[capture]] blocks', () => {
  it('start with pcapd, start again after a restart, and restart with a new BPF on SIGHUP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcapd-named-'));
    const block = (bpf: string): string => `[[capture]]\nname = "ctl"\ninterface = ["${link.hostIf}"]\nbpf = "${bpf}"\nsegmentseconds = 3600\n`;
    const options = { dir, edits: { general: { filename: PATTERN } }, append: block(TEST_FILTER) };
    const capturing = async (running: RunningDaemon, notId?: string): Promise<any> =>
      waitFor('ctl capturing', async () => {
        const { body } = await running.api('/captures/ctl');
        return body.state === 'capturing' && body.id !== notId ? body : undefined;
      });
    const send = async (count: number, firstSequence: number, dstPort?: number): Promise<void> => {
      const path = join(dir, `ctl-${firstSequence}.pcap`);
      await writeTrafficPcap(path, count, 200, { firstSequence, ...(dstPort === undefined ? {} : { dstPort }) });
      await link.replay(path);
    };
    try {
      daemon = await startDaemon(options);
      const first = await capturing(daemon);
      expect(first).toMatchObject({ name: 'ctl', source: 'config', live: { filter: TEST_FILTER } });
      await send(10, 0);
      await waitFor('10 packets', async () => ((await daemon!.api('/captures/ctl')).body.packets === 10 ? true : undefined));
      await daemon.stop();

      daemon = await startDaemon(options);
      const second = await capturing(daemon, first.id);
      await send(10, 100);
      await waitFor('10 packets after the restart', async () => ((await daemon!.api('/captures/ctl')).body.packets === 10 ? true : undefined));

      await writeFile(daemon.configPath, (await readFile(daemon.configPath, 'utf8')).replace(block(TEST_FILTER), block('udp dst port 9998')));
      daemon.process.kill('SIGHUP');
      const third = await capturing(daemon, second.id);
      expect(third.live.filter).toBe('udp dst port 9998');
      expect((await daemon.api(`/captures/${second.id}`)).body).toMatchObject({ state: 'done', reason: 'cancelled', packets: 10 });
      await send(5, 200, 9998);
      await send(5, 300);
      await waitFor('5 packets on the new BPF', async () => ((await daemon!.api('/captures/ctl')).body.packets === 5 ? true : undefined));

      await writeFile(daemon.configPath, (await readFile(daemon.configPath, 'utf8')).replace(block('udp dst port 9998'), ''));
      daemon.process.kill('SIGHUP');
      await daemon.waitForState(third.id, ['done']);
      const files = await filesOf(daemon, 'ctl');
      const sequences = await Promise.all(files.map(async (file) => (await readPackets(file)).map((packet) => packet.sequence)));
      expect(sequences.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual([
        Array.from({ length: 10 }, (_, i) => i),
        Array.from({ length: 10 }, (_, i) => 100 + i),
        Array.from({ length: 5 }, (_, i) => 200 + i),
      ]);
    } finally {
      await daemon?.stop();
      daemon = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
