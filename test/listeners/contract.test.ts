/**
 * One contract, every listener (redis, kafka, sqs, http): the real daemon
 * process takes requests published with the broker's own client, captures
 * real traffic from a veth pair into a pcap that tshark reads back, refuses
 * bad messages without losing the next good one, leaves other nodes'
 * requests alone, and sends result events where a request asks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { readPackets } from '../helpers/capture-files.js';
import {
  createFixture,
  mergeEdits,
  metricValue,
  uniqueName,
  waitForMetric,
  watchReplies,
  type BrokerFixture,
  type FixtureOptions,
  type ListenerName,
} from '../helpers/brokers.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

/** Each listener (Redis in both of its modes), with what the fixture needs to feed it. */
const LISTENERS: ReadonlyArray<{ label: string; listener: ListenerName; options: FixtureOptions }> = [
  { label: 'redis (pub/sub)', listener: 'redis', options: { redisMode: 'pubsub' } },
  { label: 'redis (streams)', listener: 'redis', options: { redisMode: 'streams' } },
  { label: 'kafka', listener: 'kafka', options: {} },
  { label: 'sqs', listener: 'sqs', options: {} },
  { label: 'http', listener: 'http', options: {} },
];

let dir: string;
let fileCounter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-contract-'));
});

afterAll(async () => {
  await destroyAllTestLinks();
  await rm(dir, { recursive: true, force: true });
});

async function traffic(count: number, firstSequence = 0): Promise<string> {
  const path = join(dir, `traffic-${++fileCounter}.pcap`);
  await writeTrafficPcap(path, count, 200, { firstSequence });
  return path;
}

describe.each(LISTENERS)('the $label listener', ({ listener, options }) => {
  let fixture: BrokerFixture;
  let daemon: RunningDaemon;
  let link: TestLink;
  let node: string;

  beforeEach(async () => {
    fixture = await createFixture(listener, options);
    node = uniqueName('pcapd-test-node');
    link = await createTestLink();
    daemon = await startDaemon({ edits: mergeEdits(fixture.edits(), { general: { node: JSON.stringify(node) } }) });
  });

  afterEach(async () => {
    await daemon?.stop();
    await fixture?.close();
    await link?.destroy();
  });

  function request(fields: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
    return { id: uniqueName('req'), node, interface: [link.hostIf], bpf: TEST_FILTER, packets: 10, duration: 30, ...fields };
  }

  /** Waits until the capture is armed, sends `count` frames, returns the delivered file's packets. */
  async function captureOf(id: string, count = 10, firstSequence = 0): Promise<number[]> {
    await daemon.waitForState(id, ['capturing'], 30_000);
    await link.replay(await traffic(count, firstSequence));
    const outcome = await daemon.waitForState(id, ['done', 'failed'], 30_000);
    expect(outcome).toMatchObject({ state: 'done', source: listener, reason: 'packets', packets: count });
    const path: string = outcome.deliveries[0].locations[0];
    return (await readPackets(path)).map((packet) => packet.sequence);
  }

  it('captures a request published with its own client: the pcap holds exactly the packets sent', async () => {
    const wanted = request();
    await fixture.publish(JSON.stringify(wanted), daemon);
    expect(await captureOf(wanted.id)).toEqual([...Array(10).keys()]);
    expect(await metricValue(daemon, 'pcapd_requests_accepted_total', { source: listener })).toBe(1);
  });

  it('refuses and counts malformed, unknown-field and oversized messages, and still captures the next valid one', async () => {
    const typo = { ...request(), pakets: 3 };
    await fixture.publish('{"node": "not json', daemon);
    await fixture.publish(JSON.stringify(typo), daemon);
    // Over general.maxrequestbytes (64 KiB): refused by the intake; the subscription stays up.
    await fixture.publish(JSON.stringify({ ...request(), tags: 'x'.repeat(200 * 1024) }), daemon);
    for (const reason of ['PCAPD_ERR_REQUEST_JSON', 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', 'PCAPD_ERR_REQUEST_TOO_LARGE']) {
      await waitForMetric(daemon, 'pcapd_requests_rejected_total', { source: listener, reason });
    }
    const valid = request({ packets: 5 });
    await fixture.publish(JSON.stringify(valid), daemon);
    expect(await captureOf(valid.id, 5, 100)).toEqual([100, 101, 102, 103, 104]);
    expect((await daemon.api(`/captures/${typo.id}`)).status).toBe(404);
  }, 90_000);

  it('leaves a request for another node alone', async () => {
    const elsewhere = request({ node: `${node}-other` });
    await fixture.publish(JSON.stringify(elsewhere), daemon);
    await waitForMetric(daemon, 'pcapd_requests_ignored_total', { source: listener });
    expect((await daemon.api(`/captures/${elsewhere.id}`)).status).toBe(404);
    if (listener === 'sqs') {
      // Released at once (visibility 0): with the queue's own timeout at 30 s,
      // receiving it again within seconds shows it was visible to every node.
      await waitForMetric(daemon, 'pcapd_listener_settlements_total', { listener: 'sqs', action: 'release' }, 2, 5_000);
      await waitForMetric(daemon, 'pcapd_requests_ignored_total', { source: 'sqs' }, 2, 5_000);
    }
  });

  it.runIf(listener !== 'http')(
    'sends the result event to the reply destination the request names',
    async () => {
      const transport = listener as Exclude<ListenerName, 'http'>;
      const watcher = await watchReplies(transport);
      try {
        const wanted = request({ reply: watcher.reply, packets: 3 });
        await fixture.publish(JSON.stringify(wanted), daemon);
        await captureOf(wanted.id, 3);
        const event = await watcher.next();
        expect(event).toMatchObject({ id: wanted.id, node, source: listener, state: 'done', packets: 3, reason: 'packets' });
        await waitForMetric(daemon, 'pcapd_result_events_total', { transport, outcome: 'ok' });

        // A refused request with a readable reply field hears why.
        const bad = request({ reply: watcher.reply, interface: ['pcapd-no-such-if0'] });
        await fixture.publish(JSON.stringify(bad), daemon);
        expect(await watcher.next()).toMatchObject({ id: bad.id, state: 'rejected', error: { code: 'PCAPD_ERR_INTERFACE_UNKNOWN' } });
      } finally {
        await watcher.close();
      }
    },
    90_000,
  );

  /** `pcapd request` through this listener for 4 packets of the test traffic, waiting as `wait` says. */
  function requestArgs(id: string, wait: '--wait' | '--wait=armed'): string[] {
    const via = listener === 'http' ? ['--via', listener, '--url', daemon.baseUrl] : ['--via', listener];
    const capture = ['--node', node, '--interface', link.hostIf, '--bpf', TEST_FILTER, '--packets', '4', '--duration', '30'];
    return ['request', '-config', daemon.configPath, ...via, ...capture, '--id', id, wait, '--wait-timeout', '60'];
  }

  it('is what `pcapd request --wait` publishes through, and prints the result event', async () => {
    const id = uniqueName('req');
    const command = run(join(process.cwd(), 'bin/pcapd'), requestArgs(id, '--wait'), 90_000);
    await daemon.waitForState(id, ['capturing'], 30_000);
    await link.replay(await traffic(4));
    const lines = (await command).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ id, node, source: listener, state: 'done', packets: 4 });
  }, 120_000);

  it('is what `pcapd request --wait=armed` waits on: it returns once the capture records, and the traffic after it is all captured', async () => {
    const id = uniqueName('req');
    const stdout = await run(join(process.cwd(), 'bin/pcapd'), requestArgs(id, '--wait=armed'), 90_000);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ id, node, source: listener, state: 'capturing' });
    await link.replay(await traffic(4));
    expect(await daemon.waitForState(id, ['done', 'failed'], 30_000)).toMatchObject({ state: 'done', reason: 'packets', packets: 4 });
  }, 120_000);
});
