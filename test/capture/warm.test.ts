/**
 * Warm interfaces on real veth pairs: one shared reader and lookback ring per
 * interface, captures attached to it with their own filters and limits, and
 * the files read back with tshark. Every frame carries a sequence number, so
 * a packet missing or written twice at the ring/live boundary shows.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { captureResources, startCapture, type CaptureFile, type CaptureResult } from '../../src/capture/capture.js';
import { validateFilter } from '../../src/capture/devices.js';
import { WarmInterfaces, type WarmInterfaceSettings } from '../../src/capture/warm-interfaces.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { readPackets } from '../helpers/capture-files.js';
import { run } from '../helpers/exec.js';
import { writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const { log } = createLogger({ level: 'silent' });
let dir: string;
let warm: WarmInterfaces | undefined;
let fileCounter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-warm-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await warm?.close();
  warm = undefined;
  await destroyAllTestLinks();
});

function settings(name: string, overrides: Partial<WarmInterfaceSettings> = {}): WarmInterfaceSettings {
  return {
    name,
    snaplenBytes: 65535,
    promiscuous: true,
    bufferBytes: 32 * 1024 * 1024,
    lookbackBytes: 16 * 1024 * 1024,
    lookbackSeconds: 10,
    lookbackFilter: '',
    ...overrides,
  };
}

async function openWarm(name: string, overrides: Partial<WarmInterfaceSettings> = {}): Promise<WarmInterfaces> {
  warm = new WarmInterfaces({ log, metrics: new Metrics({ version: 'test', libpcap: 'test', defaults: false }), reopenDelayMs: () => 200 });
  await warm.reconcile([settings(name, overrides)]);
  const opened = warm;
  await waitFor('the warm interface to open', async () => opened.readerFor(name));
  return opened;
}

async function traffic(count: number, sizeBytes: number, firstSequence: number, dstPort = 9999): Promise<string> {
  const path = join(dir, `traffic-${++fileCounter}.pcap`);
  await writeTrafficPcap(path, count, sizeBytes, { firstSequence, dstPort });
  return path;
}

function warmCapture(warmInterfaces: WarmInterfaces, name: string, filter: string, lookbackMs: number, packets: number) {
  const reader = warmInterfaces.readerFor(name);
  if (reader === undefined) throw new Error(`${name} is not up`);
  return startCapture({
    interfaces: [{ name }],
    filter,
    snaplenBytes: 65535,
    format: 'pcapng',
    limits: { packets, bytes: 0, durationMs: 30_000, idleMs: 0 },
    warm: reader,
    lookbackMs,
  });
}

async function sequencesOf(result: CaptureResult): Promise<number[]> {
  expect(result.files).toHaveLength(1);
  const file = result.files[0] as CaptureFile;
  const path = join(dir, `capture-${++fileCounter}.pcapng`);
  await writeFile(path, Buffer.concat(file.chunks));
  return (await readPackets(path)).map((packet) => packet.sequence);
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('the filter of a capture attached to a warm interface', () => {
  it('is compiled once: the attach reuses the program validated for the request, shared by captures with the same filter', async () => {
    const link = await createTestLink();
    const warmInterfaces = await openWarm(link.hostIf);
    // A filter no earlier test compiled: this process's cache cannot already hold it.
    const port = 20_000 + (process.pid % 20_000);
    const filter = `udp dst port ${port} and greater 60`;
    const before = captureResources();
    validateFilter(filter);
    const validated = captureResources();
    expect(validated.filtersCompiled).toBe(before.filtersCompiled + 1);

    // Two captures of the same filter (and one of another port) attach: no compilation for the first two.
    const same = [warmCapture(warmInterfaces, link.hostIf, filter, 0, 300), warmCapture(warmInterfaces, link.hostIf, filter, 0, 300)];
    await Promise.all(same.map((handle) => handle.armed));
    const attached = captureResources();
    expect(attached.filtersCompiled).toBe(validated.filtersCompiled);
    expect(attached.filtersReused).toBe(validated.filtersReused + 2);
    await waitFor('two captures attached', async () => warmInterfaces.status()[0]?.capturesAttached === 2);

    // The shared program still tells packets apart: the other port's go nowhere.
    await link.replay(await traffic(300, 120, 0, port + 1), { pps: 5000 });
    await link.replay(await traffic(300, 120, 0, port), { pps: 5000 });
    for (const result of await Promise.all(same.map((handle) => handle.done))) {
      expect(result.reason).toBe('packets');
      expect(await sequencesOf(result)).toEqual(range(0, 300));
    }
  });
});

describe('a capture attached to a warm interface', () => {
  it('starts with the packets from before its request and goes on live, none missing or twice at the boundary', async () => {
    const link: TestLink = await createTestLink();
    const warmInterfaces = await openWarm(link.hostIf);
    // 5000 packets over 5 s; the request comes once 3000 are in the ring (3 s in), asking for 5 s of lookback.
    const sending = link.replay(await traffic(5000, 200, 0), { pps: 1000 });
    await waitFor('3000 packets in the lookback ring', () => (warmInterfaces.status()[0]?.ring.packets ?? 0) >= 3000, { timeoutMs: 10_000, intervalMs: 10 });
    const handle = warmCapture(warmInterfaces, link.hostIf, 'udp dst port 9999', 5000, 5000);
    const armed = await handle.armed;
    await sending;
    const result = await handle.done;

    expect(result.reason).toBe('packets');
    expect(result.interfaces[0]?.dropped).toBe(0);
    expect(await sequencesOf(result)).toEqual(range(0, 5000));
    expect(armed.lookbackPackets).toBeGreaterThan(2000);
    expect(armed.lookbackPackets).toBeLessThan(5000);
    expect(Number(armed.lookbackNs) / 1e9).toBeGreaterThan(2.5);
    expect(result.firstPacketNs).not.toBeNull();
    expect(result.firstPacketNs! < armed.startedNs).toBe(true);
  });

  it('serves four concurrent captures with different filters from one ring, each complete', async () => {
    const link = await createTestLink();
    const warmInterfaces = await openWarm(link.hostIf);
    const ports = [9001, 9002, 9003, 9004];
    // Half of each port's packets before the captures attach, half after.
    for (const port of ports) await link.replay(await traffic(250, 120, 0, port), { pps: 5000 });
    const handles = ports.map((port) => warmCapture(warmInterfaces, link.hostIf, `udp dst port ${port}`, 10_000, 500));
    await Promise.all(handles.map((handle) => handle.armed));
    // The armed events may run ahead of the reader's count by a moment.
    await waitFor('four captures attached', async () => warmInterfaces.status()[0]?.capturesAttached === 4);
    for (const port of ports) await link.replay(await traffic(250, 120, 250, port), { pps: 5000 });
    const results = await Promise.all(handles.map((handle) => handle.done));

    for (const result of results) {
      expect(result.reason).toBe('packets');
      expect(await sequencesOf(result)).toEqual(range(0, 500));
      expect(result.interfaces[0]?.dropped).toBe(0);
    }
    expect(warmInterfaces.status()[0]?.capturesAttached).toBe(0);
  });

  it('keeps in its lookback ring only what the ring filter matches', async () => {
    const link = await createTestLink();
    const warmInterfaces = await openWarm(link.hostIf, { lookbackFilter: 'udp dst port 9001' });
    await link.replay(await traffic(100, 120, 0, 9001), { pps: 5000 });
    await link.replay(await traffic(100, 120, 0, 9002), { pps: 5000 });
    await waitFor('the ring to hold the kept packets', async () => warmInterfaces.status()[0]?.ring.packets === 100);
    const kept = warmCapture(warmInterfaces, link.hostIf, 'udp', 10_000, 0);
    await kept.armed;
    kept.cancel();
    const result = await kept.done;
    expect(result.reason).toBe('cancelled');
    expect(await sequencesOf(result)).toEqual(range(0, 100));
  });

  it('ends its captures with reason error, keeping their packets, when the interface is deleted, and reopens when it returns', async () => {
    const link = await createTestLink();
    const warmInterfaces = await openWarm(link.hostIf);
    const handle = warmCapture(warmInterfaces, link.hostIf, 'udp dst port 9999', 0, 0);
    await handle.armed;
    await link.replay(await traffic(50, 120, 0), { pps: 5000 });
    await waitFor('the capture to see the packets', async () => handle.progress().packets === 50);

    await run('ip', ['link', 'del', link.hostIf]);
    const result = await handle.done;
    expect(result.reason).toBe('error');
    expect(await sequencesOf(result)).toEqual(range(0, 50));
    await waitFor('the warm interface to be seen down', async () => warmInterfaces.status()[0]?.state !== 'up');
    expect(warmInterfaces.status()[0]?.error?.code).toMatch(/^PCAPD_ERR_/);

    await run('ip', ['link', 'add', link.hostIf, 'type', 'veth', 'peer', 'name', link.nsIf, 'netns', link.ns]);
    await run('sysctl', ['-qw', `net.ipv6.conf.${link.hostIf}.disable_ipv6=1`]);
    await run('ip', ['netns', 'exec', link.ns, 'sysctl', '-qw', `net.ipv6.conf.${link.nsIf}.disable_ipv6=1`]);
    await run('ip', ['link', 'set', link.hostIf, 'up']);
    await run('ip', ['netns', 'exec', link.ns, 'ip', 'link', 'set', link.nsIf, 'up']);
    await waitFor('the warm interface to reopen', async () => warmInterfaces.readerFor(link.hostIf), 30_000);

    const again = warmCapture(warmInterfaces, link.hostIf, 'udp dst port 9999', 0, 20);
    await again.armed;
    await link.replay(await traffic(20, 120, 100), { pps: 5000 });
    const second = await again.done;
    expect(second.reason).toBe('packets');
    expect(await sequencesOf(second)).toEqual(range(100, 20));
  });

  it('with nothing attached, sleeps while the interface is quiet, keeps its lookback ring under traffic, and sees the interface go at once', async () => {
    const link = await createTestLink();
    const warmInterfaces = await openWarm(link.hostIf);
    const readerThread = async (): Promise<{ tid: string; switches: number } | undefined> => {
      for (const tid of await readdir(`/proc/${process.pid}/task`)) {
        const status = await readFile(`/proc/${process.pid}/task/${tid}/status`, 'utf8').catch(() => '');
        if (!/^Name:\s+pcapd-warm$/m.test(status)) continue;
        return { tid, switches: Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1]) };
      }
      return undefined;
    };
    // Quiet (IPv6 is off on test links: nothing is sent on its own): about one wakeup a second for the statistics, where it used to read every 20 ms.
    const before = await readerThread();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = await readerThread();
    expect(after?.tid).toBe(before?.tid);
    expect((after?.switches ?? 0) - (before?.switches ?? 0)).toBeLessThanOrEqual(8);

    // Traffic while nothing is attached still reaches the lookback ring: a capture that asks for it gets all of it.
    await link.replay(await traffic(40, 120, 0), { pps: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const handle = warmCapture(warmInterfaces, link.hostIf, 'udp dst port 9999', 5_000, 40);
    expect(await sequencesOf(await handle.done)).toEqual(range(0, 40));

    const deleted = Date.now();
    await run('ip', ['link', 'del', link.hostIf]);
    await waitFor('the warm interface to be seen down', async () => warmInterfaces.status()[0]?.state !== 'up');
    expect(Date.now() - deleted).toBeLessThan(1000);
  });

  it('refuses to attach a filter that does not compile, with its code', () => {
    return (async () => {
      const link = await createTestLink();
      const warmInterfaces = await openWarm(link.hostIf);
      expect(() => warmCapture(warmInterfaces, link.hostIf, 'udp port nonsense', 0, 1)).toThrow(expect.objectContaining({ code: 'PCAPD_ERR_BPF_INVALID' }));
    })();
  });
});
