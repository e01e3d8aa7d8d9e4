/**
 * An alert storm: 50 capture requests for one interface sent at once, through
 * the HTTP API and, separately, through Redis pub/sub (which keeps nothing: a
 * request refused there is not redelivered). Every request must end accounted
 * for: captured, or refused with a code, in its own result event and in
 * /metrics; the counts add up to 50 per transport. On the default scheduler
 * settings every one of them is captured; with the old default (queue = 0)
 * most are refused. Each scenario prints its figures; the README's
 * [scheduler] part and the schema's description of `queue` quote them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../../src/config/load.js';
import { metricSum, metricValue, RedisFixture, watchReplies, waitForMetric, type ReplyWatcher } from '../helpers/brokers.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { createTestLink, type TestLink } from '../helpers/netns.js';

const BURST = 50;
/** Long enough that the four captures an interface runs at once (scheduler.perinterface) hold their slots while the burst arrives. */
const CAPTURE_SECONDS = 1;

let link: TestLink;
let redis: RedisFixture;

beforeAll(async () => {
  link = await createTestLink();
  redis = await RedisFixture.create('pubsub');
});

afterAll(async () => {
  await redis?.close();
  await link?.destroy();
});

interface Tally {
  captured: number;
  refused: Record<string, number>;
  seconds: number;
}

async function captureMetrics(daemon: RunningDaemon): Promise<number> {
  return (await metricSum(daemon, 'pcapd_captures_finished_total')) + (await metricSum(daemon, 'pcapd_captures_failed_total'));
}

/**
 * Sends the burst, then reads one final result event per request id from the
 * reply channel: `done`, or `failed`/`rejected` with an error code.
 */
async function burst(daemon: RunningDaemon, transport: 'http' | 'redis', replies: ReplyWatcher): Promise<Tally> {
  const capturesBefore = await captureMetrics(daemon);
  const ids = Array.from({ length: BURST }, (_, i) => `burst-${transport}-${i}`);
  const bodies = ids.map((id) => JSON.stringify({ node: 'any', interface: [link.hostIf], bpf: 'icmp', duration: CAPTURE_SECONDS, id, reply: replies.reply }));
  const startedMs = Date.now();
  if (transport === 'http') {
    const answers = await Promise.all(bodies.map(async (body) => (await fetch(`${daemon.baseUrl}/captures`, postJson(body))).status));
    for (const status of answers) expect([202, 503]).toContain(status);
  } else {
    const pipeline = redis.redis.pipeline();
    for (const body of bodies) pipeline.publish(redis.channel, body);
    const published = (await pipeline.exec()) ?? [];
    // Each message reached pcapd's subscription: whatever becomes of it is pcapd's doing.
    expect(published.map(([err, receivers]) => (err === null ? receivers : err))).toEqual(ids.map(() => 1));
  }

  const finals = new Map<string, Record<string, unknown>>();
  while (finals.size < BURST) {
    const event = await replies.next(60_000);
    const id = String(event['id']);
    expect(ids).toContain(id);
    expect(finals.has(id), `a second final event for ${id}`).toBe(false);
    finals.set(id, event);
  }
  const tally: Tally = { captured: 0, refused: {}, seconds: (Date.now() - startedMs) / 1000 };
  for (const event of finals.values()) {
    if (event['state'] === 'done') {
      expect(event['reason']).toBe('duration');
      tally.captured += 1;
    } else {
      expect(event['state']).toMatch(/^(failed|rejected)$/);
      const code = String((event['error'] as { code?: unknown } | undefined)?.code);
      expect(code).toMatch(/^PCAPD_ERR_[A-Z_]+$/);
      tally.refused[code] = (tally.refused[code] ?? 0) + 1;
    }
  }

  // /metrics counts the same: every request received, accepted or rejected with its code, and
  // every accepted one ended as a capture (finished or failed).
  expect(await metricValue(daemon, 'pcapd_requests_received_total', { source: transport })).toBe(BURST);
  const accepted = await metricValue(daemon, 'pcapd_requests_accepted_total', { source: transport });
  const rejected = await metricSum(daemon, 'pcapd_requests_rejected_total', { source: transport });
  expect(accepted + rejected).toBe(BURST);
  expect((await captureMetrics(daemon)) - capturesBefore).toBe(accepted);
  const refusedAtIntake = Object.values(tally.refused).reduce((sum, n) => sum + n, 0) - (accepted - tally.captured);
  expect(refusedAtIntake).toBe(rejected);
  return tally;
}

function report(scenario: string, transport: string, tally: Tally): void {
  const refused =
    Object.entries(tally.refused)
      .map(([code, n]) => `${n} ${code}`)
      .join(', ') || 'none';
  process.stdout.write(
    `burst of ${BURST} on one interface, ${scenario}, via ${transport}: ${tally.captured} captured, refused: ${refused}; all settled in ${tally.seconds.toFixed(1)} s\n`,
  );
}

async function runScenario(scenario: string, edits: Record<string, Record<string, string>>): Promise<Record<'http' | 'redis', Tally>> {
  const daemon = await startDaemon({ edits: { ...redis.edits(), ...edits, general: { node: '"sensor-burst"' } } });
  const replies = await watchReplies('redis');
  try {
    await waitForMetric(daemon, 'pcapd_listener_up', { listener: 'redis' });
    const http = await burst(daemon, 'http', replies);
    report(scenario, 'HTTP', http);
    const viaRedis = await burst(daemon, 'redis', replies);
    report(scenario, 'Redis pub/sub', viaRedis);
    return { http, redis: viaRedis };
  } finally {
    await replies.close();
    await daemon.stop();
  }
}

describe('a burst of 50 capture requests on one interface', () => {
  it('on the default scheduler settings: every request is captured, through HTTP and through Redis pub/sub', async () => {
    const { scheduler } = await loadConfigFile(DEFAULT_CONFIG_PATH);
    expect(scheduler.queue).toBeGreaterThanOrEqual(BURST);
    const tallies = await runScenario(`default (queue ${scheduler.queue}, queuetimeout ${scheduler.queuetimeout} s)`, {});
    for (const tally of Object.values(tallies)) expect(tally).toMatchObject({ captured: BURST, refused: {} });
  }, 180_000);

  it('with queue = 0 (the old default): the requests beyond the free slots are refused, each with its code, none lost', async () => {
    const tallies = await runScenario('queue = 0', { scheduler: { queue: '0' } });
    for (const tally of Object.values(tallies)) {
      expect(tally.captured).toBeGreaterThanOrEqual(4); // scheduler.perinterface
      expect(tally.captured + (tally.refused['PCAPD_ERR_ADMISSION_FULL'] ?? 0)).toBe(BURST);
    }
  }, 180_000);
});
