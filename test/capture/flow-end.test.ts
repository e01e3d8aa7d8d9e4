/**
 * Captures that end with their flow (the `flow` option, decided in native
 * code on the packets the capture writes): real TCP and UDP exchanges between
 * this namespace and a test namespace over a veth pair, with another TCP
 * connection and UDP traffic on the same link, captured with the flow's BPF
 * and read back with tshark. VLAN tags are pushed onto the veth by a tc eBPF
 * program (no 8021q module needed); a crafted TCP close with retransmitted
 * FINs, sequence wrap and malformed frames is replayed with tcpreplay.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startCapture, type CaptureHandle, type CaptureResult, type CaptureSpec, type FlowEndOptions } from '../../src/capture/capture.js';
import type { NativeWarmInterface } from '../../src/capture/native.js';
import { WarmInterfaces } from '../../src/capture/warm-interfaces.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { run } from '../helpers/exec.js';
import {
  clientPort,
  createPeer,
  startNoise,
  stopPeerServers,
  tcpExchange,
  TCP_PORT,
  udpExchange,
  UDP_PORT,
  withDeadline,
  type Peer,
} from '../helpers/flow-peers.js';
import { writeFramesPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const CAPTURE_DEADLINE_MS = 10_000;

let dir: string;
let warm: WarmInterfaces | undefined;
let fileCounter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-flow-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  stopPeerServers();
  await warm?.close();
  warm = undefined;
  await destroyAllTestLinks();
});

// ---- captures ----

/** The flow's BPF, both directions, as pcapd derives it from an alert's 5-tuple. */
function flowFilter(protocol: 'tcp' | 'udp', peer: Peer, port: number, serverPort: number, prefix = ''): string {
  const forward = `src host ${peer.host} and src port ${port} and dst host ${peer.remote} and dst port ${serverPort}`;
  const reverse = `src host ${peer.remote} and src port ${serverPort} and dst host ${peer.host} and dst port ${port}`;
  return `${prefix}${protocol} and ((${forward}) or (${reverse}))`;
}

function flowSpec(iface: string, filter: string, flow: FlowEndOptions, overrides: Partial<CaptureSpec> = {}): CaptureSpec {
  return {
    interfaces: [{ name: iface }],
    filter,
    snaplenBytes: 65535,
    format: 'pcapng',
    limits: { packets: 0, bytes: 0, durationMs: 20_000, idleMs: 0 },
    flow,
    ...overrides,
  };
}

/** The capture's result, or a failure (after cancelling it) when it has not ended in time. */
async function ended(handle: CaptureHandle): Promise<CaptureResult> {
  try {
    return await withDeadline(handle.done, CAPTURE_DEADLINE_MS, 'the capture to end');
  } catch (err: unknown) {
    handle.cancel();
    await handle.done.catch(() => undefined);
    throw err;
  }
}

async function openWarm(name: string): Promise<NativeWarmInterface> {
  const { log } = createLogger({ level: 'silent' });
  const opened = new WarmInterfaces({ log, metrics: new Metrics({ version: 'test', libpcap: 'test', defaults: false }), reopenDelayMs: () => 200 });
  warm = opened;
  await opened.reconcile([
    { name, snaplenBytes: 65535, promiscuous: true, bufferBytes: 8 * 1024 * 1024, lookbackBytes: 4 * 1024 * 1024, lookbackSeconds: 30, lookbackFilter: '' },
  ]);
  return waitFor('the warm interface to open', async () => opened.readerFor(name));
}

/**
 * Waits until the warm reader's lookback ring stops growing: the last packets
 * sent sit in a kernel ring block until it retires (1 ms) and the reader, with
 * no capture attached, reads every 20 ms. Two equal counts 100 ms apart.
 */
async function lookbackSettled(): Promise<void> {
  let previous = -1;
  await waitFor(
    'the lookback ring to hold every packet sent',
    async () => {
      const packets = warm?.status()[0]?.ring.packets ?? 0;
      const settled = packets > 0 && packets === previous;
      previous = packets;
      return settled;
    },
    { intervalMs: 100 },
  );
}

// ---- reading files back ----

interface Packet {
  timeNs: bigint;
  stream: string;
  srcPort: number;
  syn: boolean;
  fin: boolean;
  ack: boolean;
  rst: boolean;
  seq: number;
  ackNumber: number;
  payloadBytes: number;
  /** Outer to inner: an 802.1ad tag, then 802.1Q tags. */
  vlanIds: string;
  udp: boolean;
}

const flag = (text: string | undefined): boolean => text === '1' || text === 'True';

async function readFlow(result: CaptureResult): Promise<Packet[]> {
  expect(result.files).toHaveLength(1);
  const path = join(dir, `flow-${++fileCounter}.pcapng`);
  await writeFile(path, Buffer.concat(result.files[0]?.chunks ?? []));
  const fields = [
    'frame.time_epoch',
    'tcp.stream',
    'tcp.srcport',
    'tcp.flags.syn',
    'tcp.flags.fin',
    'tcp.flags.ack',
    'tcp.flags.reset',
    'tcp.seq_raw',
    'tcp.ack_raw',
    'tcp.len',
    'ieee8021ad.id',
    'vlan.id',
    'udp.srcport',
  ];
  const out = await run('tshark', ['-r', path, '-n', '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((field) => ['-e', field])]);
  return out
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [epoch = '0', stream = '', srcPort = '', syn, fin, ack, rst, seq = '0', ackNumber = '0', len = '0', outerId = '', vlanIds = '', udpPort = ''] =
        line.split('|');
      const [seconds = '0', fraction = ''] = epoch.split('.');
      return {
        timeNs: BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9)),
        stream,
        srcPort: Number(srcPort),
        syn: flag(syn),
        fin: flag(fin),
        ack: flag(ack),
        rst: flag(rst),
        seq: Number(seq),
        ackNumber: Number(ackNumber),
        payloadBytes: Number(len),
        vlanIds: [outerId, vlanIds].filter((ids) => ids !== '').join(','),
        udp: udpPort !== '',
      };
    });
}

function last<T>(items: readonly T[]): T {
  const item = items[items.length - 1];
  if (item === undefined) throw new Error('empty');
  return item;
}

/**
 * One TCP stream from its SYN to an orderly close, ending on the final ACK:
 * the ACK of the other side's FIN (its seq + payload + 1, mod 2^32).
 */
function expectOrderlyClose(packets: Packet[], port: number): Packet {
  expect(new Set(packets.map((packet) => packet.stream))).toEqual(new Set(['0']));
  expect(packets[0]?.syn && !packets[0].ack).toBe(true);
  const finFrom = (srcPort: number): Packet | undefined => packets.find((packet) => packet.fin && packet.srcPort === srcPort);
  const clientFin = finFrom(port);
  const serverFin = finFrom(TCP_PORT);
  expect(clientFin).toBeDefined();
  expect(serverFin).toBeDefined();
  const final = last(packets);
  expect({ ack: final.ack, fin: final.fin, syn: final.syn, rst: final.rst, payloadBytes: final.payloadBytes }).toEqual({
    ack: true,
    fin: false,
    syn: false,
    rst: false,
    payloadBytes: 0,
  });
  const acked = final.srcPort === port ? serverFin : clientFin;
  expect(final.ackNumber).toBe(((acked?.seq ?? 0) + (acked?.payloadBytes ?? 0) + 1) % 2 ** 32);
  return final;
}

/** The capture ended with the flow, not long after its last packet. */
function expectEndedPromptly(result: CaptureResult, packets: Packet[]): void {
  const lastPacketNs = last(packets).timeNs;
  expect(result.lastPacketNs).toBe(lastPacketNs);
  expect(result.endedNs - lastPacketNs).toBeLessThan(1_000_000_000n);
}

/**
 * A TCP exchange closed in order beside other traffic, captured with the
 * flow's filter: the capture ends with flow-end at the final ACK, promptly.
 */
async function captureOrderlyClose(
  peer: Peer,
  overrides: Partial<CaptureSpec> = {},
): Promise<{ result: CaptureResult; packets: Packet[]; otherAnswers: number }> {
  const noise = await startNoise(peer);
  try {
    const port = clientPort();
    const handle = startCapture(flowSpec(peer.link.hostIf, flowFilter('tcp', peer, port, TCP_PORT), { tcpClose: true, idleMs: 30_000 }, overrides));
    await handle.armed;
    const answersBefore = noise.answers();
    await tcpExchange(peer, port, 'close');
    const result = await ended(handle);

    expect(result.reason).toBe('flow-end');
    const packets = await readFlow(result);
    expectOrderlyClose(packets, port);
    expectEndedPromptly(result, packets);
    return { result, packets, otherAnswers: noise.answers() - answersBefore };
  } finally {
    noise.stop();
  }
}

// ---- the tests ----

describe('a capture that ends when its TCP flow closes', () => {
  it('ends a cold capture with flow-end at the final ACK of an orderly close while other traffic goes on', async () => {
    const { result, packets, otherAnswers } = await captureOrderlyClose(await createPeer());
    expect(result.packets).toBe(packets.length);
    expect(otherAnswers).toBeGreaterThan(0);
  });

  it('ends a capture on a warm interface with flow-end at the final ACK, the other traffic filtered out by the reader', async () => {
    const peer = await createPeer();
    await captureOrderlyClose(peer, { warm: await openWarm(peer.link.hostIf) });
  });

  it('ends a warm capture at once with flow-end when its lookback already holds the whole flow', async () => {
    const peer = await createPeer();
    const reader = await openWarm(peer.link.hostIf);
    const port = clientPort();
    await tcpExchange(peer, port, 'close');
    await lookbackSettled();
    const handle = startCapture(
      flowSpec(peer.link.hostIf, flowFilter('tcp', peer, port, TCP_PORT), { tcpClose: true, idleMs: 30_000 }, { warm: reader, lookbackMs: 30_000 }),
    );
    const armed = await handle.armed;
    const result = await ended(handle);

    expect(result.reason).toBe('flow-end');
    expect(armed.lookbackPackets).toBe(result.packets);
    expectOrderlyClose(await readFlow(result), port);
  });

  it('ends with flow-end on a connection reset, the RST written last', async () => {
    const peer = await createPeer();
    const port = clientPort();
    const handle = startCapture(flowSpec(peer.link.hostIf, flowFilter('tcp', peer, port, TCP_PORT), { tcpClose: true, idleMs: 30_000 }));
    await handle.armed;
    await tcpExchange(peer, port, 'reset');
    const result = await ended(handle);

    expect(result.reason).toBe('flow-end');
    const packets = await readFlow(result);
    expect(new Set(packets.map((packet) => packet.stream))).toEqual(new Set(['0']));
    expect(packets.some((packet) => packet.fin)).toBe(false);
    expect(last(packets).rst).toBe(true);
    expectEndedPromptly(result, packets);
  });

  it('ends an IPv6 flow with flow-end at the final ACK', async () => {
    await captureOrderlyClose(await createPeer(6));
  });

  it('ends a flow tagged VLAN 100 with flow-end, the tags in the file', async () => {
    const peer = await createPeer(4, 1);
    const port = clientPort();
    const filter = flowFilter('tcp', peer, port, TCP_PORT, 'vlan 100 and ');
    const handle = startCapture(flowSpec(peer.link.hostIf, filter, { tcpClose: true, idleMs: 30_000 }));
    await handle.armed;
    await tcpExchange(peer, port, 'close');
    const result = await ended(handle);

    expect(result.reason).toBe('flow-end');
    const packets = await readFlow(result);
    expect(new Set(packets.map((packet) => packet.vlanIds))).toEqual(new Set(['100']));
    expectOrderlyClose(packets, port);
    expectEndedPromptly(result, packets);
  });

  it('ends a flow double-tagged 802.1ad 200 / 802.1Q 100 with flow-end', async () => {
    const peer = await createPeer(4, 2);
    const port = clientPort();
    const filter = flowFilter('tcp', peer, port, TCP_PORT, 'vlan 200 and vlan 100 and ');
    const handle = startCapture(flowSpec(peer.link.hostIf, filter, { tcpClose: true, idleMs: 30_000 }));
    await handle.armed;
    await tcpExchange(peer, port, 'close');
    const result = await ended(handle);

    expect(result.reason).toBe('flow-end');
    const packets = await readFlow(result);
    expect(new Set(packets.map((packet) => packet.vlanIds))).toEqual(new Set(['200,100']));
    expectOrderlyClose(packets, port);
  });

  it('ends a capture on the "any" device (Linux cooked headers) with flow-end', async () => {
    const peer = await createPeer();
    const port = clientPort();
    const handle = startCapture(flowSpec('any', flowFilter('tcp', peer, port, TCP_PORT), { tcpClose: true, idleMs: 30_000 }));
    await handle.armed;
    await tcpExchange(peer, port, 'close');
    const result = await ended(handle);

    expect(result.reason).toBe('flow-end');
    expect([113, 276]).toContain(result.interfaces[0]?.linktype);
    const packets = await readFlow(result);
    expectOrderlyClose(packets, port);
    expectEndedPromptly(result, packets);
  });

  it('lets a packet limit reached first end it with reason packets', async () => {
    const peer = await createPeer();
    const port = clientPort();
    const handle = startCapture(
      flowSpec(
        peer.link.hostIf,
        flowFilter('tcp', peer, port, TCP_PORT),
        { tcpClose: true, idleMs: 30_000 },
        {
          limits: { packets: 3, bytes: 0, durationMs: 20_000, idleMs: 0 },
        },
      ),
    );
    await handle.armed;
    await tcpExchange(peer, port, 'close');
    const result = await ended(handle);

    expect(result.reason).toBe('packets');
    expect(result.packets).toBe(3);
  });
});

describe('a capture that ends when its flow goes quiet', () => {
  it('ends a UDP exchange with flow-idle after idleMs, holding all its packets', async () => {
    const peer = await createPeer();
    const noise = await startNoise(peer);
    try {
      const port = clientPort();
      const handle = startCapture(flowSpec(peer.link.hostIf, flowFilter('udp', peer, port, UDP_PORT), { tcpClose: true, idleMs: 500 }));
      await handle.armed;
      await udpExchange(peer, port, 10);
      const result = await ended(handle);

      expect(result.reason).toBe('flow-idle');
      const packets = await readFlow(result);
      expect(packets).toHaveLength(20);
      expect(packets.every((packet) => packet.udp)).toBe(true);
      // Counted from the last packet: the other traffic on the link does not keep it alive.
      const quietNs = result.endedNs - last(packets).timeNs;
      expect(quietNs).toBeGreaterThanOrEqual(490_000_000n);
      expect(quietNs).toBeLessThan(2_000_000_000n);
    } finally {
      noise.stop();
    }
  });

  it('counts idleMs from arming when the flow is already quiet, unlike the generic idle limit', async () => {
    const peer = await createPeer();
    const port = clientPort();
    const handle = startCapture(flowSpec(peer.link.hostIf, flowFilter('tcp', peer, port, TCP_PORT), { tcpClose: true, idleMs: 300 }));
    const armed = await handle.armed;
    const result = await ended(handle);

    expect(result.reason).toBe('flow-idle');
    expect(result.packets).toBe(0);
    expect(result.endedNs - armed.startedNs).toBeGreaterThanOrEqual(290_000_000n);
  });
});

// ---- a crafted close, replayed: retransmitted FINs, sequence wrap, malformed frames ----

const ETHERNET = Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
const A = { v4: [10, 99, 1, 1], v6: 'fd71:0:0:0:0:0:0:1', port: 40_000 };
const B = { v4: [10, 99, 1, 2], v6: 'fd71:0:0:0:0:0:0:2', port: 80 };
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

interface CraftedSegment {
  from: 'a' | 'b';
  flags: number;
  seq: number;
  ack: number;
  payloadBytes?: number;
  /** Source port override: another connection between the same hosts. */
  srcPort?: number;
}

function tcpHeader(segment: CraftedSegment): Buffer {
  const [src, dst] = segment.from === 'a' ? [A, B] : [B, A];
  const header = Buffer.alloc(20 + (segment.payloadBytes ?? 0));
  header.writeUInt16BE(segment.srcPort ?? src.port, 0);
  header.writeUInt16BE(dst.port, 2);
  header.writeUInt32BE(segment.seq >>> 0, 4);
  header.writeUInt32BE(segment.ack >>> 0, 8);
  header[12] = 5 << 4;
  header[13] = segment.flags;
  header.writeUInt16BE(65535, 14);
  return header;
}

function ethernet(ethertype: number, payload: Buffer): Buffer {
  const type = Buffer.alloc(2);
  type.writeUInt16BE(ethertype);
  return Buffer.concat([ETHERNET, type, payload]);
}

interface Ipv4Overrides {
  ihlWords?: number;
  fragmentOffsetWords?: number;
  totalBytesExtra?: number;
}

function ipv4Frame(segment: CraftedSegment, overrides: Ipv4Overrides = {}): Buffer {
  const tcp = tcpHeader(segment);
  const ip = Buffer.alloc(20);
  ip[0] = 0x40 | (overrides.ihlWords ?? 5);
  ip.writeUInt16BE(20 + tcp.length + (overrides.totalBytesExtra ?? 0), 2);
  ip.writeUInt16BE(overrides.fragmentOffsetWords ?? 0, 6);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(segment.from === 'a' ? A.v4 : B.v4).copy(ip, 12);
  Buffer.from(segment.from === 'a' ? B.v4 : A.v4).copy(ip, 16);
  return ethernet(0x0800, Buffer.concat([ip, tcp]));
}

function ipv6Address(text: string): Buffer {
  return Buffer.concat(
    text.split(':').map((group) => {
      const word = Buffer.alloc(2);
      word.writeUInt16BE(Number.parseInt(group, 16));
      return word;
    }),
  );
}

/** IPv6 with hop-by-hop, destination options and a fragment header (offset 0, last) before TCP. */
function ipv6Frame(segment: CraftedSegment, fragmentOffsetWords = 0): Buffer {
  const tcp = tcpHeader(segment);
  const hopByHop = Buffer.from([60, 0, 1, 4, 0, 0, 0, 0]); // next: destination options; PadN
  const destination = Buffer.from([44, 0, 1, 4, 0, 0, 0, 0]); // next: fragment
  const fragment = Buffer.alloc(8);
  fragment[0] = 6; // next: TCP
  fragment.writeUInt16BE(fragmentOffsetWords << 3, 2);
  fragment.writeUInt32BE(0x1234, 4);
  const payload = Buffer.concat([hopByHop, destination, fragment, tcp]);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(payload.length, 4);
  ip[6] = 0; // next: hop-by-hop
  ip[7] = 64;
  ipv6Address(segment.from === 'a' ? A.v6 : B.v6).copy(ip, 8);
  ipv6Address(segment.from === 'a' ? B.v6 : A.v6).copy(ip, 24);
  return ethernet(0x86dd, Buffer.concat([ip, payload]));
}

async function writeCraftedPcap(frames: Buffer[]): Promise<string> {
  const path = join(dir, `crafted-${++fileCounter}.pcap`);
  await writeFramesPcap(path, frames, 1000);
  return path;
}

/**
 * A's sequence numbers start just below 2^32, so its FIN's end wraps to 16.
 * Frames marked `false` must not end the flow; the one marked `true` ends it.
 */
function craftedClose(family: 'ipv4' | 'ipv6'): Array<[Buffer, boolean]> {
  const a0 = 0xfffffff0;
  const b0 = 1000;
  const frame = (segment: CraftedSegment): Buffer => (family === 'ipv4' ? ipv4Frame(segment) : ipv6Frame(segment));
  const rstFromB: CraftedSegment = { from: 'b', flags: RST | ACK, seq: b0 + 1, ack: a0 + 21 };
  const malformed: Buffer[] =
    family === 'ipv4'
      ? [
          ipv4Frame(rstFromB).subarray(0, 14 + 10), // truncated inside the IP header
          ipv4Frame(rstFromB, { ihlWords: 4 }), // header length below 20
          ipv4Frame(rstFromB, { fragmentOffsetWords: 1 }), // not the first fragment: no TCP header
          ipv4Frame(rstFromB, { totalBytesExtra: 200 }), // claims more than the frame carries
        ]
      : [
          ipv6Frame(rstFromB).subarray(0, 14 + 40 + 12), // truncated inside the extension headers
          ipv6Frame(rstFromB, 1), // not the first fragment: no TCP header
        ];
  return [
    [frame({ from: 'a', flags: SYN, seq: a0, ack: 0 }), false],
    [frame({ from: 'b', flags: SYN | ACK, seq: b0, ack: a0 + 1 }), false],
    [frame({ from: 'a', flags: ACK, seq: a0 + 1, ack: b0 + 1 }), false],
    [frame({ from: 'a', flags: PSH | ACK, seq: a0 + 1, ack: b0 + 1, payloadBytes: 20 }), false],
    [frame({ from: 'b', flags: ACK, seq: b0 + 1, ack: a0 + 21 }), false],
    ...malformed.map((bytes): [Buffer, boolean] => [bytes, false]),
    [frame({ from: 'a', flags: FIN | PSH | ACK, seq: a0 + 21, ack: b0 + 1, payloadBytes: 10 }), false],
    [frame({ from: 'a', flags: FIN | PSH | ACK, seq: a0 + 21, ack: b0 + 1, payloadBytes: 10 }), false], // retransmitted
    [frame({ from: 'b', flags: ACK, seq: b0 + 1, ack: a0 + 31 }), false], // acknowledges the data, not the FIN
    [frame({ from: 'b', flags: RST, seq: 5000, ack: 0, srcPort: 81 }), false], // another connection
    [frame({ from: 'b', flags: ACK, seq: b0 + 1, ack: a0 + 32 }), false], // acknowledges A's FIN
    [frame({ from: 'b', flags: FIN | ACK, seq: b0 + 1, ack: a0 + 32 }), false],
    [frame({ from: 'a', flags: FIN | PSH | ACK, seq: a0 + 21, ack: b0 + 1, payloadBytes: 10 }), false], // retransmitted again
    [frame({ from: 'a', flags: ACK, seq: a0 + 32, ack: b0 + 2 }), true], // the final ACK
    [frame({ from: 'b', flags: PSH | ACK, seq: b0 + 2, ack: a0 + 32, payloadBytes: 5 }), false], // after the end
  ];
}

describe('the TCP close rules on crafted frames', () => {
  for (const family of ['ipv4', 'ipv6'] as const) {
    it(`ends ${family} at the final ACK, not at a retransmitted FIN, a partial ACK, another connection's RST or a malformed frame`, async () => {
      const link = await createTestLink();
      const frames = craftedClose(family);
      const endsAt = frames.findIndex(([, ends]) => ends);
      const replay = await writeCraftedPcap(frames.map(([bytes]) => bytes));
      // A snap length that cuts the FIN's payload: its length comes from the IP header.
      const snaplenBytes = family === 'ipv4' ? 60 : 100;
      const handle = startCapture({
        interfaces: [{ name: link.hostIf }],
        filter: family === 'ipv4' ? 'ip' : 'ip6',
        snaplenBytes,
        format: 'pcapng',
        limits: { packets: 0, bytes: 0, durationMs: 20_000, idleMs: 0 },
        flow: { tcpClose: true, idleMs: 0 },
      });
      await handle.armed;
      await link.replay(replay, { pps: 200 });
      const result = await ended(handle);

      expect(result.reason).toBe('flow-end');
      expect(result.packets).toBe(endsAt + 1);
    });
  }
});
