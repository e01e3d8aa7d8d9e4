/**
 * flowFilter(): the libpcap filter that captures one alert's flow, both
 * directions and nothing else; describeFlow(): that flow as one short line
 * for logs.
 */
import { IP_PROTOCOL } from './community-id.js';
import type { FlowAlert, PortProtocol } from './eve.js';

const PORT_PROTOCOL_NAME: Readonly<Record<PortProtocol, string>> = {
  [IP_PROTOCOL.TCP]: 'tcp',
  [IP_PROTOCOL.UDP]: 'udp',
  [IP_PROTOCOL.SCTP]: 'sctp',
};

/**
 * VLAN tags follow the event. Suricata writes `vlan` when the alerting packet
 * was tagged and, by default (vlan.use-for-tracking), keys its flows by those
 * ids, so both directions carry them: the filter asks for exactly those tags,
 * outermost first (each `vlan` keyword moves libpcap past one tag, so the ids
 * come before the match). An event without `vlan` says the packets were
 * untagged, so the match stands alone. `(match) or (vlan … and (match))` is
 * never what an event implies, and would also take the same addresses on
 * every other VLAN, which networks that reuse private ranges per VLAN fill
 * with other hosts' flows.
 */
export function flowFilter(alert: FlowAlert): string {
  const match = flowMatch(alert);
  if (alert.vlanIds.length === 0) return match;
  return [...alert.vlanIds.map((id) => `vlan ${id}`), `(${match})`].join(' and ');
}

/**
 * libpcap's `tcp`, `icmp6` and `ip6 proto` read the first IPv6 next header, and
 * `port` only the first IPv4 fragment: packets behind IPv6 extension headers
 * and later fragments are left out, as in any tcpdump filter of this shape.
 */
function flowMatch({ family, srcIp: a, dstIp: b, transport }: FlowAlert): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  switch (transport.kind) {
    case 'ports': {
      const { srcPort: p, dstPort: q } = transport;
      // Each direction keeps its own host-port pairing: A:P -> B:Q and B:Q -> A:P, never A:Q -> B:P.
      const forward = `${ip} src host ${a} and src port ${p} and ${ip} dst host ${b} and dst port ${q}`;
      const reverse = `${ip} src host ${b} and src port ${q} and ${ip} dst host ${a} and dst port ${p}`;
      return `${PORT_PROTOCOL_NAME[transport.proto]} and ((${forward}) or (${reverse}))`;
    }
    case 'icmp':
      // EVE alerts carry no ICMP echo identifier, so every ICMP message between
      // the two hosts belongs to the capture; errors about the flow sent by a
      // router in between come from a third host and are not included.
      return `${transport.proto === IP_PROTOCOL.ICMP ? 'icmp' : 'icmp6'} and ${ip} host ${a} and ${ip} host ${b}`;
    case 'ip':
      return `${ip} proto ${transport.proto} and ${ip} host ${a} and ${ip} host ${b}`;
    default:
      return unreachable(transport);
  }
}

/** "tcp 10.0.0.1:51234 <-> 10.0.0.2:443", "icmp6 2001:db8::1 <-> 2001:db8::2 type 128 code 0 vlan 100". */
export function describeFlow(alert: FlowAlert): string {
  const { srcIp, dstIp, transport, family } = alert;
  const vlan = alert.vlanIds.length === 0 ? '' : ` vlan ${alert.vlanIds.join(',')}`;
  switch (transport.kind) {
    case 'ports': {
      const host = (ip: string): string => (family === 6 ? `[${ip}]` : ip);
      const name = PORT_PROTOCOL_NAME[transport.proto];
      return `${name} ${host(srcIp)}:${transport.srcPort} <-> ${host(dstIp)}:${transport.dstPort}${vlan}`;
    }
    case 'icmp': {
      const name = transport.proto === IP_PROTOCOL.ICMP ? 'icmp' : 'icmp6';
      const type = transport.icmpType === undefined ? '' : ` type ${transport.icmpType}`;
      const code = transport.icmpCode === undefined ? '' : ` code ${transport.icmpCode}`;
      return `${name} ${srcIp} <-> ${dstIp}${type}${code}${vlan}`;
    }
    case 'ip':
      return `proto ${transport.proto} ${srcIp} <-> ${dstIp}${vlan}`;
    default:
      return unreachable(transport);
  }
}

function unreachable(transport: never): never {
  throw new Error(`unknown flow transport ${JSON.stringify(transport)}`);
}
