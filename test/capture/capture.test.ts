/**
 * The native capture core on real interfaces: each test builds its own veth
 * pair into a private namespace, injects a known burst with tcpreplay and
 * reads the result back with tshark/capinfos.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startCapture, type CaptureFile, type CaptureResult, type CaptureSpec } from '../../src/capture/capture.js';
import { listDevices, validateFilter } from '../../src/capture/devices.js';
import { PcapdError } from '../../src/errors.js';
import { capinfos, readPackets } from '../helpers/capture-files.js';
import { run } from '../helpers/exec.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { readInterfaceStatistics } from '../helpers/pcapng-blocks.js';

let dir: string;
let link: TestLink;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-capture-'));
});

afterAll(async () => {
  await destroyAllTestLinks();
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await destroyAllTestLinks();
});

let fileCounter = 0;
async function saveFile(file: CaptureFile): Promise<string> {
  const path = join(dir, `capture-${++fileCounter}.${file.format}`);
  await writeFile(path, Buffer.concat(file.chunks));
  return path;
}

async function traffic(count: number, sizeBytes: number, firstSequence = 0): Promise<string> {
  const path = join(dir, `traffic-${count}-${sizeBytes}-${firstSequence}-${++fileCounter}.pcap`);
  await writeTrafficPcap(path, count, sizeBytes, { firstSequence });
  return path;
}

function spec(ifaces: string[], overrides: Partial<CaptureSpec> = {}, limits: Partial<CaptureSpec['limits']> = {}): CaptureSpec {
  return {
    interfaces: ifaces.map((name) => ({ name })),
    filter: TEST_FILTER,
    snaplenBytes: 65535,
    format: 'pcapng',
    ...overrides,
    limits: { packets: 0, bytes: 0, durationMs: 20_000, idleMs: 0, ...limits },
  };
}

/** Starts a capture, waits until it is armed, sends the traffic, returns the result. */
async function captureWhileSending(captureSpec: CaptureSpec, send: () => Promise<void>): Promise<CaptureResult> {
  const handle = startCapture(captureSpec);
  await handle.armed;
  await send();
  return handle.done;
}

function onlyFile(result: CaptureResult): CaptureFile {
  expect(result.files).toHaveLength(1);
  const [file] = result.files;
  if (!file) throw new Error('no file');
  return file;
}

describe('startCapture on a veth pair', () => {
  it('stops after the packet limit and writes exactly those packets, in order, with their real timestamps', async () => {
    link = await createTestLink();
    const burst = await traffic(50, 200);
    const result = await captureWhileSending(spec([link.hostIf], {}, { packets: 20 }), () => link.replay(burst));

    expect(result.reason).toBe('packets');
    expect(result.packets).toBe(20);
    const path = await saveFile(onlyFile(result));
    const packets = await readPackets(path);
    expect(packets.map((p) => p.sequence)).toEqual([...Array(20).keys()]);
    for (const packet of packets) {
      expect(packet.frameLen).toBe(200);
      expect(packet.capLen).toBe(200);
      expect(packet.timeEpochNs).toBeGreaterThanOrEqual(result.startedNs);
      expect(packet.timeEpochNs).toBeLessThanOrEqual(result.endedNs);
    }
    for (let i = 1; i < packets.length; i++) {
      expect(packets[i]!.timeEpochNs).toBeGreaterThanOrEqual(packets[i - 1]!.timeEpochNs);
    }
    expect(result.firstPacketNs).toBe(packets[0]!.timeEpochNs);
    expect(result.lastPacketNs).toBe(packets[19]!.timeEpochNs);

    const info = await capinfos(path);
    expect(info.fileType).toContain('pcapng');
    expect(info.encapsulation).toBe('ether');
    expect(info.precision).toContain('nanoseconds');
    expect(info.packets).toBe(20);
    expect(info.sizeBytes).toBe(result.bytes);
    expect(info.interfaces).toHaveLength(1);
    expect(info.interfaces[0]?.['Name']).toBe(link.hostIf);
    expect(info.interfaces[0]?.['Capture length']).toBe('65535');
    expect(info.interfaces[0]?.['Filter string']).toBe(TEST_FILTER);
    expect(info.interfaces[0]?.['Time resolution']).toBe('0x09');
    expect(info.interfaces[0]?.['Number of stat entries']).toBe('1');
  });

  it('stops before the file would exceed the byte limit (pcapng)', async () => {
    link = await createTestLink();
    const burst = await traffic(100, 300);
    const recordBytes = 32 + 300; // Enhanced Packet Block for a 300 B frame
    const limitBytes = 5_000;
    const result = await captureWhileSending(spec([link.hostIf], {}, { bytes: limitBytes }), () => link.replay(burst));

    expect(result.reason).toBe('bytes');
    const file = onlyFile(result);
    expect(file.bytes).toBeLessThanOrEqual(limitBytes);
    expect(file.bytes + recordBytes).toBeGreaterThan(limitBytes);
    const path = await saveFile(file);
    const info = await capinfos(path);
    expect(info.sizeBytes).toBe(file.bytes);
    expect(info.packets).toBe(result.packets);
    expect((await readPackets(path)).map((p) => p.sequence)).toEqual([...Array(result.packets).keys()]);
  });

  it('stops before the file would exceed the byte limit (classic pcap)', async () => {
    link = await createTestLink();
    const burst = await traffic(100, 300);
    const recordBytes = 16 + 300;
    const limitBytes = 24 + 7 * recordBytes + 100; // room for 7 packets and a bit
    const result = await captureWhileSending(spec([link.hostIf], { format: 'pcap' }, { bytes: limitBytes }), () => link.replay(burst));

    expect(result.reason).toBe('bytes');
    expect(result.packets).toBe(7);
    const file = onlyFile(result);
    expect(file.bytes).toBe(24 + 7 * recordBytes);
    const path = await saveFile(file);
    const info = await capinfos(path);
    expect(info.fileType).toContain('pcap');
    expect(info.fileType).not.toContain('pcapng');
    expect(info.precision).toContain('nanoseconds');
    expect(info.packets).toBe(7);
    expect(info.sizeBytes).toBe(file.bytes);
  });

  it('ends by duration when no packet arrives, with a valid empty file', async () => {
    link = await createTestLink();
    const result = await captureWhileSending(spec([link.hostIf], {}, { durationMs: 400, idleMs: 100 }), async () => {});

    // The idle timeout only starts counting after a first packet.
    expect(result.reason).toBe('duration');
    expect(result.packets).toBe(0);
    expect(result.firstPacketNs).toBeNull();
    expect(Number(result.endedNs - result.startedNs) / 1e6).toBeGreaterThanOrEqual(400);
    const path = await saveFile(onlyFile(result));
    const info = await capinfos(path);
    expect(info.packets).toBe(0);
    expect(info.interfaces).toHaveLength(1);
  });

  it('ends by idle timeout once traffic stops, keeping every packet', async () => {
    link = await createTestLink();
    const burst = await traffic(30, 120);
    const result = await captureWhileSending(spec([link.hostIf], {}, { idleMs: 300 }), () => link.replay(burst));

    expect(result.reason).toBe('timeout');
    expect(result.packets).toBe(30);
    expect(Number(result.endedNs - (result.lastPacketNs ?? 0n)) / 1e6).toBeGreaterThanOrEqual(300);
    const path = await saveFile(onlyFile(result));
    expect((await readPackets(path)).map((p) => p.sequence)).toEqual([...Array(30).keys()]);
  });

  it('cancels mid-capture and returns the packets so far in a valid file', async () => {
    link = await createTestLink();
    const burst = await traffic(20, 100);
    const handle = startCapture(spec([link.hostIf]));
    await handle.armed;
    await link.replay(burst);
    await expect.poll(() => handle.progress().packets, { timeout: 5_000 }).toBe(20);
    handle.cancel();
    const result = await handle.done;

    expect(result.reason).toBe('cancelled');
    expect(result.packets).toBe(20);
    const path = await saveFile(onlyFile(result));
    expect((await capinfos(path)).packets).toBe(20);
  });

  it('reports shutdown as the reason when cancelled for shutdown', async () => {
    link = await createTestLink();
    const handle = startCapture(spec([link.hostIf]));
    await handle.armed;
    handle.cancel('shutdown');
    expect((await handle.done).reason).toBe('shutdown');
  });

  it('cuts frames at the snap length and records the real snaplen in the header', async () => {
    link = await createTestLink();
    const burst = await traffic(5, 600);
    const result = await captureWhileSending(spec([link.hostIf], { snaplenBytes: 128 }, { packets: 5 }), () => link.replay(burst));
    const path = await saveFile(onlyFile(result));
    const packets = await readPackets(path);
    expect(packets).toHaveLength(5);
    for (const packet of packets) {
      expect(packet.capLen).toBe(128);
      expect(packet.frameLen).toBe(600);
    }
    expect((await capinfos(path)).interfaces[0]?.['Capture length']).toBe('128');
    expect(result.interfaces[0]?.snaplenBytes).toBe(128);
  });

  it('writes the section comment and counters a reader can see', async () => {
    link = await createTestLink();
    const burst = await traffic(10, 100);
    const comment = 'pcapd request r-42 alert 9001 node sensor-1 tags [dns,exfil] bpf "udp dst port 9999"';
    const result = await captureWhileSending(spec([link.hostIf], { comment }, { packets: 10 }), () => link.replay(burst));
    const file = onlyFile(result);
    const path = await saveFile(file);
    expect((await capinfos(path)).comment).toBe(comment);

    const [stats] = readInterfaceStatistics(Buffer.concat(file.chunks));
    expect(stats?.usrDeliv).toBe(10n);
    expect(stats?.ifRecv).toBe(BigInt(result.interfaces[0]?.received ?? -1));
    expect(stats?.ifRecv).toBeGreaterThanOrEqual(10n);
    expect(stats?.osDrop).toBe(BigInt(result.interfaces[0]?.dropped ?? -1));
    expect(result.interfaces[0]?.written).toBe(10);
  });

  it('summarises each packet natively when packet debugging is on', async () => {
    link = await createTestLink();
    const burst = await traffic(3, 100);
    const result = await captureWhileSending(spec([link.hostIf], { packetDebug: true }, { packets: 3 }), () => link.replay(burst));
    expect(result.packetSummaries).toHaveLength(3);
    for (const line of result.packetSummaries) {
      expect(line).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{9} ${link.hostIf} UDP 10\\.99\\.0\\.1:40000 > 10\\.99\\.0\\.2:9999 length 100$`));
    }
  });

  it('cuts segments by size and delivers each as it closes', async () => {
    link = await createTestLink();
    const burst = await traffic(40, 500);
    const segments: CaptureFile[] = [];
    const result = await captureWhileSending(spec([link.hostIf], { onSegment: (files) => segments.push(...files) }, { packets: 40, segmentBytes: 6_000 }), () =>
      link.replay(burst),
    );
    const all = [...segments, ...result.files];
    expect(all.length).toBeGreaterThan(2);
    let sequence = 0;
    for (const [index, file] of all.entries()) {
      expect(file.segment).toBe(index);
      expect(file.bytes).toBeLessThanOrEqual(6_000);
      const packets = await readPackets(await saveFile(file));
      expect(packets.length).toBe(file.packets);
      for (const packet of packets) expect(packet.sequence).toBe(sequence++);
    }
    expect(sequence).toBe(40);
    expect(result.bytes).toBe(all.reduce((sum, file) => sum + file.bytes, 0));
  });

  it('ends with reason error and keeps the packets when the interface disappears', async () => {
    link = await createTestLink();
    const burst = await traffic(10, 100);
    const handle = startCapture(spec([link.hostIf]));
    await handle.armed;
    await link.replay(burst);
    await expect.poll(() => handle.progress().packets, { timeout: 5_000 }).toBe(10);
    await run('ip', ['link', 'del', link.hostIf]);
    const result = await handle.done;

    expect(result.reason).toBe('error');
    expect(result.error).toMatch(/disappeared|went down|No such device/i);
    expect(result.packets).toBe(10);
    const path = await saveFile(onlyFile(result));
    expect((await capinfos(path)).packets).toBe(10);
  });
});

describe('several interfaces in one capture', () => {
  it('merges two interfaces into one pcapng in timestamp order, one interface block each', async () => {
    const a = await createTestLink();
    const b = await createTestLink();
    const burstA = await traffic(40, 100, 0);
    const burstB = await traffic(40, 100, 1000);
    const result = await captureWhileSending(spec([a.hostIf, b.hostIf], {}, { packets: 80 }), async () => {
      await Promise.all([a.replay(burstA, { pps: 400 }), b.replay(burstB, { pps: 400 })]);
    });

    expect(result.reason).toBe('packets');
    const path = await saveFile(onlyFile(result));
    const info = await capinfos(path);
    expect(info.interfaces.map((i) => i['Name'])).toEqual([a.hostIf, b.hostIf]);
    for (const iface of info.interfaces) expect(iface['Number of stat entries']).toBe('1');
    const packets = await readPackets(path);
    expect(packets).toHaveLength(80);
    for (let i = 1; i < packets.length; i++) {
      expect(packets[i]!.timeEpochNs).toBeGreaterThanOrEqual(packets[i - 1]!.timeEpochNs);
    }
    const fromA = packets.filter((p) => p.interfaceName === a.hostIf).map((p) => p.sequence);
    const fromB = packets.filter((p) => p.interfaceName === b.hostIf).map((p) => p.sequence);
    expect(fromA).toEqual([...Array(40).keys()]);
    expect(fromB).toEqual([...Array(40).keys()].map((i) => 1000 + i));
    // Sent concurrently at the same rate, the two streams interleave.
    const switches = packets.filter((p, i) => i > 0 && p.interfaceId !== packets[i - 1]!.interfaceId).length;
    expect(switches).toBeGreaterThan(10);
    expect(result.interfaces.map((i) => i.written)).toEqual([40, 40]);
    expect(readInterfaceStatistics(Buffer.concat(onlyFile(result).chunks)).map((s) => s.interfaceId)).toEqual([0, 1]);
  });

  it('writes one classic pcap per interface when format is pcap', async () => {
    const a = await createTestLink();
    const b = await createTestLink();
    const burstA = await traffic(5, 100, 0);
    const burstB = await traffic(7, 100, 500);
    const result = await captureWhileSending(spec([a.hostIf, b.hostIf], { format: 'pcap' }, { packets: 12 }), async () => {
      await Promise.all([a.replay(burstA), b.replay(burstB)]);
    });

    expect(result.files.map((f) => f.interfaces)).toEqual([[a.hostIf], [b.hostIf]]);
    const [fileA, fileB] = result.files;
    expect((await readPackets(await saveFile(fileA!))).map((p) => p.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect((await readPackets(await saveFile(fileB!))).map((p) => p.sequence)).toEqual([500, 501, 502, 503, 504, 505, 506]);
  });
});

describe('rejections', () => {
  it("rejects an invalid BPF with libpcap's message before any device is opened", () => {
    expect(() => validateFilter('udp and port')).toThrowError(/syntax error/);
    expect(() => validateFilter('tcp port 99999')).toThrowError(
      expect.objectContaining({ code: 'PCAPD_ERR_BPF_INVALID', message: expect.stringMatching(/illegal port number 99999/) }),
    );
    expect(() => validateFilter('tcp port 99999')).toThrowError(PcapdError);
    expect(validateFilter('udp dst port 53').instructions).toBeGreaterThan(0);
  });

  it('rejects an invalid BPF at capture start with a typed error', async () => {
    const handle = startCapture(spec(['lo'], { filter: 'host 1.2.3.4 andd' }));
    await expect(handle.armed).rejects.toMatchObject({ code: 'PCAPD_ERR_BPF_INVALID' });
    await expect(handle.done).rejects.toMatchObject({ code: 'PCAPD_ERR_BPF_INVALID', message: /syntax error/ });
  });

  it('rejects an unknown interface with a typed error', async () => {
    const handle = startCapture(spec(['nosuchif0']));
    await expect(handle.done).rejects.toMatchObject({ code: 'PCAPD_ERR_INTERFACE_UNKNOWN' });
    // Names, not device objects: the list holds 'lo' and not the unknown one.
    const names = listDevices().map((device) => device.name);
    expect(names).toContain('lo');
    expect(names).not.toContain('nosuchif0');
  });

  it('rejects a byte limit too small for the headers', async () => {
    const handle = startCapture(spec(['lo'], {}, { bytes: 40 }));
    await expect(handle.done).rejects.toMatchObject({ code: 'PCAPD_ERR_LIMIT_TOO_SMALL' });
  });

  it.each([
    ['negative snaplen', { snaplenBytes: -1 }],
    ['huge snaplen', { snaplenBytes: 1e9 }],
    ['fractional snaplen', { snaplenBytes: 1.5 }],
    ['interface name too long', { interfaces: [{ name: 'x'.repeat(300) }] }],
    ['empty interface name', { interfaces: [{ name: '' }] }],
    ['NUL in interface name', { interfaces: [{ name: 'lo\0x' }] }],
    ['no interfaces', { interfaces: [] }],
    ['filter too long', { filter: 'udp or '.repeat(20_000) }],
    ['unknown format', { format: 'erf' as 'pcap' }],
    ['tiny kernel buffer', { bufferBytes: 10 }],
  ] satisfies Array<[string, Partial<CaptureSpec>]>)('throws a typed error for %s and keeps running', (_name, bad) => {
    expect(() => startCapture(spec(['lo'], bad))).toThrowError(expect.objectContaining({ code: 'PCAPD_ERR_NATIVE_ARGUMENT' }));
  });

  it.each([
    ['zero duration', { durationMs: 0 }],
    ['NaN packets', { packets: Number.NaN }],
    ['negative bytes', { bytes: -5 }],
    ['infinite idle', { idleMs: Number.POSITIVE_INFINITY }],
    ['unsafe integer', { packets: 2 ** 60 }],
  ] satisfies Array<[string, Partial<CaptureSpec['limits']>]>)('throws a typed error for %s', (_name, limits) => {
    expect(() => startCapture(spec(['lo'], {}, limits))).toThrowError(expect.objectContaining({ code: 'PCAPD_ERR_NATIVE_ARGUMENT' }));
  });
});
