import { describe, expect, it } from 'vitest';

import { PcapdError } from '../../src/errors.js';
import { communityId, type FlowTuple } from '../../src/flows/community-id.js';
import { parseEveAlert, type FlowAlert } from '../../src/flows/eve.js';

// Alert events shaped as Suricata 7 writes them to eve.json (one line each,
// keys in its order; IPv6 addresses uncompressed, src_port/dest_port 0 for
// protocols without ports). The community_id values were computed with the
// reference package `communityid` 1.5.0; the GRE one as Suricata computes it,
// which hashes ports 0/0 where the spec hashes none.
const EVE = {
  tcp4: '{"timestamp":"2026-11-29T10:11:12.123456+0000","flow_id":1718327439123456,"in_iface":"eth0","event_type":"alert","src_ip":"10.20.0.15","src_port":51234,"dest_ip":"203.0.113.10","dest_port":80,"proto":"TCP","pkt_src":"wire/pcap","ether":{"src_mac":"52:54:00:12:34:56","dest_mac":"52:54:00:65:43:21"},"community_id":"1:Fgh7swaRsKtvF4jPM4PKqzzu47U=","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2013028,"rev":8,"signature":"ET POLICY curl User-Agent Outbound","category":"Attempted Information Leak","severity":2,"metadata":{"created_at":["2011_06_14"],"updated_at":["2024_03_05"]}},"http":{"hostname":"203.0.113.10","url":"/","http_user_agent":"curl/8.5.0","http_method":"GET","protocol":"HTTP/1.1","length":0},"app_proto":"http","direction":"to_server","flow":{"pkts_toserver":4,"pkts_toclient":1,"bytes_toserver":373,"bytes_toclient":74,"start":"2026-11-29T10:11:12.101010+0000","src_ip":"10.20.0.15","dest_ip":"203.0.113.10","src_port":51234,"dest_port":80},"host":"sensor-01"}',
  udp4: '{"timestamp":"2026-11-29T10:12:00.000001+0000","flow_id":2045711230045812,"in_iface":"eth0","event_type":"alert","src_ip":"10.20.0.15","src_port":53211,"dest_ip":"198.51.100.53","dest_port":53,"proto":"UDP","pkt_src":"wire/pcap","community_id":"1:PZ/wLZAq5aFvQnYExD44BekMjHg=","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2014939,"rev":4,"signature":"ET DNS Query for .onion proxy Domain","category":"Potentially Bad Traffic","severity":2},"dns":{"query":[{"type":"query","id":4660,"rrname":"abcdefgh.onion.to","rrtype":"A","tx_id":0,"opcode":0}]},"app_proto":"dns","direction":"to_server","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":77,"bytes_toclient":0,"start":"2026-11-29T10:12:00.000001+0000","src_ip":"10.20.0.15","dest_ip":"198.51.100.53","src_port":53211,"dest_port":53},"host":"sensor-01"}',
  tcp6: '{"timestamp":"2026-11-29T10:13:14.500000+0000","flow_id":987654321012345,"in_iface":"ens1f0","event_type":"alert","src_ip":"2001:0db8:0000:0000:0000:0000:0000:0015","src_port":50000,"dest_ip":"2001:0db8:00ff:0000:0000:0000:0000:0443","dest_port":443,"proto":"TCP","pkt_src":"wire/pcap","community_id":"1:HEPPqsRyccye652AgGltpeKxJWQ=","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2033966,"rev":2,"signature":"ET INFO Observed Cloudflare DNS over HTTPS Domain in TLS SNI","category":"Misc activity","severity":3},"tls":{"sni":"cloudflare-dns.com","version":"TLS 1.3","ja3":{},"ja3s":{}},"app_proto":"tls","direction":"to_server","flow":{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":811,"bytes_toclient":152,"start":"2026-11-29T10:13:14.480000+0000","src_ip":"2001:0db8:0000:0000:0000:0000:0000:0015","dest_ip":"2001:0db8:00ff:0000:0000:0000:0000:0443","src_port":50000,"dest_port":443},"host":"sensor-01"}',
  icmpEcho:
    '{"timestamp":"2026-11-29T10:14:01.020304+0000","flow_id":1395822144227316,"in_iface":"eth0","event_type":"alert","src_ip":"10.20.0.15","src_port":0,"dest_ip":"198.51.100.7","dest_port":0,"proto":"ICMP","icmp_type":8,"icmp_code":0,"pkt_src":"wire/pcap","community_id":"1:Fk2Ue68kZg3ppxSo6wLCRE4XmD4=","alert":{"action":"allowed","gid":1,"signature_id":2100366,"rev":8,"signature":"GPL ICMP_INFO PING *NIX","category":"Misc activity","severity":3},"direction":"to_server","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":98,"bytes_toclient":0,"start":"2026-11-29T10:14:01.020304+0000","src_ip":"10.20.0.15","dest_ip":"198.51.100.7"},"host":"sensor-01"}',
  icmp6:
    '{"timestamp":"2026-11-29T10:15:30.000000+0000","flow_id":402519773128734,"in_iface":"ens1f0","event_type":"alert","src_ip":"2001:0db8:0000:0000:0000:0000:0000:0015","src_port":0,"dest_ip":"2001:0db8:00ff:0000:0000:0000:0000:0443","dest_port":0,"proto":"IPv6-ICMP","icmp_type":128,"icmp_code":0,"pkt_src":"wire/pcap","community_id":"1:s/H+sYJUp9Rmo3QGpvsW1L2BwJA=","alert":{"action":"allowed","gid":1,"signature_id":1000001,"rev":1,"signature":"LOCAL ICMPv6 echo request to server network","category":"","severity":3},"direction":"to_server","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":118,"bytes_toclient":0,"start":"2026-11-29T10:15:30.000000+0000","src_ip":"2001:0db8:0000:0000:0000:0000:0000:0015","dest_ip":"2001:0db8:00ff:0000:0000:0000:0000:0443"},"host":"sensor-01"}',
  sctp: '{"timestamp":"2026-11-29T10:16:45.999999+0000","flow_id":1125899906842597,"in_iface":"eth2","event_type":"alert","src_ip":"10.30.0.5","src_port":2905,"dest_ip":"10.30.0.6","dest_port":2905,"proto":"SCTP","pkt_src":"wire/pcap","community_id":"1:S2XuvJyN+HBdxo8aqZ5n98wC7NU=","alert":{"action":"allowed","gid":1,"signature_id":1000002,"rev":3,"signature":"LOCAL M3UA from unexpected signalling point","category":"Potentially Bad Traffic","severity":2},"direction":"to_server","flow":{"pkts_toserver":2,"pkts_toclient":1,"bytes_toserver":260,"bytes_toclient":62,"start":"2026-11-29T10:16:45.990000+0000","src_ip":"10.30.0.5","dest_ip":"10.30.0.6","src_port":2905,"dest_port":2905},"host":"sensor-02"}',
  vlan: '{"timestamp":"2026-11-29T10:17:00.250000+0000","flow_id":1508734208762290,"in_iface":"eth1","event_type":"alert","vlan":[100],"src_ip":"192.168.100.50","src_port":49822,"dest_ip":"192.168.100.7","dest_port":22,"proto":"TCP","pkt_src":"wire/pcap","community_id":"1:R9OIe2pZ7HGPHhjEpCxuNHyuPAA=","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2},"app_proto":"ssh","direction":"to_server","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":78,"bytes_toclient":0,"start":"2026-11-29T10:17:00.250000+0000","src_ip":"192.168.100.50","dest_ip":"192.168.100.7","src_port":49822,"dest_port":22},"host":"sensor-02"}',
  qinq: '{"timestamp":"2026-11-29T10:18:20.000100+0000","flow_id":776451226583001,"in_iface":"eth1","event_type":"alert","vlan":[100,200],"src_ip":"172.16.200.9","src_port":40000,"dest_ip":"172.16.200.1","dest_port":161,"proto":"UDP","pkt_src":"wire/pcap","community_id":"1:wEgPvua68mLbde3FWWgolSYtD3U=","alert":{"action":"blocked","gid":1,"signature_id":2101411,"rev":13,"signature":"GPL SNMP public access udp","category":"Attempted Information Leak","severity":2},"app_proto":"snmp","direction":"to_server","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":86,"bytes_toclient":0,"start":"2026-11-29T10:18:20.000100+0000","src_ip":"172.16.200.9","dest_ip":"172.16.200.1","src_port":40000,"dest_port":161},"host":"sensor-02"}',
  gre: '{"timestamp":"2026-11-29T10:19:00.000000+0000","flow_id":59843105547812,"in_iface":"eth0","event_type":"alert","src_ip":"198.51.100.1","src_port":0,"dest_ip":"198.51.100.2","dest_port":0,"proto":"GRE","pkt_src":"wire/pcap","community_id":"1:9DkGgTIhV75j3w2cnQceJtZEcHc=","alert":{"action":"allowed","gid":1,"signature_id":1000003,"rev":1,"signature":"LOCAL GRE tunnel to unexpected peer","category":"Potential Corporate Privacy Violation","severity":1},"direction":"to_server","flow":{"pkts_toserver":5,"pkts_toclient":0,"bytes_toserver":640,"bytes_toclient":0,"start":"2026-11-29T10:18:58.000000+0000","src_ip":"198.51.100.1","dest_ip":"198.51.100.2"},"host":"sensor-01"}',
} as const;

type EveName = keyof typeof EVE;

function event(name: EveName): Record<string, unknown> {
  return JSON.parse(EVE[name]) as Record<string, unknown>;
}

function refusal(raw: unknown): PcapdError {
  try {
    parseEveAlert(raw);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(raw)}`);
}

const EXPECTED: Record<EveName, FlowAlert> = {
  tcp4: {
    family: 4,
    srcIp: '10.20.0.15',
    dstIp: '203.0.113.10',
    transport: { kind: 'ports', proto: 6, srcPort: 51234, dstPort: 80 },
    vlanIds: [],
    flowId: '1718327439123456',
    communityId: '1:Fgh7swaRsKtvF4jPM4PKqzzu47U=',
    timestamp: { ms: Date.parse('2026-11-29T10:11:12.123Z'), text: '2026-11-29T10:11:12.123456+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:11:12.101Z'), text: '2026-11-29T10:11:12.101010+0000' },
    inIface: 'eth0',
    host: 'sensor-01',
    appProto: 'http',
    pktSrc: 'wire/pcap',
    signature: {
      id: 2013028,
      text: 'ET POLICY curl User-Agent Outbound',
      gid: 1,
      rev: 8,
      category: 'Attempted Information Leak',
      severity: 2,
      action: 'allowed',
    },
  },
  udp4: {
    family: 4,
    srcIp: '10.20.0.15',
    dstIp: '198.51.100.53',
    transport: { kind: 'ports', proto: 17, srcPort: 53211, dstPort: 53 },
    vlanIds: [],
    flowId: '2045711230045812',
    communityId: '1:PZ/wLZAq5aFvQnYExD44BekMjHg=',
    timestamp: { ms: Date.parse('2026-11-29T10:12:00.000Z'), text: '2026-11-29T10:12:00.000001+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:12:00.000Z'), text: '2026-11-29T10:12:00.000001+0000' },
    inIface: 'eth0',
    host: 'sensor-01',
    appProto: 'dns',
    pktSrc: 'wire/pcap',
    signature: {
      id: 2014939,
      text: 'ET DNS Query for .onion proxy Domain',
      gid: 1,
      rev: 4,
      category: 'Potentially Bad Traffic',
      severity: 2,
      action: 'allowed',
    },
  },
  tcp6: {
    family: 6,
    srcIp: '2001:db8::15',
    dstIp: '2001:db8:ff::443',
    transport: { kind: 'ports', proto: 6, srcPort: 50000, dstPort: 443 },
    vlanIds: [],
    flowId: '987654321012345',
    communityId: '1:HEPPqsRyccye652AgGltpeKxJWQ=',
    timestamp: { ms: Date.parse('2026-11-29T10:13:14.500Z'), text: '2026-11-29T10:13:14.500000+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:13:14.480Z'), text: '2026-11-29T10:13:14.480000+0000' },
    inIface: 'ens1f0',
    host: 'sensor-01',
    appProto: 'tls',
    pktSrc: 'wire/pcap',
    signature: {
      id: 2033966,
      text: 'ET INFO Observed Cloudflare DNS over HTTPS Domain in TLS SNI',
      gid: 1,
      rev: 2,
      category: 'Misc activity',
      severity: 3,
      action: 'allowed',
    },
  },
  icmpEcho: {
    family: 4,
    srcIp: '10.20.0.15',
    dstIp: '198.51.100.7',
    transport: { kind: 'icmp', proto: 1, icmpType: 8, icmpCode: 0 },
    vlanIds: [],
    flowId: '1395822144227316',
    communityId: '1:Fk2Ue68kZg3ppxSo6wLCRE4XmD4=',
    timestamp: { ms: Date.parse('2026-11-29T10:14:01.020Z'), text: '2026-11-29T10:14:01.020304+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:14:01.020Z'), text: '2026-11-29T10:14:01.020304+0000' },
    inIface: 'eth0',
    host: 'sensor-01',
    pktSrc: 'wire/pcap',
    signature: { id: 2100366, text: 'GPL ICMP_INFO PING *NIX', gid: 1, rev: 8, category: 'Misc activity', severity: 3, action: 'allowed' },
  },
  icmp6: {
    family: 6,
    srcIp: '2001:db8::15',
    dstIp: '2001:db8:ff::443',
    transport: { kind: 'icmp', proto: 58, icmpType: 128, icmpCode: 0 },
    vlanIds: [],
    flowId: '402519773128734',
    communityId: '1:s/H+sYJUp9Rmo3QGpvsW1L2BwJA=',
    timestamp: { ms: Date.parse('2026-11-29T10:15:30.000Z'), text: '2026-11-29T10:15:30.000000+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:15:30.000Z'), text: '2026-11-29T10:15:30.000000+0000' },
    inIface: 'ens1f0',
    host: 'sensor-01',
    pktSrc: 'wire/pcap',
    signature: {
      id: 1000001,
      text: 'LOCAL ICMPv6 echo request to server network',
      gid: 1,
      rev: 1,
      category: '',
      severity: 3,
      action: 'allowed',
    },
  },
  sctp: {
    family: 4,
    srcIp: '10.30.0.5',
    dstIp: '10.30.0.6',
    transport: { kind: 'ports', proto: 132, srcPort: 2905, dstPort: 2905 },
    vlanIds: [],
    flowId: '1125899906842597',
    communityId: '1:S2XuvJyN+HBdxo8aqZ5n98wC7NU=',
    timestamp: { ms: Date.parse('2026-11-29T10:16:45.999Z'), text: '2026-11-29T10:16:45.999999+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:16:45.990Z'), text: '2026-11-29T10:16:45.990000+0000' },
    inIface: 'eth2',
    host: 'sensor-02',
    pktSrc: 'wire/pcap',
    signature: {
      id: 1000002,
      text: 'LOCAL M3UA from unexpected signalling point',
      gid: 1,
      rev: 3,
      category: 'Potentially Bad Traffic',
      severity: 2,
      action: 'allowed',
    },
  },
  vlan: {
    family: 4,
    srcIp: '192.168.100.50',
    dstIp: '192.168.100.7',
    transport: { kind: 'ports', proto: 6, srcPort: 49822, dstPort: 22 },
    vlanIds: [100],
    flowId: '1508734208762290',
    communityId: '1:R9OIe2pZ7HGPHhjEpCxuNHyuPAA=',
    timestamp: { ms: Date.parse('2026-11-29T10:17:00.250Z'), text: '2026-11-29T10:17:00.250000+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:17:00.250Z'), text: '2026-11-29T10:17:00.250000+0000' },
    inIface: 'eth1',
    host: 'sensor-02',
    appProto: 'ssh',
    pktSrc: 'wire/pcap',
    signature: {
      id: 2001219,
      text: 'ET SCAN Potential SSH Scan',
      gid: 1,
      rev: 20,
      category: 'Attempted Information Leak',
      severity: 2,
      action: 'allowed',
    },
  },
  qinq: {
    family: 4,
    srcIp: '172.16.200.9',
    dstIp: '172.16.200.1',
    transport: { kind: 'ports', proto: 17, srcPort: 40000, dstPort: 161 },
    vlanIds: [100, 200],
    flowId: '776451226583001',
    communityId: '1:wEgPvua68mLbde3FWWgolSYtD3U=',
    timestamp: { ms: Date.parse('2026-11-29T10:18:20.000Z'), text: '2026-11-29T10:18:20.000100+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:18:20.000Z'), text: '2026-11-29T10:18:20.000100+0000' },
    inIface: 'eth1',
    host: 'sensor-02',
    appProto: 'snmp',
    pktSrc: 'wire/pcap',
    signature: {
      id: 2101411,
      text: 'GPL SNMP public access udp',
      gid: 1,
      rev: 13,
      category: 'Attempted Information Leak',
      severity: 2,
      action: 'blocked',
    },
  },
  gre: {
    family: 4,
    srcIp: '198.51.100.1',
    dstIp: '198.51.100.2',
    transport: { kind: 'ip', proto: 47 },
    vlanIds: [],
    flowId: '59843105547812',
    communityId: '1:9DkGgTIhV75j3w2cnQceJtZEcHc=',
    timestamp: { ms: Date.parse('2026-11-29T10:19:00.000Z'), text: '2026-11-29T10:19:00.000000+0000' },
    flowStart: { ms: Date.parse('2026-11-29T10:18:58.000Z'), text: '2026-11-29T10:18:58.000000+0000' },
    inIface: 'eth0',
    host: 'sensor-01',
    pktSrc: 'wire/pcap',
    signature: {
      id: 1000003,
      text: 'LOCAL GRE tunnel to unexpected peer',
      gid: 1,
      rev: 1,
      category: 'Potential Corporate Privacy Violation',
      severity: 1,
      action: 'allowed',
    },
  },
};

function tupleOf(alert: FlowAlert): FlowTuple {
  const { srcIp, dstIp, transport } = alert;
  switch (transport.kind) {
    case 'ports':
      return { proto: transport.proto, srcIp, dstIp, srcPort: transport.srcPort, dstPort: transport.dstPort };
    case 'icmp':
      return { proto: transport.proto, srcIp, dstIp, icmpType: transport.icmpType ?? -1, icmpCode: transport.icmpCode ?? -1 };
    case 'ip':
      return { proto: transport.proto, srcIp, dstIp };
  }
}

describe('parseEveAlert', () => {
  it.each(Object.keys(EVE) as EveName[])('reads the Suricata 7 %s alert into a FlowAlert', (name) => {
    expect(parseEveAlert(event(name))).toEqual(EXPECTED[name]);
  });

  it.each(['tcp4', 'udp4', 'tcp6', 'icmpEcho', 'icmp6', 'sctp', 'vlan', 'qinq'] as const)(
    'reads a %s flow that hashes to the community_id Suricata wrote',
    (name) => {
      const alert = parseEveAlert(event(name));
      expect(communityId(tupleOf(alert))).toBe(alert.communityId);
    },
  );

  it("keeps community_id as written, even where Suricata's hash departs from the spec (GRE)", () => {
    const alert = parseEveAlert(event('gre'));
    expect(alert.communityId).toBe('1:9DkGgTIhV75j3w2cnQceJtZEcHc=');
    expect(communityId(tupleOf(alert))).not.toBe(alert.communityId);
  });

  it('ignores EVE keys it does not know, at the top and inside alert', () => {
    const raw = { ...event('tcp4'), pcap_cnt: 7, tenant_id: 3, stream: 1, alert: { signature_id: 1, rule: 'alert ip any any -> any any (sid:1;)', xff: 'x' } };
    const alert = parseEveAlert(raw);
    expect(alert.signature).toEqual({ id: 1 });
    expect(alert.srcIp).toBe('10.20.0.15');
  });

  it('reads an event with only the flow: no event_type, timestamp, flow_id or alert', () => {
    expect(parseEveAlert({ src_ip: '10.0.0.1', dest_ip: '10.0.0.2', proto: '47' })).toEqual({
      family: 4,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      transport: { kind: 'ip', proto: 47 },
      vlanIds: [],
    });
  });

  it('keeps a flow_id above 2^53 exact when the caller kept it as a bigint or as digits', () => {
    const line = EVE.tcp4.replace('"flow_id":1718327439123456', '"flow_id":18446744073709551615');
    // A caller that keeps big integers: here, by quoting the digits before JSON.parse.
    const quoted = JSON.parse(line.replace(/"flow_id":(\d+)/, '"flow_id":"$1"')) as Record<string, unknown>;
    expect(parseEveAlert(quoted).flowId).toBe('18446744073709551615');
    expect(parseEveAlert({ ...quoted, flow_id: 18446744073709551615n }).flowId).toBe('18446744073709551615');
    expect(parseEveAlert({ ...quoted, flow_id: 9007199254740991 }).flowId).toBe('9007199254740991');
  });

  it('refuses a flow_id that JSON.parse already rounded, and says how to keep it', () => {
    const line = EVE.tcp4.replace('"flow_id":1718327439123456', '"flow_id":1234567890123456789');
    const err = refusal(JSON.parse(line));
    expect(err.code).toBe('PCAPD_ERR_EVE_INVALID');
    expect(err.message).toMatch(/^\/flow_id: .*rounded.*big integers survive/);
  });

  it.each([
    ['2026-11-29T10:11:12.123456+0000', '2026-11-29T10:11:12.123Z'],
    ['2026-11-29T10:11:12+0000', '2026-11-29T10:11:12.000Z'],
    ['2026-11-29T10:11:12.1Z', '2026-11-29T10:11:12.100Z'],
    ['2026-11-29T15:41:12.123456+05:30', '2026-11-29T10:11:12.123Z'],
    ['2026-11-29T05:11:12.123456-0500', '2026-11-29T10:11:12.123Z'],
    ['2028-02-29T00:00:00.000000+0000', '2028-02-29T00:00:00.000Z'],
  ])('reads timestamp %s as %s', (text, iso) => {
    expect(parseEveAlert({ ...event('tcp4'), timestamp: text }).timestamp).toEqual({ ms: Date.parse(iso), text });
  });

  it.each([
    ['TCP', 6],
    ['tcp', 6],
    ['UDP', 17],
    ['SCTP', 132],
    ['GRE', 47],
    ['ESP', 50],
    ['IP-in-IP', 4],
    ['253', 253],
    ['0', 0],
  ])('reads proto %j as protocol %d', (proto, number) => {
    const raw = { src_ip: '10.0.0.1', src_port: 1, dest_ip: '10.0.0.2', dest_port: 2, proto };
    expect(parseEveAlert(raw).transport.proto).toBe(number);
  });

  it('reads ICMP without type and code, which other producers may leave out', () => {
    const { icmp_type: _type, icmp_code: _code, ...raw } = event('icmpEcho');
    expect(parseEveAlert(raw).transport).toEqual({ kind: 'icmp', proto: 1 });
  });

  it('treats an empty vlan array as untagged', () => {
    expect(parseEveAlert({ ...event('tcp4'), vlan: [] }).vlanIds).toEqual([]);
  });
});

describe('parseEveAlert refuses', () => {
  const tcp4 = event('tcp4');
  const without = (key: string): Record<string, unknown> => {
    const { [key]: _dropped, ...rest } = tcp4;
    return rest;
  };
  const huge = 'A'.repeat(100_000);

  it.each<[string, unknown, RegExp]>([
    ['null', null, /^the event: expected a JSON object/],
    ['an array', [tcp4], /^the event: expected a JSON object.*got an array of 1 items/],
    ['a string (an unparsed line)', EVE.tcp4, /^the event: expected a JSON object.*got a string of \d+ characters/],
    ['a number', 42, /^the event: expected a JSON object/],
    ['a missing src_ip', without('src_ip'), /^\/src_ip: missing; expected an IPv4 or IPv6 address/],
    ['a missing dest_ip', without('dest_ip'), /^\/dest_ip: missing/],
    ['an address out of range', { ...tcp4, src_ip: '10.20.0.256' }, /^\/src_ip: expected an IPv4 or IPv6 address, got "10.20.0.256"/],
    ['a host name', { ...tcp4, dest_ip: 'example.org' }, /^\/dest_ip: expected an IPv4 or IPv6 address/],
    ['an IPv6 zone index', { ...event('tcp6'), src_ip: 'fe80::1%eth0' }, /^\/src_ip: expected an IPv4 or IPv6 address/],
    ['an address that is a number', { ...tcp4, src_ip: 167772161 }, /^\/src_ip: expected an IPv4 or IPv6 address, got 167772161/],
    ['an IPv4 and an IPv6 end', { ...tcp4, dest_ip: '2001:db8::1' }, /^\/dest_ip: 2001:db8::1 is IPv6 and \/src_ip 10.20.0.15 is IPv4/],
    ['an IPv6 and an IPv4 end', { ...event('tcp6'), dest_ip: '10.0.0.1' }, /^\/dest_ip: 10.0.0.1 is IPv4 .* is IPv6/],
    ['a missing proto', without('proto'), /^\/proto: missing; expected a protocol/],
    ['proto "FOO"', { ...tcp4, proto: 'FOO' }, /^\/proto: expected a protocol as Suricata writes it.*got "FOO"/],
    ['proto "Any" (Suricata\'s name for several protocols)', { ...tcp4, proto: 'Any' }, /^\/proto: .*got "Any"/],
    ['proto "256"', { ...tcp4, proto: '256' }, /^\/proto: .*got "256"/],
    ['proto as a JSON number', { ...tcp4, proto: 6 }, /^\/proto: .*got 6/],
    ['a TCP event without src_port', without('src_port'), /^\/src_port: missing; TCP needs both ports/],
    ['a TCP event without dest_port', without('dest_port'), /^\/dest_port: missing; TCP needs both ports/],
    ['a UDP event without ports', { ...event('udp4'), src_port: undefined }, /^\/src_port: missing; UDP needs both ports/],
    ['an SCTP event without ports', { ...event('sctp'), dest_port: undefined }, /^\/dest_port: missing; SCTP needs both ports/],
    ['port 70000', { ...tcp4, dest_port: 70000 }, /^\/dest_port: expected an integer 0\.\.65535, got 70000/],
    ['port -1', { ...tcp4, src_port: -1 }, /^\/src_port: expected an integer 0\.\.65535, got -1/],
    ['port "80"', { ...tcp4, dest_port: '80' }, /^\/dest_port: expected an integer 0\.\.65535, got "80"/],
    ['port 80.5', { ...tcp4, dest_port: 80.5 }, /^\/dest_port: expected an integer 0\.\.65535, got 80.5/],
    ['icmp_type 300', { ...event('icmpEcho'), icmp_type: 300 }, /^\/icmp_type: expected an integer 0\.\.255, got 300/],
    ['ICMP between IPv6 hosts', { ...event('icmp6'), proto: 'ICMP' }, /^\/proto: ICMP travels over IPv4/],
    ['IPv6-ICMP between IPv4 hosts', { ...event('icmpEcho'), proto: 'IPv6-ICMP' }, /^\/proto: IPv6-ICMP travels over IPv6/],
    ['vlan id 4096', { ...tcp4, vlan: [4096] }, /^\/vlan\/0: expected an integer 0\.\.4095, got 4096/],
    ['vlan id -1', { ...tcp4, vlan: [100, -1] }, /^\/vlan\/1: expected an integer 0\.\.4095, got -1/],
    ['three vlan ids', { ...tcp4, vlan: [100, 200, 300] }, /^\/vlan: expected an array of at most 2 VLAN ids, got an array of 3 items/],
    ['vlan as a number', { ...tcp4, vlan: 100 }, /^\/vlan: expected an array of at most 2 VLAN ids, got 100/],
    ['vlan ids as strings', { ...tcp4, vlan: ['100'] }, /^\/vlan\/0: expected an integer 0\.\.4095, got "100"/],
    ['event_type "flow"', { ...tcp4, event_type: 'flow' }, /^\/event_type: expected "alert".*got "flow"/],
    ['event_type "dns"', { ...tcp4, event_type: 'dns' }, /^\/event_type: expected "alert"/],
    ['a negative flow_id', { ...tcp4, flow_id: -1 }, /^\/flow_id: expected an unsigned 64-bit integer/],
    ['a flow_id that is not a number', { ...tcp4, flow_id: 'abc' }, /^\/flow_id: expected an unsigned 64-bit integer.*got "abc"/],
    ['a flow_id above 2^64', { ...tcp4, flow_id: '18446744073709551616' }, /^\/flow_id: expected an unsigned 64-bit integer/],
    ['a fractional flow_id', { ...tcp4, flow_id: 1.5 }, /^\/flow_id: expected an unsigned 64-bit integer/],
    ['a timestamp that is no time', { ...tcp4, timestamp: 'yesterday' }, /^\/timestamp: expected a timestamp such as/],
    ['month 13', { ...tcp4, timestamp: '2026-13-01T00:00:00.000000+0000' }, /^\/timestamp: /],
    ['30 February', { ...tcp4, timestamp: '2026-02-30T00:00:00.000000+0000' }, /^\/timestamp: /],
    ['a flow.start that is no time', { ...tcp4, flow: { start: 'soon' } }, /^\/flow\/start: expected a timestamp such as/],
    ['a flow that is not an object', { ...tcp4, flow: 'x' }, /^\/flow: expected an object, got "x"/],
    ['an alert that is not an object', { ...tcp4, alert: 'ET POLICY' }, /^\/alert: expected an object, got "ET POLICY"/],
    ['an alert without signature_id', { ...tcp4, alert: { signature: 'x' } }, /^\/alert\/signature_id: missing; expected an integer/],
    [
      'a signature_id as a string',
      { ...tcp4, alert: { signature_id: '2013028' } },
      /^\/alert\/signature_id: expected an integer 0\.\.4294967295, got "2013028"/,
    ],
    [
      'a huge signature',
      { ...tcp4, alert: { signature_id: 1, signature: huge } },
      /^\/alert\/signature: expected a string of at most 1024 characters, got a string of 100000 characters/,
    ],
    ['a huge category', { ...tcp4, alert: { signature_id: 1, category: huge } }, /^\/alert\/category: /],
    ['a huge in_iface', { ...tcp4, in_iface: huge }, /^\/in_iface: expected a string of at most 256 characters/],
    ['a huge host', { ...tcp4, host: huge }, /^\/host: /],
    ['a huge community_id', { ...tcp4, community_id: huge }, /^\/community_id: /],
    ['a huge app_proto', { ...tcp4, app_proto: huge }, /^\/app_proto: /],
    ['a huge pkt_src', { ...tcp4, pkt_src: huge }, /^\/pkt_src: /],
    ['a huge timestamp', { ...tcp4, timestamp: huge }, /^\/timestamp: /],
    ['a huge src_ip', { ...tcp4, src_ip: huge }, /^\/src_ip: expected an IPv4 or IPv6 address, got a string of 100000 characters/],
    ['a huge proto', { ...tcp4, proto: huge }, /^\/proto: .*got a string of 100000 characters/],
    ['a huge flow_id', { ...tcp4, flow_id: '1'.repeat(100_000) }, /^\/flow_id: .*got a string of 100000 characters/],
  ])('%s', (_name, raw, message) => {
    const err = refusal(raw);
    expect(err.code).toBe('PCAPD_ERR_EVE_INVALID');
    expect(err.message).toMatch(message);
    // Untrusted input never makes the message long.
    expect(err.message.length).toBeLessThan(400);
  });
});
