/**
 * HMAC request signing with the real daemon: a node that requires signatures
 * refuses unsigned and forged requests on a broker listener and on its HTTP
 * API (logged, counted, still serving), captures what `pcapd request` signs
 * with the shared secret, and captures a replayed signed message once.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { signRequestText } from '../../src/requests/signature.js';
import { readPackets } from '../helpers/capture-files.js';
import { createFixture, mergeEdits, metricValue, uniqueName, waitForMetric, type BrokerFixture } from '../helpers/brokers.js';
import { PCAPD_BIN, postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, type TestLink } from '../helpers/netns.js';

const SECRET = 'test-signing-secret-0123456789abcdef';

let dir: string;
let fixture: BrokerFixture;
let daemon: RunningDaemon;
let link: TestLink;
let node: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-signing-'));
  fixture = await createFixture('redis', { redisMode: 'pubsub' });
  node = uniqueName('pcapd-test-node');
  link = await createTestLink();
  daemon = await startDaemon({
    edits: mergeEdits(fixture.edits(), {
      general: { node: JSON.stringify(node) },
      signing: { secrets: JSON.stringify([SECRET]), required: 'true' },
    }),
  });
});

afterAll(async () => {
  await daemon?.stop();
  await fixture?.close();
  await link?.destroy();
  await rm(dir, { recursive: true, force: true });
});

function request(fields: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
  return { id: uniqueName('req'), node, interface: [link.hostIf], bpf: TEST_FILTER, packets: 4, duration: 30, timestamp: Date.now() / 1000, ...fields };
}

async function capturedPackets(id: string, count: number): Promise<number> {
  await daemon.waitForState(id, ['capturing'], 30_000);
  const traffic = join(dir, `${id}.pcap`);
  await writeTrafficPcap(traffic, count, 200);
  await link.replay(traffic);
  const outcome = await daemon.waitForState(id, ['done', 'failed'], 30_000);
  expect(outcome).toMatchObject({ state: 'done', reason: 'packets' });
  return (await readPackets(outcome.deliveries[0].locations[0])).length;
}

it('refuses unsigned and forged requests on Redis and HTTP, counts and logs them, and keeps serving', async () => {
  await fixture.publish(JSON.stringify(request()), daemon);
  await waitForMetric(daemon, 'pcapd_requests_rejected_total', { source: 'redis', reason: 'PCAPD_ERR_REQUEST_UNSIGNED' });

  await fixture.publish(signRequestText(JSON.stringify(request()), 'not-the-secret-but-just-as-long-0000'), daemon);
  await waitForMetric(daemon, 'pcapd_requests_rejected_total', { source: 'redis', reason: 'PCAPD_ERR_SIGNATURE_INVALID' });
  await daemon.waitForLog((line) => line['code'] === 'PCAPD_ERR_SIGNATURE_INVALID' && /does not match/.test(String(line['reason'])));

  const unsigned = await daemon.api('/captures', postJson(request()));
  expect(unsigned).toMatchObject({ status: 401, body: { error: { code: 'PCAPD_ERR_REQUEST_UNSIGNED' } } });
  expect(await metricValue(daemon, 'pcapd_requests_accepted_total', { source: 'redis' })).toBe(0);
  expect((await daemon.api('/healthz')).status).toBe(200);
  // The secret never reaches a log line.
  expect(daemon.logs.some((line) => JSON.stringify(line).includes(SECRET))).toBe(false);
});

it('captures what pcapd request signs with the shared secret', async () => {
  const id = uniqueName('req');
  const sent = await new Promise<{ code: number; stderr: string }>((resolve) => {
    const args = ['request', '-config', daemon.configPath, '--node', node, '--interface', link.hostIf, '--bpf', TEST_FILTER, '--packets', '4', '--id', id];
    execFile(PCAPD_BIN, args, { timeout: 60_000 }, (err, _stdout, stderr) => resolve({ code: err === null ? 0 : Number(err.code ?? -1), stderr }));
  });
  expect(sent).toMatchObject({ code: 0 });
  expect(await capturedPackets(id, 4)).toBe(4);
});

it('captures a signed message replayed within the window once', async () => {
  const signed = signRequestText(JSON.stringify(request({ packets: 3 })), SECRET);
  const id = (JSON.parse(JSON.parse(signed).signed) as { id: string }).id;
  const before = await metricValue(daemon, 'pcapd_requests_accepted_total', { source: 'redis' });
  await fixture.publish(signed, daemon);
  expect(await capturedPackets(id, 3)).toBe(3);
  await fixture.publish(signed, daemon);
  await waitForMetric(daemon, 'pcapd_requests_duplicate_total', { source: 'redis' });
  expect(await metricValue(daemon, 'pcapd_requests_accepted_total', { source: 'redis' })).toBe(before + 1);
});
