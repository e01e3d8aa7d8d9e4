/**
 * Broker listeners across pcapd restarts, on the real daemon and the real
 * servers: requests sent while pcapd is stopped, and pcapd killed (SIGKILL)
 * in the middle of a capture. None of it may lose a request the broker can
 * still deliver. Each test has its own channel, topic or queue, so these run
 * beside the other tests; a broker restarting is
 * test/faults/broker-restarts.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { waitForMetric, type FixtureOptions, type ListenerName } from '../helpers/brokers.js';
import { useBrokerScenario } from '../helpers/broker-scenario.js';

const { fixtureFor, daemonFor, kill, request, expectCaptured } = useBrokerScenario();

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
