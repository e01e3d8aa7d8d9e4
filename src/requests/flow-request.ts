/**
 * A request carrying a Suricata alert (`eve`) instead of a BPF: the flow it
 * names, the node and interface it is captured on, the filter, and how the
 * capture ends. parse.ts calls these in the same order as for any request.
 */
import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import { shorten } from '../text.js';
import { communityId, IP_PROTOCOL } from '../flows/community-id.js';
import { parseEveAlert, type FlowAlert } from '../flows/eve.js';
import { describeFlow, flowFilter } from '../flows/flow-filter.js';
import { requestedInterfaces, type InterfaceChoice } from './interfaces.js';
import type { JobFlow } from '../model/job.js';
import { ANY_NODE, nodeTargetOf, type NodeTarget } from './node-match.js';
import type { CaptureRequest } from '../model/request.js';

export interface FlowRequest {
  flow: JobFlow;
  filter: string;
}

/** Throws PCAPD_ERR_EVE_INVALID (or PCAPD_ERR_REQUEST_INVALID for a request that also names a bpf). */
export function flowRequestOf(request: CaptureRequest, config: Config): FlowRequest | undefined {
  if (request.eve === undefined) return undefined;
  if (request.bpf !== undefined && request.bpf !== '') {
    throw new PcapdError('PCAPD_ERR_REQUEST_INVALID', "/bpf: a request with eve captures the alert's flow; name bpf or eve, not both");
  }
  const alert = parseEveAlert(request.eve);
  const computed = flowCommunityId(alert);
  const { flows } = config;
  const flow: JobFlow = {
    alert,
    key: flowKey(alert, computed),
    description: describeFlow(alert),
    tcpClose: alert.transport.proto === IP_PROTOCOL.TCP,
    idleSeconds: idleSecondsOf(alert, flows),
  };
  if (computed !== undefined) flow.communityId = computed;
  return { flow, filter: flowFilter(alert) };
}

/**
 * The request's node or nodere when it names one; else the sensor that
 * raised the alert (flows.matchhost), so an alert fanned out to every sensor
 * is captured where it happened; else every node.
 */
export function flowNodeTarget(request: CaptureRequest, alert: FlowAlert, config: Config): NodeTarget {
  if (request.node !== undefined || request.nodere !== undefined) return nodeTargetOf(request);
  if (config.flows.matchhost && alert.host !== undefined) return { kind: 'node', node: alert.host };
  return { kind: 'node', node: ANY_NODE };
}

/**
 * The interface the alert was seen on when this node has it; else what the
 * request names; else flows.interface (an interface or an alias).
 */
export function flowInterfaceChoice(request: CaptureRequest, alert: FlowAlert, config: Config, interfaceExists: (name: string) => boolean): InterfaceChoice {
  if (alert.inIface !== undefined && interfaceExists(alert.inIface)) return { kind: 'interface', names: [alert.inIface] };
  const named = requestedInterfaces(request);
  if (named !== undefined) return named;
  const fallback = config.flows.interface;
  if (fallback !== '') {
    const isAlias = config.interface.some((block) => block.alias.includes(fallback));
    return isAlias ? { kind: 'alias', aliases: [fallback] } : { kind: 'interface', names: [fallback] };
  }
  if (alert.inIface !== undefined) {
    throw new PcapdError(
      'PCAPD_ERR_INTERFACE_UNKNOWN',
      `/eve/in_iface: interface ${JSON.stringify(shorten(alert.inIface))} does not exist on this host, and neither the request (interface, alias) nor flows.interface names another`,
    );
  }
  throw new PcapdError(
    'PCAPD_ERR_REQUEST_INTERFACE',
    'the alert has no in_iface, and neither the request (interface, alias) nor flows.interface names an interface',
  );
}

/**
 * Seconds before the request a flow capture starts on a warm interface: back
 * to the flow's start when the alert says when that was (plus a second for
 * clock granularity), else flows.lookback; at most what the ring keeps.
 */
export function flowLookbackSeconds(alert: FlowAlert, config: Config, nowMs: number, ringSeconds: number): number {
  const wanted = alert.flowStart === undefined ? config.flows.lookback : Math.ceil((nowMs - alert.flowStart.ms) / 1000) + 1;
  return Math.max(0, Math.min(wanted, config.general.maxlookback, ringSeconds));
}

/** Community ID of the alert's tuple; none for ICMP without a type, which the spec cannot hash. */
function flowCommunityId(alert: FlowAlert): string | undefined {
  const { srcIp, dstIp, transport } = alert;
  switch (transport.kind) {
    case 'ports':
      return communityId({ proto: transport.proto, srcIp, dstIp, srcPort: transport.srcPort, dstPort: transport.dstPort });
    case 'icmp':
      if (transport.icmpType === undefined) return undefined;
      return communityId({ proto: transport.proto, srcIp, dstIp, icmpType: transport.icmpType, icmpCode: transport.icmpCode ?? 0 });
    case 'ip':
      return communityId({ proto: transport.proto, srcIp, dstIp });
    default: {
      const unreachable: never = transport;
      return unreachable;
    }
  }
}

/**
 * Suricata's flow_id names one flow of one Suricata instance; without it the
 * Community ID does, qualified by VLAN ids and interface, which it leaves out.
 */
function flowKey(alert: FlowAlert, computed: string | undefined): string {
  if (alert.flowId !== undefined) return `flow_id ${alert.flowId}${alert.host === undefined ? '' : ` host ${alert.host}`}`;
  return `${computed ?? describeFlow(alert)} vlan ${alert.vlanIds.join('.')} iface ${alert.inIface ?? ''}`;
}

function idleSecondsOf(alert: FlowAlert, flows: Config['flows']): number {
  switch (alert.transport.proto) {
    case IP_PROTOCOL.TCP:
      return flows.tcpidle;
    case IP_PROTOCOL.UDP:
      return flows.udpidle;
    case IP_PROTOCOL.ICMP:
    case IP_PROTOCOL.ICMPV6:
      return flows.icmpidle;
    default:
      return flows.otheridle;
  }
}
