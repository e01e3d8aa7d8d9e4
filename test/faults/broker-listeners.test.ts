/**
 * Broker listeners under faults, on the real daemon and the real servers:
 * the broker restarts while pcapd runs; requests are sent while pcapd is
 * stopped; pcapd is killed (SIGKILL) in the middle of a capture. None of it
 * may lose a request the broker can still deliver.
 *
 * These restart the shared test servers, so they run in the "faults" project:
 * after every other test, one file at a time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createFixture,
  mergeEdits,
  restartService,
  uniqueName,
  waitForMetric,
  type BrokerFixture,
  type Edits,
  type FixtureOptions,
  type ListenerName,
  SqsFixture,
} from '../helpers/brokers.js';
import { readPackets } from '../helpers/capture-files.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

let dir: string;
let fileCounter = 0;
let link: TestLink;
let node: string;
const daemons: RunningDaemon[] = [];
const fixtures: BrokerFixture[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-faults-'));
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

describe('a broker restarting while pcapd runs', () => {
  it('redis pub/sub: pcapd resubscribes, and a request published after Redis is back is captured', async () => {
    const fixture = await fixtureFor('redis');
    const daemon = await daemonFor(fixture);
    await restartService('redis');
    await expectReconnected(daemon, 'redis');
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted), daemon); // retried until a subscriber receives it
    await expectCaptured(daemon, wanted.id, 'redis');
  }, 120_000);

  it('kafka: pcapd carries on, and a request produced after the broker is back is captured', async () => {
    const fixture = await fixtureFor('kafka');
    const daemon = await daemonFor(fixture);
    await restartService('kafka');
    await expectReconnected(daemon, 'kafka');
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted), daemon);
    await expectCaptured(daemon, wanted.id, 'kafka', 60_000);
  }, 180_000);

  it('sqs: pcapd carries on, and a request sent after the server is back is captured', async () => {
    const fixture = (await fixtureFor('sqs')) as SqsFixture;
    const daemon = await daemonFor(fixture);
    await restartService('elasticmq');
    // ElasticMQ keeps queues in memory: the queue comes back empty, under the same URL.
    await fixture.recreateQueue();
    await expectReconnected(daemon, 'sqs');
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted));
    await expectCaptured(daemon, wanted.id, 'sqs');
  }, 120_000);
});

describe('a request sent while pcapd is stopped', () => {
  it.each<{ listener: ListenerName; options: FixtureOptions }>([
    { listener: 'redis', options: { redisMode: 'streams' } },
    { listener: 'kafka', options: {} },
  ])(
    '$listener: is captured when pcapd starts, unless it is stale',
    async ({ listener, options }) => {
      const fixture = await fixtureFor(listener, options);
      // The first start creates the consumer group, so it has a position to resume from.
      const first = await daemonFor(fixture);
      await first.stop();
      const stale = request({ timestamp: new Date(Date.now() - 3_600_000).toISOString() });
      const fresh = request({ timestamp: new Date().toISOString() });
      await fixture.publish(JSON.stringify(stale), first);
      await fixture.publish(JSON.stringify(fresh), first);

      const second = await daemonFor(fixture);
      await expectCaptured(second, fresh.id, listener);
      await waitForMetric(second, 'pcapd_requests_rejected_total', { source: listener, reason: 'PCAPD_ERR_REQUEST_STALE' });
      expect((await second.api(`/captures/${stale.id}`)).status).toBe(404);
    },
    120_000,
  );
});

describe('pcapd killed in the middle of a capture', () => {
  it('redis streams: the entry it was capturing is still pending and is captured at the next start', async () => {
    const fixture = await fixtureFor('redis', { redisMode: 'streams' });
    const first = await daemonFor(fixture);
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted), first);
    await first.waitForState(wanted.id, ['capturing'], 30_000);
    await kill(first);

    const second = await daemonFor(fixture);
    await expectCaptured(second, wanted.id, 'redis');
  }, 120_000);

  it('kafka: the uncommitted request is read again by the next start and captured', async () => {
    const fixture = await fixtureFor('kafka');
    const first = await daemonFor(fixture);
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted), first);
    await first.waitForState(wanted.id, ['capturing'], 30_000);
    await kill(first);

    // The killed member holds its partitions until its session (10 s) expires.
    const second = await daemonFor(fixture);
    await expectCaptured(second, wanted.id, 'kafka', 60_000);
  }, 150_000);

  it('sqs: the undeleted message reappears after its visibility timeout and is captured', async () => {
    const fixture = await fixtureFor('sqs', { sqsVisibilitySeconds: 4 });
    const first = await daemonFor(fixture);
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted), first);
    // Longer than the 4 s visibility timeout: the message stays hidden while it runs.
    await first.waitForState(wanted.id, ['capturing'], 30_000);
    await waitForMetric(first, 'pcapd_listener_settlements_total', { listener: 'sqs', action: 'extend' }, 2, 15_000);
    await kill(first);

    const second = await daemonFor(fixture);
    await expectCaptured(second, wanted.id, 'sqs');
  }, 120_000);
});
