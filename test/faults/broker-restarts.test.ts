/**
 * Broker listeners while their broker restarts under a running pcapd, on the
 * real daemon and the real servers: pcapd reconnects and a request sent after
 * the broker is back is captured.
 *
 * These restart the shared test servers, so they run in the "faults" project:
 * after every other test, one file at a time. (Requests sent while pcapd is
 * stopped, and pcapd killed mid-capture, touch no shared server:
 * test/listeners/broker-recovery.test.ts.)
 */
import { describe, it } from 'vitest';

import { restartService, type SqsFixture } from '../helpers/brokers.js';
import { useBrokerScenario } from '../helpers/broker-scenario.js';

const { fixtureFor, daemonFor, request, expectCaptured, expectReconnected } = useBrokerScenario();

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
