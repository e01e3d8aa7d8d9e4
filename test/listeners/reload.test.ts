/**
 * SIGHUP with a changed listener section: that listener is restarted on the
 * new settings (here a Redis channel), the others keep running.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

import { createFixture, mergeEdits, newRedis, uniqueName, waitForMetric, type RedisFixture } from '../helpers/brokers.js';
import { readPackets } from '../helpers/capture-files.js';
import { editToml, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

let dir: string;
let daemon: RunningDaemon | undefined;
let link: TestLink | undefined;
let fixture: RedisFixture | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-reload-'));
});

afterEach(async () => {
  await daemon?.stop();
  await fixture?.close();
  await link?.destroy();
});

afterAll(async () => {
  await destroyAllTestLinks();
  await rm(dir, { recursive: true, force: true });
});

it('SIGHUP with a new [redis] channel moves the subscription there; the HTTP API keeps its port', async () => {
  fixture = (await createFixture('redis')) as RedisFixture;
  link = await createTestLink();
  const node = uniqueName('pcapd-test-node');
  daemon = await startDaemon({ edits: mergeEdits(fixture.edits(), { general: { node: JSON.stringify(node) } }) });
  const running = daemon;
  const baseUrl = running.baseUrl;

  const newChannel = uniqueName('pcapd-test');
  const config = await readFile(running.configPath, 'utf8');
  await writeFile(running.configPath, editToml(config, { redis: { channel: JSON.stringify(newChannel) } }));
  running.process.kill('SIGHUP');
  await running.waitForLog((line) => line.msg === 'config reloaded');

  const publisher = newRedis();
  try {
    await waitForMetric(running, 'pcapd_listener_up', { listener: 'redis' });
    expect(await publisher.publish(fixture.channel, '{}')).toBe(0); // nobody on the old channel
    const id = uniqueName('req');
    const body = JSON.stringify({ id, node, interface: [link.hostIf], bpf: TEST_FILTER, packets: 3, duration: 30 });
    expect(await publisher.publish(newChannel, body)).toBe(1);
    await running.waitForState(id, ['capturing'], 30_000);
    const traffic = join(dir, 'traffic.pcap');
    await writeTrafficPcap(traffic, 3, 200);
    await link.replay(traffic);
    const outcome = await running.waitForState(id, ['done'], 30_000);
    expect((await readPackets(outcome.deliveries[0].locations[0])).map((p) => p.sequence)).toEqual([0, 1, 2]);
    expect(running.baseUrl).toBe(baseUrl);
    expect((await running.api('/healthz')).status).toBe(200);
  } finally {
    publisher.disconnect();
  }
}, 90_000);

it('SIGHUP enabling [redis] on a daemon started without it loads the listener then and captures what it receives', async () => {
  fixture = (await createFixture('redis')) as RedisFixture;
  link = await createTestLink();
  const node = uniqueName('pcapd-test-node');
  daemon = await startDaemon({ edits: { general: { node: JSON.stringify(node) } } });
  const running = daemon;
  expect((await running.waitForLog((line) => line.msg === 'pcapd started'))['listeners']).toEqual(['http']);

  const config = await readFile(running.configPath, 'utf8');
  await writeFile(running.configPath, editToml(config, fixture.edits()));
  running.process.kill('SIGHUP');
  await running.waitForLog((line) => line.msg === 'config reloaded');

  const publisher = newRedis();
  try {
    await waitForMetric(running, 'pcapd_listener_up', { listener: 'redis' });
    const id = uniqueName('req');
    const body = JSON.stringify({ id, node, interface: [link.hostIf], bpf: TEST_FILTER, packets: 2, duration: 30 });
    expect(await publisher.publish(fixture.channel, body)).toBe(1);
    await running.waitForState(id, ['capturing'], 30_000);
    const traffic = join(dir, 'traffic-late.pcap');
    await writeTrafficPcap(traffic, 2, 200);
    await link.replay(traffic);
    const outcome = await running.waitForState(id, ['done'], 30_000);
    expect((await readPackets(outcome.deliveries[0].locations[0])).map((p) => p.sequence)).toEqual([0, 1]);
  } finally {
    publisher.disconnect();
  }
}, 90_000);
