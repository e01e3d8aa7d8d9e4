/**
 * SIGTERM with a capture running from a broker: the capture ends early (reason
 * shutdown), is delivered, and only then is its message acknowledged, so the
 * next start does not capture it again.
 */
import { afterEach, expect, it } from 'vitest';

import { createFixture, mergeEdits, SqsFixture, uniqueName, type BrokerFixture, type FixtureOptions, type ListenerName } from '../helpers/brokers.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';

const daemons: RunningDaemon[] = [];
let fixture: BrokerFixture | undefined;
let link: TestLink | undefined;

afterEach(async () => {
  for (const daemon of daemons.splice(0)) await daemon.stop();
  await fixture?.close();
  await link?.destroy();
  await destroyAllTestLinks();
});

it.each<{ listener: ListenerName; options: FixtureOptions }>([
  { listener: 'redis', options: { redisMode: 'streams' } },
  { listener: 'kafka', options: { kafkaPartitions: 1 } },
  { listener: 'sqs', options: { sqsVisibilitySeconds: 2 } },
])(
  '$listener: acknowledges a capture cut short by SIGTERM once it is delivered',
  async ({ listener, options }) => {
    fixture = await createFixture(listener, options);
    link = await createTestLink();
    const node = uniqueName('pcapd-test-node');
    const edits = mergeEdits(fixture.edits(), { general: { node: JSON.stringify(node), deliverempty: 'true' } });
    const request = (id: string): string => JSON.stringify({ id, node, interface: [link?.hostIf], bpf: TEST_FILTER, packets: 5, duration: 60 });

    const first = await startDaemon({ edits });
    daemons.push(first);
    const cut = uniqueName('req');
    await fixture.publish(request(cut), first);
    await first.waitForState(cut, ['capturing'], 30_000);
    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const ended = first.logs.find((line) => line.msg === 'capture ended' && line['reqId'] === cut);
    expect(ended?.['reason']).toBe('shutdown');
    expect(first.logs.some((line) => line.msg === 'capture delivered' && line['reqId'] === cut)).toBe(true);

    if (fixture instanceof SqsFixture) {
      // Not deleted, it would be visible again after its 2 s visibility timeout.
      expect(await fixture.receive(5)).toEqual([]);
      return;
    }
    // Streams and Kafka keep order: once a later request is captured, an
    // unacknowledged earlier one would have been read before it.
    const second = await startDaemon({ edits });
    daemons.push(second);
    const later = uniqueName('req');
    await fixture.publish(request(later), second);
    await second.waitForState(later, ['capturing'], 30_000);
    expect((await second.api(`/captures/${cut}`)).status).toBe(404);
  },
  120_000,
);
