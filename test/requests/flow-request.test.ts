/**
 * Requests carrying a Suricata alert (`eve`): the node, interface, filter,
 * end conditions and lookback pcapd derives from it, and what it refuses.
 */
import { describe, expect, it } from 'vitest';

import type { Clock } from '../../src/clock.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { PcapdError } from '../../src/errors.js';
import { eveMessageOf, quoteFlowIds } from '../../src/requests/eve-message.js';
import type { CaptureJob } from '../../src/model/job.js';
import { parseRequest, type ParseContext } from '../../src/requests/parse.js';
import { eveAlert, eveAlertLine } from '../helpers/eve.js';

const NOW_MS = Date.parse('2026-11-29T10:00:00Z');
const clock: Clock = { nowMs: () => NOW_MS, monotonicMs: () => 0 };

function configWith(overrides: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({
    general: { maxduration: 600, maxlookback: 120 },
    interface: [{ name: 'lo', alias: ['tap'] }],
    ...overrides,
  });
}

function context(config = configWith(), node = 'sensor-01'): ParseContext {
  return { config, node, source: 'http', clock, interfaceExists: (name) => name === 'lo', newId: () => 'generated' };
}

const TCP = {
  srcIp: '10.0.0.1',
  srcPort: 51234,
  destIp: '10.0.0.2',
  destPort: 80,
  proto: 'TCP',
  inIface: 'lo',
  host: 'sensor-01',
  flowId: '1718327439123456789',
};

function parse(body: Record<string, unknown>, ctx = context()) {
  return parseRequest(JSON.stringify(body), ctx);
}

function accept(body: Record<string, unknown>, ctx = context()): CaptureJob {
  const result = parse(body, ctx);
  if (result.kind !== 'accepted') throw new Error(`expected accepted, got ${result.kind}`);
  return result.job;
}

function refusal(body: Record<string, unknown>, ctx = context()): PcapdError {
  try {
    parse(body, ctx);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const at = new Date(NOW_MS - 2000);

describe('a request with eve', () => {
  it("captures the alert's flow on its in_iface, both directions, ending with the flow", () => {
    const job = accept({ eve: eveAlert(TCP, at), id: 'flow-1' });
    expect(job.interfaces).toEqual([{ name: 'lo' }]);
    expect(job.filter).toBe(
      'tcp and ((ip src host 10.0.0.1 and src port 51234 and ip dst host 10.0.0.2 and dst port 80) or (ip src host 10.0.0.2 and src port 80 and ip dst host 10.0.0.1 and dst port 51234))',
    );
    expect(job.flow).toMatchObject({
      description: 'tcp 10.0.0.1:51234 <-> 10.0.0.2:80',
      tcpClose: true,
      idleSeconds: 120,
      key: 'flow_id 1718327439123456789 host sensor-01',
    });
    expect(job.flow?.communityId).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    // The flow ends the capture; the generic idle timeout is off unless asked.
    expect(job.limits.timeoutSeconds).toBe(0);
    expect(accept({ eve: eveAlert(TCP, at), timeout: 5 }).limits.timeoutSeconds).toBe(5);
  });

  it('keeps a flow_id above 2^53 exact when the request text carries it as a bare number', () => {
    const body = `{"eve":${eveAlertLine(TCP, at)}}`;
    expect(body).toContain('"flow_id":1718327439123456789');
    const result = parseRequest(body, context());
    expect(result.kind === 'accepted' && result.job.flow?.alert.flowId).toBe('1718327439123456789');
  });

  it('uses the per-protocol idle timeout of [flows]', () => {
    const udp = { ...TCP, proto: 'UDP', destPort: 53 };
    expect(accept({ eve: eveAlert(udp, at) }).flow).toMatchObject({ tcpClose: false, idleSeconds: 60 });
    const icmp = { ...TCP, proto: 'ICMP', srcPort: undefined, destPort: undefined, icmpType: 8, icmpCode: 0 };
    expect(accept({ eve: eveAlert(icmp, at) }, context(configWith({ flows: { icmpidle: 7 } }))).flow).toMatchObject({ idleSeconds: 7 });
  });

  it('targets the sensor that raised the alert, unless the request names a node', () => {
    expect(parse({ eve: eveAlert({ ...TCP, host: 'sensor-02' }, at) }).kind).toBe('ignored');
    expect(parse({ eve: eveAlert({ ...TCP, host: 'sensor-02' }, at), node: 'any' }).kind).toBe('accepted');
    expect(parse({ eve: eveAlert({ ...TCP, host: undefined }, at) }).kind).toBe('accepted');
    const anyHost = context(configWith({ flows: { matchhost: false } }));
    expect(parse({ eve: eveAlert({ ...TCP, host: 'sensor-02' }, at) }, anyHost).kind).toBe('accepted');
  });

  it("falls back from an in_iface this node lacks to the request's interface, then to flows.interface", () => {
    const elsewhere = eveAlert({ ...TCP, inIface: 'eth9' }, at);
    expect(accept({ eve: elsewhere, alias: ['tap'] }).interfaces).toEqual([{ name: 'lo', alias: 'tap' }]);
    expect(accept({ eve: elsewhere }, context(configWith({ flows: { interface: 'tap' } }))).interfaces).toEqual([{ name: 'lo', alias: 'tap' }]);
    const err = refusal({ eve: elsewhere });
    expect(err.code).toBe('PCAPD_ERR_INTERFACE_UNKNOWN');
    expect(err.message).toMatch(/in_iface: interface "eth9" does not exist on this host/);
  });

  it("starts back at the flow's start on a warm interface, within the ring and general.maxlookback", () => {
    const warm = configWith({ interface: [{ name: 'lo', warm: true, lookbackseconds: 30, lookbackbytes: 1048576 }] });
    const started = new Date(NOW_MS - 10_500).toISOString();
    expect(accept({ eve: eveAlert({ ...TCP, flowStart: started }, at) }, context(warm)).limits.lookbackSeconds).toBe(12);
    const old = new Date(NOW_MS - 3_600_000).toISOString();
    expect(accept({ eve: eveAlert({ ...TCP, flowStart: old }, at) }, context(warm)).limits.lookbackSeconds).toBe(30);
    // A cold interface has no ring: no lookback, and no refusal either.
    expect(accept({ eve: eveAlert(TCP, at) }).limits.lookbackSeconds).toBe(0);
  });

  it('refuses eve together with bpf, and a malformed alert, naming the field', () => {
    expect(refusal({ eve: eveAlert(TCP, at), bpf: 'tcp' }).message).toMatch(/name bpf or eve, not both/);
    const broken = refusal({ eve: { ...eveAlert(TCP, at), dest_port: 70000 } });
    expect(broken.code).toBe('PCAPD_ERR_EVE_INVALID');
    expect(broken.message).toMatch(/^\/dest_port/);
    expect(refusal({ eve: { ...eveAlert(TCP, at), src_ip: undefined } }).code).toBe('PCAPD_ERR_EVE_INVALID');
    expect(refusal({ eve: { ...eveAlert(TCP, at), proto: 'FOO' } }).code).toBe('PCAPD_ERR_EVE_INVALID');
  });
});

describe('raw EVE lines (listener messages = "eve")', () => {
  it('turns an alert into a request and reports any other event type, bounded to known names', () => {
    const line = eveAlertLine(TCP, at);
    const message = eveMessageOf(line, 65_536);
    expect(message.kind).toBe('alert');
    const job = message.kind === 'alert' ? parseRequest(message.body, context()) : undefined;
    expect(job?.kind).toBe('accepted');
    expect(eveMessageOf('{"event_type":"flow","src_ip":"10.0.0.1"}', 65_536)).toEqual({ kind: 'other', eventType: 'flow' });
    expect(eveMessageOf('{"event_type":"x-attacker-chosen-label"}', 65_536)).toEqual({ kind: 'other', eventType: 'other' });
    expect(() => eveMessageOf('not json', 65_536)).toThrow(/not valid JSON/);
    expect(() => eveMessageOf(line, 100)).toThrow(/maxrequestbytes/);
  });

  it('quotes flow_id digits only where flow_id is a key', () => {
    expect(quoteFlowIds('{"flow_id": 18446744073709551615,"x":"\\"flow_id\\": 5"}')).toBe('{"flow_id": "18446744073709551615","x":"\\"flow_id\\": 5"}');
  });
});
