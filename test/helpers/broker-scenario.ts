/**
 * Broker listeners through a pcapd lifetime, on the real daemon and the real
 * servers: what a test of a broker fault needs. Each test gets its own node
 * name and veth pair; the daemons and broker fixtures it made are stopped
 * after it. Call useBrokerScenario() once at the top of a test file: it
 * registers the hooks and returns the helpers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

import { createFixture, mergeEdits, uniqueName, waitForMetric, type BrokerFixture, type Edits, type FixtureOptions, type ListenerName } from './brokers.js';
import { readPackets } from './capture-files.js';
import { startDaemon, type RunningDaemon } from './daemon.js';
import { TEST_FILTER, writeTrafficPcap } from './frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from './netns.js';

export interface BrokerScenario {
  fixtureFor(listener: ListenerName, options?: FixtureOptions): Promise<BrokerFixture>;
  daemonFor(fixture: BrokerFixture, extra?: Edits): Promise<RunningDaemon>;
  kill(daemon: RunningDaemon): Promise<void>;
  request(fields?: Record<string, unknown>): Record<string, unknown> & { id: string };
  expectCaptured(daemon: RunningDaemon, id: string, source: string, armTimeoutMs?: number): Promise<void>;
  expectReconnected(daemon: RunningDaemon, listener: string): Promise<void>;
}

export function useBrokerScenario(): BrokerScenario {
  let dir: string;
  let fileCounter = 0;
  let link: TestLink;
  let node: string;
  const daemons: RunningDaemon[] = [];
  const fixtures: BrokerFixture[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcapd-brokers-'));
  });

  afterAll(async () => {
    await destroyAllTestLinks();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    node = uniqueName('pcapd-test-node');
    link = await createTestLink();
  });

  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && process.env['PCAPD_TEST_DEBUG']) {
      for (const daemon of daemons) for (const line of daemon.logs) if (line.level !== 20) process.stderr.write(`${JSON.stringify(line).slice(0, 400)}\n`);
    }
    for (const daemon of daemons.splice(0)) await daemon.stop();
    for (const fixture of fixtures.splice(0)) await fixture.close();
    await link.destroy();
  });

  async function fixtureFor(listener: ListenerName, options: FixtureOptions = {}): Promise<BrokerFixture> {
    const fixture = await createFixture(listener, options);
    fixtures.push(fixture);
    return fixture;
  }

  async function daemonFor(fixture: BrokerFixture, extra: Edits = {}): Promise<RunningDaemon> {
    const daemon = await startDaemon({ edits: mergeEdits(fixture.edits(), { general: { node: JSON.stringify(node) } }, extra) });
    daemons.push(daemon);
    return daemon;
  }

  async function kill(daemon: RunningDaemon): Promise<void> {
    daemon.process.kill('SIGKILL');
    await daemon.exited;
  }

  function request(fields: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
    return { id: uniqueName('req'), node, interface: [link.hostIf], bpf: TEST_FILTER, packets: 5, duration: 60, ...fields };
  }

  /** Waits until `daemon` has the capture armed, sends 5 frames, checks the delivered pcap holds them. */
  async function expectCaptured(daemon: RunningDaemon, id: string, source: string, armTimeoutMs = 30_000): Promise<void> {
    await daemon.waitForState(id, ['capturing'], armTimeoutMs);
    const traffic = join(dir, `traffic-${++fileCounter}.pcap`);
    await writeTrafficPcap(traffic, 5, 200);
    await link.replay(traffic);
    const outcome = await daemon.waitForState(id, ['done', 'failed'], 30_000);
    expect(outcome).toMatchObject({ state: 'done', source, reason: 'packets', packets: 5 });
    const packets = await readPackets(outcome.deliveries[0].locations[0]);
    expect(packets.map((packet) => packet.sequence)).toEqual([0, 1, 2, 3, 4]);
  }

  /** The broker went away and the listener is back: one disconnect counted, up again. */
  async function expectReconnected(daemon: RunningDaemon, listener: string): Promise<void> {
    await waitForMetric(daemon, 'pcapd_listener_disconnects_total', { listener }, 1, 60_000);
    await waitForMetric(daemon, 'pcapd_listener_up', { listener }, 1, 60_000);
    expect(daemon.logs.some((line) => line['code'] === 'PCAPD_ERR_BROKER_CONNECTION' && line['listener'] === listener)).toBe(true);
  }

  return { fixtureFor, daemonFor, kill, request, expectCaptured, expectReconnected };
}
