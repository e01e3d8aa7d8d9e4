/**
 * Community ID v1 (github.com/corelight/community-id-spec): the flow hash
 * Suricata writes as `community_id` and Zeek, Arkime and Elastic index, so a
 * capture can be tied to the alert that asked for it. Checked against the
 * reference package `communityid` 1.5.0 (test/flows/community-id.test.ts).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/** IP protocol numbers the spec treats specially. */
export const IP_PROTOCOL = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132 } as const;

/** Protocols whose flow is a 5-tuple with ports. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([IP_PROTOCOL.TCP, IP_PROTOCOL.UDP, IP_PROTOCOL.SCTP]);
export const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([IP_PROTOCOL.ICMP, IP_PROTOCOL.ICMPV6]);

export interface FlowTuple {
  /** IP protocol number, 0..255. */
  proto: number;
  srcIp: string;
  dstIp: string;
  /** TCP, UDP and SCTP only, and required there. */
  srcPort?: number;
  dstPort?: number;
  /** ICMP and ICMPv6 only, and required there. */
  icmpType?: number;
  icmpCode?: number;
}

const VERSION_PREFIX = '1:';

/**
 * "1:" + base64(sha1(seed . saddr . daddr . proto . 0 . sport . dport)), the
 * endpoints ordered so the smaller (address, port) comes first unless the
 * flow is a one-way ICMP message. Throws RangeError on a tuple that is not a
 * flow (bad address, mixed families, missing or out-of-range ports).
 */
export function communityId(flow: FlowTuple, seed = 0): string {
  checkInteger('seed', seed, 0xffff);
  checkInteger('proto', flow.proto, 0xff);
  const src = ipAddressBytes(flow.srcIp);
  const dst = ipAddressBytes(flow.dstIp);
  if (src.length !== dst.length) {
    throw new RangeError(`srcIp ${flow.srcIp} and dstIp ${flow.dstIp} are of different IP families`);
  }
  const ports = hashedPorts(flow);
  const ordered = inHashOrder({ src, dst, ports });
  const head = Buffer.alloc(2);
  head.writeUInt16BE(seed);
  const protoAndPadding = Buffer.from([flow.proto, 0]);
  const parts = [head, ordered.src, ordered.dst, protoAndPadding];
  if (ordered.ports !== undefined) parts.push(portBytes(ordered.ports.src), portBytes(ordered.ports.dst));
  return VERSION_PREFIX + createHash('sha1').update(Buffer.concat(parts)).digest('base64');
}

interface HashedPorts {
  src: number;
  dst: number;
  /** ICMP messages with no reply type are hashed in the direction seen, never flipped. */
  oneWay: boolean;
}

function hashedPorts(flow: FlowTuple): HashedPorts | undefined {
  if (PORT_PROTOCOLS.has(flow.proto)) {
    return {
      src: checkInteger('srcPort', flow.srcPort, 0xffff),
      dst: checkInteger('dstPort', flow.dstPort, 0xffff),
      oneWay: false,
    };
  }
  if (ICMP_PROTOCOLS.has(flow.proto)) {
    const type = checkInteger('icmpType', flow.icmpType, 0xff);
    const code = checkInteger('icmpCode', flow.icmpCode, 0xff);
    const counterparts = flow.proto === IP_PROTOCOL.ICMP ? ICMP_COUNTERPART_TYPE : ICMPV6_COUNTERPART_TYPE;
    const counterpart = counterparts.get(type);
    // Zeek's mapping, which the spec adopts: a request/reply type pairs with
    // its counterpart (so both directions hash alike) and the code is dropped.
    return counterpart === undefined ? { src: type, dst: code, oneWay: true } : { src: type, dst: counterpart, oneWay: false };
  }
  // Other protocols hash addresses and protocol only, whatever ports a caller has.
  return undefined;
}

interface HashInput {
  src: Buffer;
  dst: Buffer;
  ports: HashedPorts | undefined;
}

function inHashOrder(input: HashInput): HashInput {
  const { src, dst, ports } = input;
  if (ports?.oneWay === true) return input;
  const byAddress = Buffer.compare(src, dst);
  const ordered = byAddress < 0 || (byAddress === 0 && ports !== undefined && ports.src < ports.dst);
  if (ordered) return input;
  return { src: dst, dst: src, ports: ports === undefined ? undefined : { src: ports.dst, dst: ports.src, oneWay: false } };
}

function counterpartMap(pairs: ReadonlyArray<readonly [number, number]>): ReadonlyMap<number, number> {
  return new Map(pairs.flatMap(([a, b]) => [[a, b] as const, [b, a] as const]));
}

// Echo, router advertisement/solicitation, timestamp, information, address mask.
const ICMP_COUNTERPART_TYPE = counterpartMap([
  [8, 0],
  [9, 10],
  [13, 14],
  [15, 16],
  [17, 18],
]);
// Echo, MLD query/report, router and neighbor discovery, who-are-you, home agent address discovery.
const ICMPV6_COUNTERPART_TYPE = counterpartMap([
  [128, 129],
  [130, 131],
  [133, 134],
  [135, 136],
  [139, 140],
  [144, 145],
]);

function portBytes(port: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(port);
  return bytes;
}

function checkInteger(name: string, value: number | undefined, max: number): number {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer 0..${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * The 4 or 16 network-order bytes of an IPv4 or IPv6 address in text form
 * (IPv6 with `::` compression and an embedded IPv4 tail allowed). Throws
 * RangeError otherwise, and on a zone index (fe80::1%eth0), which no flow
 * hash includes.
 */
export function ipAddressBytes(text: string): Buffer {
  if (text.includes('%')) throw new RangeError(`${JSON.stringify(text)}: a zone index is not part of a flow address`);
  switch (isIP(text)) {
    case 4:
      return Buffer.from(text.split('.').map(Number));
    case 6:
      return ipv6Bytes(text);
    default:
      throw new RangeError(`${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  }
}

const IPV6_GROUPS = 8;

/** `text` has passed isIP(): only the layout is left to decode. */
function ipv6Bytes(text: string): Buffer {
  const [head = '', tail] = withoutIpv4Tail(text).split('::');
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const headGroups = groupsOf(head);
  const tailGroups = tail === undefined ? [] : groupsOf(tail);
  const zeros: string[] = Array.from({ length: IPV6_GROUPS - headGroups.length - tailGroups.length }, () => '0');
  const bytes = Buffer.alloc(16);
  [...headGroups, ...zeros, ...tailGroups].forEach((group, index) => bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2));
  return bytes;
}

/** ::ffff:10.0.0.1 -> ::ffff:a00:1, so every group is hexadecimal. */
function withoutIpv4Tail(text: string): string {
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (!tail.includes('.')) return text;
  const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
  return `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}
