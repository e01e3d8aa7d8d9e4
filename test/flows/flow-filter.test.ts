import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateFilter } from '../../src/capture/devices.js';
import { ipAddressBytes } from '../../src/flows/community-id.js';
import { parseEveAlert } from '../../src/flows/eve.js';
import { describeFlow, flowFilter } from '../../src/flows/flow-filter.js';
import { run } from '../helpers/exec.js';
import { pcapHeader } from '../helpers/pcap-buffer.js';

// --- frames ---------------------------------------------------------------------

/** One packet of a test flow: Ethernet, optional 802.1Q tags (outermost first), IPv4 or IPv6, a small L4 header. */
interface Packet {
  vlan?: number[];
  src: string;
  dst: string;
  proto: number;
  /** TCP, UDP, SCTP. */
  ports?: [src: number, dst: number];
  /** ICMP, ICMPv6: type and code. */
  icmp?: [type: number, code: number];
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;

function frame(packet: Packet): Buffer {
  const l4 = transportHeader(packet);
  const src = ipAddressBytes(packet.src);
  const dst = ipAddressBytes(packet.dst);
  const ip = src.length === 4 ? ipv4Header(src, dst, packet.proto, l4.length) : ipv6Header(src, dst, packet.proto, l4.length);
  return Buffer.concat([ethernetHeader(packet.vlan ?? [], src.length === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6), ip, l4]);
}

function ethernetHeader(vlanIds: readonly number[], ethertype: number): Buffer {
  const header = Buffer.alloc(12 + 4 * vlanIds.length + 2);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(header, 0);
  vlanIds.forEach((id, index) => {
    // QinQ: the service tag outside (802.1ad), the customer tag inside.
    const tpid = vlanIds.length > 1 && index === 0 ? TPID_8021AD : TPID_8021Q;
    header.writeUInt16BE(tpid, 12 + 4 * index);
    header.writeUInt16BE(id, 14 + 4 * index);
  });
  header.writeUInt16BE(ethertype, header.length - 2);
  return header;
}

function ipv4Header(src: Buffer, dst: Buffer, proto: number, payloadBytes: number): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + payloadBytes, 2);
  header[8] = 64;
  header[9] = proto;
  src.copy(header, 12);
  dst.copy(header, 16);
  return header;
}

function ipv6Header(src: Buffer, dst: Buffer, proto: number, payloadBytes: number): Buffer {
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x6000_0000, 0);
  header.writeUInt16BE(payloadBytes, 4);
  header[6] = proto;
  header[7] = 64;
  src.copy(header, 8);
  dst.copy(header, 24);
  return header;
}

const L4_HEADER_BYTES: Readonly<Record<number, number>> = { 6: 20, 17: 8, 132: 12, 1: 8, 58: 8 };

function transportHeader({ proto, ports, icmp }: Packet): Buffer {
  const header = Buffer.alloc(L4_HEADER_BYTES[proto] ?? 4);
  if (ports !== undefined) {
    header.writeUInt16BE(ports[0], 0);
    header.writeUInt16BE(ports[1], 2);
  }
  if (proto === 6) header[12] = 0x50; // data offset: 5 words
  if (proto === 17) header.writeUInt16BE(8, 4);
  if (icmp !== undefined) [header[0], header[1]] = icmp;
  return header;
}

// --- tcpdump --------------------------------------------------------------------

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-flow-filter-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Indexes of the packets `filter` matches, as tcpdump (libpcap) judges them in a file. */
async function matchedIndexes(packets: readonly Packet[], filter: string, name: string): Promise<number[]> {
  const records = packets.flatMap((packet, index) => {
    const data = frame(packet);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(index + 1, 0); // the second number names the packet in tcpdump's output
    record.writeUInt32LE(data.length, 8);
    record.writeUInt32LE(data.length, 12);
    return [record, data];
  });
  const path = join(dir, `${name}.pcap`);
  await writeFile(path, Buffer.concat([pcapHeader(), ...records]));
  const out = await run('tcpdump', ['-nn', '-tt', '-r', path, filter]);
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number.parseInt(line, 10) - 1);
}

// --- cases ----------------------------------------------------------------------

/** An alert event as Suricata 7 writes it, reduced to the keys the filter depends on and a few others. */
function eve(flow: Record<string, unknown>): Record<string, unknown> {
  return {
    timestamp: '2026-11-29T10:11:12.123456+0000',
    flow_id: 1718327439123456,
    in_iface: 'eth0',
    event_type: 'alert',
    ...flow,
    pkt_src: 'wire/pcap',
    alert: { action: 'allowed', gid: 1, signature_id: 1000001, rev: 1, signature: 'LOCAL test', category: '', severity: 3 },
    host: 'sensor-01',
  };
}

interface FilterCase {
  name: string;
  event: Record<string, unknown>;
  filter: string;
  description: string;
  /** The flow's packets, both directions: all must match. */
  flow: Packet[];
  /** Near misses: none may match. */
  others: Packet[];
}

const A4 = '10.20.0.15';
const B4 = '203.0.113.10';
const C4 = '203.0.113.11';
const A6 = '2001:db8::15';
const B6 = '2001:db8:ff::443';
const C6 = '2001:db8:ff::444';

const tcp4 = (src: string, dst: string, sport: number, dport: number, vlan?: number[]): Packet => ({
  src,
  dst,
  proto: 6,
  ports: [sport, dport],
  ...(vlan === undefined ? {} : { vlan }),
});
const udp4 = (src: string, dst: string, sport: number, dport: number, vlan?: number[]): Packet => ({
  src,
  dst,
  proto: 17,
  ports: [sport, dport],
  ...(vlan === undefined ? {} : { vlan }),
});

const CASES: FilterCase[] = [
  {
    name: 'tcp-v4',
    event: eve({ src_ip: A4, src_port: 51234, dest_ip: B4, dest_port: 80, proto: 'TCP' }),
    filter:
      `tcp and ((ip src host ${A4} and src port 51234 and ip dst host ${B4} and dst port 80) or ` +
      `(ip src host ${B4} and src port 80 and ip dst host ${A4} and dst port 51234))`,
    description: `tcp ${A4}:51234 <-> ${B4}:80`,
    flow: [tcp4(A4, B4, 51234, 80), tcp4(B4, A4, 80, 51234)],
    others: [
      tcp4(A4, B4, 51234, 8080),
      tcp4(A4, B4, 51235, 80),
      tcp4(A4, B4, 80, 51234), // the ports paired the other way round
      tcp4(B4, A4, 51234, 80),
      tcp4(A4, C4, 51234, 80),
      udp4(A4, B4, 51234, 80),
      tcp4(A4, B4, 51234, 80, [100]), // the event saw no tag
      { src: A6, dst: B6, proto: 6, ports: [51234, 80] },
    ],
  },
  {
    name: 'udp-v4',
    event: eve({ src_ip: A4, src_port: 53211, dest_ip: '198.51.100.53', dest_port: 53, proto: 'UDP' }),
    filter:
      `udp and ((ip src host ${A4} and src port 53211 and ip dst host 198.51.100.53 and dst port 53) or ` +
      `(ip src host 198.51.100.53 and src port 53 and ip dst host ${A4} and dst port 53211))`,
    description: `udp ${A4}:53211 <-> 198.51.100.53:53`,
    flow: [udp4(A4, '198.51.100.53', 53211, 53), udp4('198.51.100.53', A4, 53, 53211)],
    others: [
      udp4(A4, '198.51.100.53', 53212, 53),
      udp4(A4, '198.51.100.54', 53211, 53),
      tcp4(A4, '198.51.100.53', 53211, 53),
      udp4('198.51.100.53', A4, 53211, 53),
    ],
  },
  {
    name: 'tcp-v6',
    // IPv6 as Suricata writes it: every zero spelled out.
    event: eve({
      src_ip: '2001:0db8:0000:0000:0000:0000:0000:0015',
      src_port: 50000,
      dest_ip: '2001:0db8:00ff:0000:0000:0000:0000:0443',
      dest_port: 443,
      proto: 'TCP',
    }),
    filter:
      `tcp and ((ip6 src host ${A6} and src port 50000 and ip6 dst host ${B6} and dst port 443) or ` +
      `(ip6 src host ${B6} and src port 443 and ip6 dst host ${A6} and dst port 50000))`,
    description: `tcp [${A6}]:50000 <-> [${B6}]:443`,
    flow: [
      { src: A6, dst: B6, proto: 6, ports: [50000, 443] },
      { src: B6, dst: A6, proto: 6, ports: [443, 50000] },
    ],
    others: [
      { src: A6, dst: C6, proto: 6, ports: [50000, 443] },
      { src: A6, dst: B6, proto: 6, ports: [443, 50000] },
      { src: A6, dst: B6, proto: 17, ports: [50000, 443] },
      tcp4(A4, B4, 50000, 443),
    ],
  },
  {
    name: 'icmp-echo',
    event: eve({ src_ip: A4, src_port: 0, dest_ip: B4, dest_port: 0, proto: 'ICMP', icmp_type: 8, icmp_code: 0 }),
    filter: `icmp and ip host ${A4} and ip host ${B4}`,
    description: `icmp ${A4} <-> ${B4} type 8 code 0`,
    flow: [
      { src: A4, dst: B4, proto: 1, icmp: [8, 0] },
      { src: B4, dst: A4, proto: 1, icmp: [0, 0] },
      { src: B4, dst: A4, proto: 1, icmp: [3, 3] }, // any ICMP between the two: EVE names no echo id
    ],
    others: [
      { src: A4, dst: C4, proto: 1, icmp: [8, 0] },
      { src: C4, dst: A4, proto: 1, icmp: [0, 0] },
      tcp4(A4, B4, 1, 2),
      { src: A6, dst: B6, proto: 58, icmp: [128, 0] },
    ],
  },
  {
    name: 'icmp6-echo',
    event: eve({ src_ip: A6, src_port: 0, dest_ip: B6, dest_port: 0, proto: 'IPv6-ICMP', icmp_type: 128, icmp_code: 0 }),
    filter: `icmp6 and ip6 host ${A6} and ip6 host ${B6}`,
    description: `icmp6 ${A6} <-> ${B6} type 128 code 0`,
    flow: [
      { src: A6, dst: B6, proto: 58, icmp: [128, 0] },
      { src: B6, dst: A6, proto: 58, icmp: [129, 0] },
    ],
    others: [
      { src: A6, dst: C6, proto: 58, icmp: [128, 0] },
      { src: A6, dst: B6, proto: 17, ports: [128, 0] },
      { src: A4, dst: B4, proto: 1, icmp: [8, 0] },
    ],
  },
  {
    name: 'sctp',
    event: eve({ src_ip: '10.30.0.5', src_port: 2905, dest_ip: '10.30.0.6', dest_port: 2905, proto: 'SCTP' }),
    filter:
      'sctp and ((ip src host 10.30.0.5 and src port 2905 and ip dst host 10.30.0.6 and dst port 2905) or ' +
      '(ip src host 10.30.0.6 and src port 2905 and ip dst host 10.30.0.5 and dst port 2905))',
    description: 'sctp 10.30.0.5:2905 <-> 10.30.0.6:2905',
    flow: [
      { src: '10.30.0.5', dst: '10.30.0.6', proto: 132, ports: [2905, 2905] },
      { src: '10.30.0.6', dst: '10.30.0.5', proto: 132, ports: [2905, 2905] },
    ],
    others: [
      { src: '10.30.0.5', dst: '10.30.0.6', proto: 132, ports: [2905, 2906] },
      { src: '10.30.0.5', dst: '10.30.0.7', proto: 132, ports: [2905, 2905] },
      tcp4('10.30.0.5', '10.30.0.6', 2905, 2905),
    ],
  },
  {
    name: 'vlan',
    event: eve({ vlan: [100], src_ip: '192.168.100.50', src_port: 49822, dest_ip: '192.168.100.7', dest_port: 22, proto: 'TCP' }),
    filter:
      'vlan 100 and (tcp and ((ip src host 192.168.100.50 and src port 49822 and ip dst host 192.168.100.7 and dst port 22) or ' +
      '(ip src host 192.168.100.7 and src port 22 and ip dst host 192.168.100.50 and dst port 49822)))',
    description: 'tcp 192.168.100.50:49822 <-> 192.168.100.7:22 vlan 100',
    flow: [tcp4('192.168.100.50', '192.168.100.7', 49822, 22, [100]), tcp4('192.168.100.7', '192.168.100.50', 22, 49822, [100])],
    others: [
      tcp4('192.168.100.50', '192.168.100.7', 49822, 22), // untagged
      tcp4('192.168.100.50', '192.168.100.7', 49822, 22, [200]),
      tcp4('192.168.100.7', '192.168.100.50', 22, 49822, [101]),
      tcp4('192.168.100.50', '192.168.100.7', 49822, 22, [100, 200]),
      tcp4('192.168.100.50', '192.168.100.8', 49822, 22, [100]),
    ],
  },
  {
    name: 'qinq',
    event: eve({ vlan: [100, 200], src_ip: '172.16.200.9', src_port: 40000, dest_ip: '172.16.200.1', dest_port: 161, proto: 'UDP' }),
    filter:
      'vlan 100 and vlan 200 and (udp and ((ip src host 172.16.200.9 and src port 40000 and ip dst host 172.16.200.1 and dst port 161) or ' +
      '(ip src host 172.16.200.1 and src port 161 and ip dst host 172.16.200.9 and dst port 40000)))',
    description: 'udp 172.16.200.9:40000 <-> 172.16.200.1:161 vlan 100,200',
    flow: [udp4('172.16.200.9', '172.16.200.1', 40000, 161, [100, 200]), udp4('172.16.200.1', '172.16.200.9', 161, 40000, [100, 200])],
    others: [
      udp4('172.16.200.9', '172.16.200.1', 40000, 161),
      udp4('172.16.200.9', '172.16.200.1', 40000, 161, [100]),
      udp4('172.16.200.9', '172.16.200.1', 40000, 161, [200]),
      udp4('172.16.200.9', '172.16.200.1', 40000, 161, [200, 100]),
      udp4('172.16.200.1', '172.16.200.9', 161, 40000, [100, 300]),
    ],
  },
  {
    name: 'gre',
    event: eve({ src_ip: '198.51.100.1', src_port: 0, dest_ip: '198.51.100.2', dest_port: 0, proto: 'GRE' }),
    filter: 'ip proto 47 and ip host 198.51.100.1 and ip host 198.51.100.2',
    description: 'proto 47 198.51.100.1 <-> 198.51.100.2',
    flow: [
      { src: '198.51.100.1', dst: '198.51.100.2', proto: 47 },
      { src: '198.51.100.2', dst: '198.51.100.1', proto: 47 },
    ],
    others: [
      { src: '198.51.100.1', dst: '198.51.100.2', proto: 50 },
      { src: '198.51.100.1', dst: '198.51.100.3', proto: 47 },
      udp4('198.51.100.1', '198.51.100.2', 4754, 4754),
    ],
  },
  {
    name: 'other-v6',
    event: eve({ src_ip: A6, src_port: 0, dest_ip: B6, dest_port: 0, proto: '253' }),
    filter: `ip6 proto 253 and ip6 host ${A6} and ip6 host ${B6}`,
    description: `proto 253 ${A6} <-> ${B6}`,
    flow: [
      { src: A6, dst: B6, proto: 253 },
      { src: B6, dst: A6, proto: 253 },
    ],
    others: [
      { src: A6, dst: B6, proto: 254 },
      { src: A6, dst: C6, proto: 253 },
      { src: A4, dst: B4, proto: 253 },
    ],
  },
];

describe('flowFilter', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('writes the %s flow as the expected filter, which libpcap compiles', (_name, c) => {
    const filter = flowFilter(parseEveAlert(c.event));
    expect(filter).toBe(c.filter);
    expect(validateFilter(filter).instructions).toBeGreaterThan(0);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('matches both directions of the %s flow and none of its near misses', async (name, c) => {
    const packets = [...c.flow, ...c.others];
    const matched = await matchedIndexes(packets, flowFilter(parseEveAlert(c.event)), name);
    expect(matched).toEqual(c.flow.map((_packet, index) => index));
  });
});

describe('flowFilter at the edges', () => {
  it.each<[string, Record<string, unknown>]>([
    ['ports 0 and 65535', { src_ip: A4, src_port: 0, dest_ip: B4, dest_port: 65535, proto: 'TCP' }],
    ['one host talking to itself', { src_ip: A4, src_port: 7, dest_ip: A4, dest_port: 7, proto: 'UDP' }],
    ['VLAN ids 0 and 4095', { vlan: [0, 4095], src_ip: A4, src_port: 1, dest_ip: B4, dest_port: 2, proto: 'SCTP' }],
    ['IPv4-mapped IPv6 addresses', { src_ip: '::ffff:10.0.0.1', src_port: 1, dest_ip: '::ffff:10.0.0.2', dest_port: 2, proto: 'UDP' }],
    [
      'link-local to multicast ICMPv6',
      { src_ip: 'fe80:0000:0000:0000:0200:86ff:fe05:80da', dest_ip: 'ff02::1', proto: 'IPv6-ICMP', icmp_type: 134, icmp_code: 0 },
    ],
    ['the unspecified address', { src_ip: '::', dest_ip: '::1', proto: '0' }],
  ])('compiles for %s', (_name, flow) => {
    expect(validateFilter(flowFilter(parseEveAlert(eve(flow)))).instructions).toBeGreaterThan(0);
  });
});

describe('describeFlow', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('describes the %s flow in one line', (_name, c) => {
    expect(describeFlow(parseEveAlert(c.event))).toBe(c.description);
  });

  it('leaves out ICMP type and code the event did not give', () => {
    const alert = parseEveAlert({ src_ip: A4, dest_ip: B4, proto: 'ICMP' });
    expect(describeFlow(alert)).toBe(`icmp ${A4} <-> ${B4}`);
    expect(flowFilter(alert)).toBe(`icmp and ip host ${A4} and ip host ${B4}`);
  });
});
