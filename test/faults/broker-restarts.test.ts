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

import { restartService, type BrokerFixture, type ListenerName, type SqsFixture } from '../helpers/brokers.js';
import { useBrokerScenario } from '../helpers/broker-scenario.js';

const { fixtureFor, daemonFor, request, expectCaptured, expectReconnected } = useBrokerScenario();

interface RestartCase {
  listener: ListenerName;
  service: 'redis' | 'kafka' | 'elasticmq';
  what: string;
  /** What the broker's restart calls for before pcapd can be expected back. */
  afterRestart?: (fixture: BrokerFixture) => Promise<void>;
  capturedWithinMs?: number;
  timeoutMs: number;
}

const restartCases: RestartCase[] = [
  // The publish is retried until a subscriber receives it.
  { listener: 'redis', service: 'redis', what: 'pcapd resubscribes, and a request published after Redis is back is captured', timeoutMs: 120_000 },
  {
    listener: 'kafka',
    service: 'kafka',
    what: 'pcapd carries on, and a request produced after the broker is back is captured',
    capturedWithinMs: 60_000,
    timeoutMs: 180_000,
  },
  {
    listener: 'sqs',
    service: 'elasticmq',
    what: 'pcapd carries on, and a request sent after the server is back is captured',
    // ElasticMQ keeps queues in memory: the queue comes back empty, under the same URL.
    afterRestart: (fixture) => (fixture as SqsFixture).recreateQueue(),
    timeoutMs: 120_000,
  },
];

describe('a broker restarting while pcapd runs', () => {
  for (const { listener, service, what, afterRestart, capturedWithinMs, timeoutMs } of restartCases) {
    it(
      `${listener}: ${what}`,
      async () => {
        const fixture = await fixtureFor(listener);
        const daemon = await daemonFor(fixture);
        await restartService(service);
        await afterRestart?.(fixture);
        await expectReconnected(daemon, listener);
        const wanted = request();
        await fixture.publish(JSON.stringify(wanted), daemon);
        await expectCaptured(daemon, wanted.id, listener, capturedWithinMs);
      },
      timeoutMs,
    );
  }
});
