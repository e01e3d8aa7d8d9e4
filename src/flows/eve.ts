/**
 * parseEveAlert(): one Suricata EVE `alert` event (untrusted, already
 * JSON-parsed) -> the FlowAlert pcapd can capture, or PCAPD_ERR_EVE_INVALID
 * naming the field that is wrong. Fields are read as Suricata 7 writes them
 * (src/output-json.c CreateEveHeader, src/output-json-alert.c); every other
 * key is ignored, because Suricata adds keys with every release and with each
 * eve-log option (flow, metadata, ether, tx_id, …).
 *
 * flow_id is a 64-bit integer that EVE writes as a bare JSON number, and
 * JSON.parse rounds integers above 2^53 without a word (Node 20 has no
 * JSON.parse source access). Callers must parse the line so that big
 * integers survive (as bigint or as their digits), or the sender must write
 * flow_id as a string; a number that was already rounded is refused rather
 * than kept wrong.
 */
import { isIP, SocketAddress } from 'node:net';

import { z } from 'zod';

import { PcapdError } from '../errors.js';
import { jsonPointer, valueAt } from '../json.js';
import { IP_PROTOCOL } from './community-id.js';

export type PortProtocol = typeof IP_PROTOCOL.TCP | typeof IP_PROTOCOL.UDP | typeof IP_PROTOCOL.SCTP;
export type IcmpProtocol = typeof IP_PROTOCOL.ICMP | typeof IP_PROTOCOL.ICMPV6;

/** What names the flow above IP. */
export type FlowTransport =
  | { kind: 'ports'; proto: PortProtocol; srcPort: number; dstPort: number }
  // Suricata writes type and code of the alerting packet; either may be absent in other producers' events.
  | { kind: 'icmp'; proto: IcmpProtocol; icmpType?: number; icmpCode?: number }
  | { kind: 'ip'; proto: number };

export interface AlertSignature {
  id: number;
  text?: string;
  gid?: number;
  rev?: number;
  category?: string;
  severity?: number;
  /** "allowed" or "blocked" (IPS mode). */
  action?: string;
}

export interface EveTimestamp {
  /** Epoch milliseconds (the microseconds Suricata writes are cut). */
  ms: number;
  /** As Suricata wrote it, e.g. "2026-11-29T10:11:12.123456+0000". */
  text: string;
}

export interface FlowAlert {
  family: 4 | 6;
  /** Canonical text (IPv6 compressed as RFC 5952 says; Suricata writes every zero). */
  srcIp: string;
  dstIp: string;
  transport: FlowTransport;
  /** 802.1Q VLAN ids of the alerting packet, outermost first; empty when it was untagged. */
  vlanIds: number[];
  /** Decimal digits, exact: a string, not a bigint, so log lines and result events can carry it. */
  flowId?: string;
  /** As Suricata wrote it; not recomputed (Suricata's hash departs from the spec for some ICMP and non-port flows). */
  communityId?: string;
  /** When the alerting packet was seen. */
  timestamp?: EveTimestamp;
  /** When Suricata saw the flow's first packet (`flow.start`, written in alerts since Suricata 7). */
  flowStart?: EveTimestamp;
  inIface?: string;
  /** The sensor name (eve-log `sensor-name`). */
  host?: string;
  appProto?: string;
  pktSrc?: string;
  signature?: AlertSignature;
}

/** Suricata 7 writes at most three VLAN layers; pcapd follows at most two (802.1Q and QinQ). */
export const MAX_VLAN_LAYERS = 2;
const MAX_TEXT_CHARS = 1024;
const MAX_NAME_CHARS = 256;
const MAX_ADDRESS_CHARS = 64;
const UINT32_MAX = 0xffff_ffff;
const UINT64_MAX = 2n ** 64n - 1n;

/** Throws PcapdError PCAPD_ERR_EVE_INVALID naming the first field that is wrong. */
export function parseEveAlert(raw: unknown): FlowAlert {
  const result = EveAlertSchema.safeParse(raw);
  if (!result.success) throw issueError(result.error.issues[0], raw);
  return flowAlertOf(result.data);
}

// --- schema -------------------------------------------------------------------

const text = (maxChars: number) => z.string({ error: `expected a string of at most ${maxChars} characters` }).max(maxChars);
const integer = (max: number) =>
  z
    .int({ error: `expected an integer 0..${max}` })
    .min(0)
    .max(max);
const ADDRESS = 'expected an IPv4 or IPv6 address';
const ipAddress = () =>
  z
    .string({ error: ADDRESS })
    .max(MAX_ADDRESS_CHARS)
    // A zone index (fe80::1%eth0) names no address on the wire.
    .refine((value) => isIP(value) !== 0 && !value.includes('%'), { error: ADDRESS });

const TIME_EXPECTED = 'expected a timestamp such as 2026-11-29T10:11:12.123456+0000';
const eveTime = () =>
  z
    .string({ error: TIME_EXPECTED })
    .max(64)
    .transform((value, ctx): EveTimestamp => {
      const ms = suricataTimeMs(value);
      if (ms !== undefined) return { ms, text: value };
      ctx.issues.push({ code: 'custom', message: TIME_EXPECTED, input: value });
      return z.NEVER;
    });

const PROTO_EXPECTED = 'expected a protocol as Suricata writes it: TCP, UDP, SCTP, ICMP, IPv6-ICMP, another IANA keyword (GRE, ESP, …) or a number 0..255';

const EveAlertSchema = z.object(
  {
    timestamp: eveTime().optional(),
    flow_id: z
      .unknown()
      .transform((value, ctx) => {
        const id = exactFlowId(value);
        if (id.ok) return id.digits;
        ctx.issues.push({ code: 'custom', message: id.problem, input: value });
        return z.NEVER;
      })
      .optional(),
    in_iface: text(MAX_NAME_CHARS).optional(),
    event_type: z.literal('alert', { error: 'expected "alert": only alert events name a flow to capture' }).optional(),
    src_ip: ipAddress(),
    src_port: integer(0xffff).optional(),
    dest_ip: ipAddress(),
    dest_port: integer(0xffff).optional(),
    proto: z
      .string({ error: PROTO_EXPECTED })
      .max(32)
      .transform((value, ctx) => {
        const proto = protocolNumber(value);
        if (proto !== undefined) return proto;
        ctx.issues.push({ code: 'custom', message: PROTO_EXPECTED, input: value });
        return z.NEVER;
      }),
    icmp_type: integer(0xff).optional(),
    icmp_code: integer(0xff).optional(),
    vlan: z
      .array(integer(4095), { error: `expected an array of at most ${MAX_VLAN_LAYERS} VLAN ids` })
      .max(MAX_VLAN_LAYERS)
      .optional(),
    community_id: text(128).optional(),
    host: text(MAX_NAME_CHARS).optional(),
    app_proto: text(MAX_NAME_CHARS).optional(),
    pkt_src: text(MAX_NAME_CHARS).optional(),
    alert: z
      .object(
        {
          signature_id: integer(UINT32_MAX),
          signature: text(MAX_TEXT_CHARS).optional(),
          gid: integer(UINT32_MAX).optional(),
          rev: integer(UINT32_MAX).optional(),
          category: text(MAX_NAME_CHARS).optional(),
          severity: integer(0xff).optional(),
          action: text(32).optional(),
        },
        { error: 'expected an object' },
      )
      .optional(),
    // Suricata 7 adds the flow's counters and start to each alert; the start tells how far back the flow goes.
    flow: z.object({ start: eveTime().optional() }, { error: 'expected an object' }).optional(),
  },
  { error: 'expected a JSON object (one EVE event)' },
);

type EveAlert = z.output<typeof EveAlertSchema>;

// --- fields Zod cannot describe alone -------------------------------------------

// Suricata writes "+0000"; tools that re-serialise EVE write "Z" or "+00:00".
const SURICATA_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):?(\d{2}))$/;

function suricataTimeMs(value: string): number | undefined {
  const match = SURICATA_TIME.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fractionMs = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetSign = match[9] === '-' ? -1 : 1;
  const offsetMinutes = match[8] === 'Z' ? 0 : offsetSign * (Number(match[10]) * 60 + Number(match[11]));
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second, fractionMs);
  const wall = new Date(wallMs);
  // Date.UTC rolls 2026-02-30 over into March: a date that moved was not a date.
  const exists =
    wall.getUTCFullYear() === year &&
    wall.getUTCMonth() === month - 1 &&
    wall.getUTCDate() === day &&
    wall.getUTCHours() === hour &&
    wall.getUTCMinutes() === minute &&
    wall.getUTCSeconds() === second;
  return exists && Math.abs(offsetMinutes) < 24 * 60 ? wallMs - offsetMinutes * 60_000 : undefined;
}

type FlowIdCheck = { ok: true; digits: string } | { ok: false; problem: string };

const FLOW_ID_EXPECTED = 'expected an unsigned 64-bit integer (a number, a bigint or a string of digits)';

function exactFlowId(value: unknown): FlowIdCheck {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return { ok: true, digits: String(value) };
    if (Number.isInteger(value) && value > Number.MAX_SAFE_INTEGER) {
      return {
        ok: false,
        problem:
          'expected an exact integer, and a number above 2^53 was rounded when the JSON was parsed ' +
          '(parse EVE so that big integers survive, or send flow_id as a string)',
      };
    }
    return { ok: false, problem: FLOW_ID_EXPECTED };
  }
  const digits = typeof value === 'bigint' ? value : typeof value === 'string' && /^\d{1,20}$/.test(value) ? BigInt(value) : undefined;
  if (digits === undefined || digits < 0n || digits > UINT64_MAX) return { ok: false, problem: FLOW_ID_EXPECTED };
  return { ok: true, digits: digits.toString() };
}

/**
 * The names Suricata 7 writes for the protocols that carry traffic worth an
 * alert (its table, src/util-proto-name.c, is IANA's keywords); anything it
 * has no name for arrives as digits. Several protocols share the name "Any",
 * which therefore names none.
 */
const PROTOCOL_BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries({
    icmp: 1,
    igmp: 2,
    'ip-in-ip': 4,
    tcp: 6,
    egp: 8,
    udp: 17,
    dccp: 33,
    ipv6: 41,
    rsvp: 46,
    gre: 47,
    esp: 50,
    ah: 51,
    'ipv6-icmp': 58,
    eigrp: 88,
    ospf: 89,
    etherip: 97,
    pim: 103,
    ipcomp: 108,
    vrrp: 112,
    l2tp: 115,
    sctp: 132,
    udplite: 136,
    'mpls-in-ip': 137,
  }),
);

function protocolNumber(value: string): number | undefined {
  if (/^\d{1,3}$/.test(value)) {
    const proto = Number(value);
    return proto <= 0xff ? proto : undefined;
  }
  return PROTOCOL_BY_NAME.get(value.toLowerCase());
}

// --- the FlowAlert --------------------------------------------------------------

function flowAlertOf(event: EveAlert): FlowAlert {
  const family = isIP(event.src_ip) === 4 ? 4 : 6;
  if (isIP(event.dest_ip) !== family) {
    throw invalid(
      `/dest_ip: ${event.dest_ip} is IPv${isIP(event.dest_ip)} and /src_ip ${event.src_ip} is IPv${family}; both ends of a flow have one IP family`,
    );
  }
  const alert: FlowAlert = {
    family,
    srcIp: canonicalAddress(event.src_ip, family),
    dstIp: canonicalAddress(event.dest_ip, family),
    transport: transportOf(event, family),
    vlanIds: event.vlan ?? [],
  };
  // exactOptionalPropertyTypes: absent stays absent, never `key: undefined`.
  if (event.flow_id !== undefined) alert.flowId = event.flow_id;
  if (event.community_id !== undefined) alert.communityId = event.community_id;
  if (event.timestamp !== undefined) alert.timestamp = event.timestamp;
  if (event.flow?.start !== undefined) alert.flowStart = event.flow.start;
  if (event.in_iface !== undefined) alert.inIface = event.in_iface;
  if (event.host !== undefined) alert.host = event.host;
  if (event.app_proto !== undefined) alert.appProto = event.app_proto;
  if (event.pkt_src !== undefined) alert.pktSrc = event.pkt_src;
  if (event.alert !== undefined) alert.signature = signatureOf(event.alert);
  return alert;
}

function transportOf(event: EveAlert, family: 4 | 6): FlowTransport {
  const { proto } = event;
  if (proto === IP_PROTOCOL.TCP || proto === IP_PROTOCOL.UDP || proto === IP_PROTOCOL.SCTP) {
    const name = proto === IP_PROTOCOL.TCP ? 'TCP' : proto === IP_PROTOCOL.UDP ? 'UDP' : 'SCTP';
    if (event.src_port === undefined) throw invalid(`/src_port: missing; ${name} needs both ports`);
    if (event.dest_port === undefined) throw invalid(`/dest_port: missing; ${name} needs both ports`);
    return { kind: 'ports', proto, srcPort: event.src_port, dstPort: event.dest_port };
  }
  if (proto === IP_PROTOCOL.ICMP || proto === IP_PROTOCOL.ICMPV6) {
    const wanted = proto === IP_PROTOCOL.ICMP ? 4 : 6;
    if (family !== wanted) {
      throw invalid(
        proto === IP_PROTOCOL.ICMP
          ? '/proto: ICMP travels over IPv4 and the addresses are IPv6 (ICMPv6 is "IPv6-ICMP")'
          : '/proto: IPv6-ICMP travels over IPv6 and the addresses are IPv4 (ICMP for IPv4 is "ICMP")',
      );
    }
    const transport: Extract<FlowTransport, { kind: 'icmp' }> = { kind: 'icmp', proto };
    if (event.icmp_type !== undefined) transport.icmpType = event.icmp_type;
    if (event.icmp_code !== undefined) transport.icmpCode = event.icmp_code;
    return transport;
  }
  // Suricata 7 writes src_port/dest_port 0 for every protocol; only TCP, UDP and SCTP have ports.
  return { kind: 'ip', proto };
}

function signatureOf(alert: NonNullable<EveAlert['alert']>): AlertSignature {
  const signature: AlertSignature = { id: alert.signature_id };
  if (alert.signature !== undefined) signature.text = alert.signature;
  if (alert.gid !== undefined) signature.gid = alert.gid;
  if (alert.rev !== undefined) signature.rev = alert.rev;
  if (alert.category !== undefined) signature.category = alert.category;
  if (alert.severity !== undefined) signature.severity = alert.severity;
  if (alert.action !== undefined) signature.action = alert.action;
  return signature;
}

/** inet_ntop's form: "2001:0db8:0000:…:0001" (as Suricata writes) -> "2001:db8::1". */
function canonicalAddress(address: string, family: 4 | 6): string {
  return new SocketAddress({ address, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
}

// --- messages -------------------------------------------------------------------

type Issue = z.core.$ZodIssue;

function invalid(message: string): PcapdError {
  return new PcapdError('PCAPD_ERR_EVE_INVALID', message);
}

/** "/src_port: expected an integer 0..65535, got \"80\"": the field, what it takes, what came. */
function issueError(issue: Issue | undefined, raw: unknown): PcapdError {
  if (issue === undefined) return invalid('the event was refused without a reason (a bug)');
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  const field = path.length === 0 ? 'the event' : jsonPointer(path);
  const value = valueAt(raw, path);
  if (value === undefined) return invalid(`${field}: missing; ${issue.message}`);
  return invalid(`${field}: ${issue.message}, got ${describeValue(value)}`);
}

const SHOWN_CHARS = 64;

/** Untrusted text in a message stays readable and bounded. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > SHOWN_CHARS ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length} items`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
