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
import type { RunningDaemon } from '../helpers/daemon.js';
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

interface KilledCase {
  listener: ListenerName;
  options: FixtureOptions;
  what: string;
  /** What must have happened before the kill for the case to mean anything. */
  beforeKill?: (daemon: RunningDaemon) => Promise<unknown>;
  capturedWithinMs?: number;
}

const killedCases: KilledCase[] = [
  { listener: 'redis', options: { redisMode: 'streams' }, what: 'the entry it was capturing is still pending and is captured at the next start' },
  {
    listener: 'kafka',
    options: {},
    what: 'the uncommitted request is read again by the next start and captured',
    // The killed member holds its partitions until its session (10 s) expires.
    capturedWithinMs: 60_000,
  },
  {
    listener: 'sqs',
    options: { sqsVisibilitySeconds: 4 },
    what: 'the undeleted message reappears after its visibility timeout and is captured',
    // Longer than the 4 s visibility timeout: the message stays hidden while it runs.
    beforeKill: (daemon) => waitForMetric(daemon, 'pcapd_listener_settlements_total', { listener: 'sqs', action: 'extend' }, 2, 15_000),
  },
];

describe('pcapd killed in the middle of a capture', () => {
  for (const { listener, options, what, beforeKill, capturedWithinMs } of killedCases) {
    it(`${listener}: ${what}`, async () => {
      const fixture = await fixtureFor(listener, options);
      const first = await daemonFor(fixture);
      const wanted = request();
      await fixture.publish(JSON.stringify(wanted), first);
      await first.waitForState(wanted.id, ['capturing'], 30_000);
      await beforeKill?.(first);
      await kill(first);

      const second = await daemonFor(fixture);
      await expectCaptured(second, wanted.id, listener, capturedWithinMs);
    }, 150_000);
  }
});
