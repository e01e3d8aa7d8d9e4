/**
 * Suricata EVE alert events as Suricata 7 writes them to eve.json (keys in its
 * order, flow_id a bare 64-bit integer), for the flows a test makes. Fields
 * can be replaced or dropped (`undefined`).
 */
import { quoteFlowIds } from '../../src/requests/eve-message.js';

export interface EveFlow {
  srcIp: string;
  srcPort?: number | undefined;
  destIp: string;
  destPort?: number | undefined;
  /** Suricata's name: "TCP", "UDP", "ICMP", "IPv6-ICMP", "SCTP". */
  proto: string;
  inIface?: string | undefined;
  host?: string | undefined;
  /** Digits; written bare, as Suricata does. */
  flowId?: string | undefined;
  signatureId?: number | undefined;
  signature?: string | undefined;
  vlan?: number[] | undefined;
  icmpType?: number | undefined;
  icmpCode?: number | undefined;
  /** The flow's start (ISO 8601). */
  flowStart?: string | undefined;
}

/** Suricata's timestamp format: microseconds and a +0000 offset. */
export function suricataTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
}

/** One EVE line (a string, so flow_id stays a bare integer however large). */
export function eveAlertLine(flow: EveFlow, at = new Date()): string {
  const event: Record<string, unknown> = {
    timestamp: suricataTime(at),
    flow_id: '__FLOW_ID__',
    in_iface: flow.inIface,
    event_type: 'alert',
    vlan: flow.vlan,
    src_ip: flow.srcIp,
    src_port: flow.srcPort ?? 0,
    dest_ip: flow.destIp,
    dest_port: flow.destPort ?? 0,
    proto: flow.proto,
    icmp_type: flow.icmpType,
    icmp_code: flow.icmpCode,
    pkt_src: 'wire/pcap',
    alert: {
      action: 'allowed',
      gid: 1,
      signature_id: flow.signatureId ?? 2_100_498,
      rev: 7,
      signature: flow.signature ?? 'GPL ATTACK_RESPONSE id check returned root',
      category: 'Potentially Bad Traffic',
      severity: 2,
    },
    direction: 'to_server',
    flow: {
      pkts_toserver: 3,
      pkts_toclient: 2,
      bytes_toserver: 300,
      bytes_toclient: 200,
      start: suricataTime(flow.flowStart === undefined ? at : new Date(flow.flowStart)),
    },
    host: flow.host,
  };
  return JSON.stringify(event).replace('"__FLOW_ID__"', flow.flowId ?? String(1_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9))));
}

/** The same event as an object (flow_id as its digits, which pcapd accepts). */
export function eveAlert(flow: EveFlow, at = new Date()): Record<string, unknown> {
  return JSON.parse(quoteFlowIds(eveAlertLine(flow, at))) as Record<string, unknown>;
}
