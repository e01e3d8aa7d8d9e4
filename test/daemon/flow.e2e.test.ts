/**
 * Flow captures through the real daemon: a Suricata EVE alert for a real TCP
 * or UDP exchange between two namespaces (with other traffic on the same
 * link) yields a file holding that flow and nothing else, read back with
 * tshark, ending when the flow ends; a second alert on the flow is merged;
 * raw EVE lines arrive through a real Redis and a real Kafka; malformed
 * alerts are refused and counted.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { KafkaFixture, mergeEdits, RedisFixture, waitForMetric, type BrokerFixture } from '../helpers/brokers.js';
import { capinfos } from '../helpers/capture-files.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { eveAlert, eveAlertLine, type EveFlow } from '../helpers/eve.js';
import { run } from '../helpers/exec.js';
import {
  clientPort,
  createPeer,
  EXCHANGE_STEP_MS,
  readLine,
  startNoise,
  stopPeerServers,
  TCP_PORT,
  udpExchange,
  UDP_PORT,
  withDeadline,
  type Noise,
  type Peer,
} from '../helpers/flow-peers.js';
import { destroyAllTestLinks } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const NODE = 'sensor-flow';

let daemon: RunningDaemon | undefined;
let noise: Noise | undefined;
let fixture: BrokerFixture | undefined;

afterEach(async () => {
  noise?.stop();
  noise = undefined;
  await daemon?.stop();
  daemon = undefined;
  await fixture?.close();
  fixture = undefined;
  stopPeerServers();
  await destroyAllTestLinks();
});

interface FilePacket {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  stream: string;
  syn: boolean;
  fin: boolean;
  ack: boolean;
  vlan: string;
  communityId: string;
}

/** Every packet of the file as tshark reads it, with Wireshark's own Community ID. */
async function readFile(path: string): Promise<FilePacket[]> {
  const fields = [
    'ip.src',
    'ipv6.src',
    'ip.dst',
    'ipv6.dst',
    'tcp.srcport',
    'udp.srcport',
    'tcp.dstport',
    'udp.dstport',
    'tcp.stream',
    'tcp.flags.syn',
    'tcp.flags.fin',
    'tcp.flags.ack',
    'vlan.id',
    'communityid',
  ];
  const out = await run('tshark', [
    '-r',
    path,
    '-n',
    '--enable-protocol',
    'communityid',
    '-T',
    'fields',
    '-E',
    'separator=|',
    ...fields.flatMap((field) => ['-e', field]),
  ]);
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [ip4src, ip6src, ip4dst, ip6dst, tcpSrc, udpSrc, tcpDst, udpDst, stream, syn, fin, ack, vlan, communityId] = line.split('|');
      const flag = (text: string | undefined): boolean => text === '1' || text === 'True';
      return {
        src: ip4src || ip6src || '',
        dst: ip4dst || ip6dst || '',
        srcPort: Number(tcpSrc || udpSrc),
        dstPort: Number(tcpDst || udpDst),
        stream: stream ?? '',
        syn: flag(syn),
        fin: flag(fin),
        ack: flag(ack),
        vlan: vlan ?? '',
        communityId: communityId ?? '',
      };
    });
}

function isFlow(packet: FilePacket, peer: Peer, port: number, serverPort: number): boolean {
  const forward = packet.src === peer.host && packet.srcPort === port && packet.dst === peer.remote && packet.dstPort === serverPort;
  const reverse = packet.src === peer.remote && packet.srcPort === serverPort && packet.dst === peer.host && packet.dstPort === port;
  return forward || reverse;
}

function tcpFlow(peer: Peer, port: number, extra: Partial<EveFlow> = {}): EveFlow {
  return { srcIp: peer.host, srcPort: port, destIp: peer.remote, destPort: TCP_PORT, proto: 'TCP', inIface: peer.link.hostIf, host: NODE, ...extra };
}

async function connectFrom(peer: Peer, port: number): Promise<Socket> {
  const socket = connect({ host: peer.remote, port: TCP_PORT, localAddress: peer.host, localPort: port });
  await withDeadline(once(socket, 'connect'), EXCHANGE_STEP_MS, 'the connection');
  return socket;
}

/** One request line, its answer, then an orderly close from this side. */
async function exchangeAndClose(socket: Socket): Promise<void> {
  socket.write('request\n');
  await withDeadline(readLine(socket), EXCHANGE_STEP_MS, 'the response');
  const closed = once(socket, 'close');
  socket.end();
  await withDeadline(closed, EXCHANGE_STEP_MS, 'the close');
}

/** The file holds exactly the flow's TCP stream, both FINs, and the final ACK last. */
function expectWholeClose(packets: FilePacket[], peer: Peer, port: number): void {
  expect(packets.length).toBeGreaterThan(4);
  expect(packets.every((packet) => isFlow(packet, peer, port, TCP_PORT))).toBe(true);
  expect(new Set(packets.map((packet) => packet.stream))).toEqual(new Set(['0']));
  expect(packets.filter((packet) => packet.fin)).toHaveLength(2);
  const last = packets.at(-1);
  expect(last?.ack && !last.fin).toBe(true);
}

async function startFlowDaemon(edits: Record<string, Record<string, string>> = {}, append = ''): Promise<RunningDaemon> {
  daemon = await startDaemon({ edits: mergeEdits({ general: { node: JSON.stringify(NODE) } }, edits), append });
  return daemon;
}

describe('flow captures from EVE alerts', () => {
  it('captures the alerted TCP flow and nothing else until its close, merging a second alert', async () => {
    const peer = await createPeer(4);
    const running = await startFlowDaemon();
    noise = await startNoise(peer);
    const port = clientPort();
    const socket = await connectFrom(peer, port);

    const flowId = '1718327439123456789';
    const armed = await running.api('/captures?wait=armed', postJson({ eve: eveAlert(tcpFlow(peer, port, { flowId })), id: 'flow-tcp' }));
    expect(armed.status).toBe(200);
    expect(armed.body).toMatchObject({ id: 'flow-tcp', state: 'capturing' });
    const second = await running.api(
      '/captures',
      postJson({ eve: eveAlert(tcpFlow(peer, port, { flowId, signatureId: 2_000_001, signature: 'ET TEST second alert' })) }),
    );
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ id: 'flow-tcp', merged: true, location: '/captures/flow-tcp' });
    await exchangeAndClose(socket);

    const outcome = await running.waitForState('flow-tcp', ['done', 'failed']);
    expect(outcome).toMatchObject({
      state: 'done',
      reason: 'flow-end',
      flow: {
        flowId,
        flow: `tcp ${peer.host}:${port} <-> ${peer.remote}:${TCP_PORT}`,
        filter: expect.stringContaining(`tcp and ((ip src host ${peer.host} and src port ${port}`),
        merged: 1,
        omitted: 0,
        alerts: [{ signatureId: 2_100_498 }, { signatureId: 2_000_001, signature: 'ET TEST second alert' }],
      },
    });
    // Ended by the flow's last packet, not by a timer.
    expect(Date.parse(outcome.endedAt) - Date.parse(outcome.lastPacketAt)).toBeLessThan(1000);
    const path = outcome.deliveries[0].locations[0] as string;
    const packets = await readFile(path);
    expectWholeClose(packets, peer, port);
    expect(noise.answers()).toBeGreaterThan(4); // other traffic ran on the link meanwhile
    // pcapd's Community ID is Wireshark's for the same packets.
    expect(new Set(packets.map((packet) => packet.communityId))).toEqual(new Set([outcome.flow.communityId]));
    const info = await capinfos(path);
    expect(info.raw).toContain(`community_id: ${outcome.flow.communityId}`);
    expect(info.raw).toContain('merged alert sid 2000001 "ET TEST second alert"');
    expect(info.raw).toContain(`tcp and ((ip src host ${peer.host} and src port ${port}`);
    expect(await waitForMetric(running, 'pcapd_flow_alerts_merged_total', { source: 'http' })).toBe(1);
    expect(await waitForMetric(running, 'pcapd_captures_finished_total', { reason: 'flow-end' })).toBe(1);
  });

  it("on a warm interface starts back at the flow's start: the SYN from before the alert is in the file", async () => {
    const peer = await createPeer(4);
    const running = await startFlowDaemon({}, `[[interface]]\nname = "${peer.link.hostIf}"\nwarm = true\nlookbackseconds = 30\nlookbackbytes = 4194304\n`);
    await waitFor('the warm interface to open', async () => (await running.api('/interfaces')).body.warm?.[0]?.state === 'up');
    const started = new Date();
    const port = clientPort();
    const socket = await connectFrom(peer, port);
    socket.write('request\n');
    await withDeadline(readLine(socket), EXCHANGE_STEP_MS, 'the response');

    const armed = await running.api(
      '/captures?wait=armed',
      postJson({ eve: eveAlert(tcpFlow(peer, port, { flowStart: started.toISOString() })), id: 'flow-warm' }),
    );
    expect(armed.status).toBe(200);
    expect(armed.body.lookback.packets).toBeGreaterThanOrEqual(5);
    const closed = once(socket, 'close');
    socket.end();
    await withDeadline(closed, EXCHANGE_STEP_MS, 'the close');

    const outcome = await running.waitForState('flow-warm', ['done', 'failed']);
    expect(outcome).toMatchObject({ state: 'done', reason: 'flow-end' });
    const packets = await readFile(outcome.deliveries[0].locations[0] as string);
    expect(packets[0]).toMatchObject({ syn: true, ack: false, srcPort: port });
    expectWholeClose(packets, peer, port);
  });

  it('ends a UDP flow at its idle timeout, with all its packets', async () => {
    const peer = await createPeer(4);
    const running = await startFlowDaemon({ flows: { udpidle: '1' } });
    const port = clientPort();
    const flow: EveFlow = { srcIp: peer.host, srcPort: port, destIp: peer.remote, destPort: UDP_PORT, proto: 'UDP', inIface: peer.link.hostIf, host: NODE };
    const armed = await running.api('/captures?wait=armed', postJson({ eve: eveAlert(flow), id: 'flow-udp' }));
    expect(armed.status).toBe(200);
    await udpExchange(peer, port, 10);
    const outcome = await running.waitForState('flow-udp', ['done', 'failed']);
    expect(outcome).toMatchObject({ state: 'done', reason: 'flow-idle', packets: 20 });
    const quietMs = Date.parse(outcome.endedAt) - Date.parse(outcome.lastPacketAt);
    expect(quietMs).toBeGreaterThanOrEqual(900);
    expect(quietMs).toBeLessThan(2500);
    const packets = await readFile(outcome.deliveries[0].locations[0] as string);
    expect(packets.every((packet) => isFlow(packet, peer, port, UDP_PORT))).toBe(true);
  });

  it('captures an IPv6 flow over VLAN 100 from an alert that carries the tag', async () => {
    const peer = await createPeer(6, 1);
    const running = await startFlowDaemon();
    const port = clientPort();
    const socket = await connectFrom(peer, port);
    const armed = await running.api('/captures?wait=armed', postJson({ eve: eveAlert(tcpFlow(peer, port, { vlan: [100] })), id: 'flow-v6' }));
    expect(armed.status).toBe(200);
    await exchangeAndClose(socket);
    const outcome = await running.waitForState('flow-v6', ['done', 'failed']);
    expect(outcome).toMatchObject({ state: 'done', reason: 'flow-end' });
    const packets = await readFile(outcome.deliveries[0].locations[0] as string);
    expectWholeClose(packets, peer, port);
    expect(new Set(packets.map((packet) => packet.vlan))).toEqual(new Set(['100']));
  });

  it('refuses an alert for an interface this node lacks, and a malformed one, counting both and running on', async () => {
    const running = await startFlowDaemon();
    const elsewhere = eveAlert({ srcIp: '10.0.0.1', srcPort: 1234, destIp: '10.0.0.2', destPort: 80, proto: 'TCP', inIface: 'nosuch0', host: NODE });
    const unknown = await running.api('/captures', postJson({ eve: elsewhere }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'PCAPD_ERR_INTERFACE_UNKNOWN' });
    expect(unknown.body.error.message).toMatch(/in_iface: interface "nosuch0" does not exist/);
    for (const broken of [
      { ...elsewhere, src_ip: undefined },
      { ...elsewhere, src_port: 70_000 },
      { ...elsewhere, proto: 'FOO' },
    ]) {
      const refused = await running.api('/captures', postJson({ eve: broken }));
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('PCAPD_ERR_EVE_INVALID');
    }
    expect(await waitForMetric(running, 'pcapd_requests_rejected_total', { source: 'http', reason: 'PCAPD_ERR_EVE_INVALID' })).toBe(3);
    expect(await waitForMetric(running, 'pcapd_requests_rejected_total', { source: 'http', reason: 'PCAPD_ERR_INTERFACE_UNKNOWN' })).toBe(1);
    expect((await running.api('/healthz')).status).toBe(200);
  });

  const brokers = [
    ["Redis (list, as Suricata's redis output pushes)", () => RedisFixture.create('list'), 'redis'],
    ['Kafka', () => KafkaFixture.create(1), 'kafka'],
  ] as const;

  for (const [name, create, listener] of brokers) {
    it(`captures from raw EVE lines through ${name}, ignoring other event types`, async () => {
      const peer = await createPeer(4);
      const broker = await create();
      fixture = broker;
      // A new Kafka group would start at the newest message: this topic is the test's own, so read it all.
      const extra = listener === 'kafka' ? { frombeginning: 'true' } : {};
      const running = await startFlowDaemon(mergeEdits(broker.edits(), { [listener]: { messages: '"eve"', ...extra } }));
      await waitForMetric(running, 'pcapd_listener_up', { listener }, 1);
      const port = clientPort();
      const socket = await connectFrom(peer, port);
      await broker.publish(JSON.stringify({ timestamp: '2026-11-29T10:00:00.000000+0000', flow_id: 1, event_type: 'flow', src_ip: peer.host }));
      await broker.publish(eveAlertLine(tcpFlow(peer, port, { flowId: '18446744073709551615' })));
      await waitFor('the capture of the alerted flow', async () => {
        const { body } = await running.api('/captures');
        return body.captures.find((capture: { state: string }) => capture.state === 'capturing');
      });
      await exchangeAndClose(socket);
      const capture = await waitFor('the flow capture to finish', async () => {
        const { body } = await running.api('/captures');
        return body.captures.find((entry: { state: string; source: string }) => entry.state === 'done' && entry.source === listener);
      });
      expect(capture).toMatchObject({ reason: 'flow-end', flow: { flowId: '18446744073709551615' } });
      expectWholeClose(await readFile(capture.deliveries[0].locations[0] as string), peer, port);
      expect(await waitForMetric(running, 'pcapd_eve_events_ignored_total', { source: listener, event_type: 'flow' })).toBe(1);
    });
  }
});
