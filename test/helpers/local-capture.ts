/**
 * One capture on a veth pair through the running daemon, written by the
 * local sink: armed, fed `packets` test frames, waited for, and the path the
 * local sink reports.
 */
import { join } from 'node:path';

import { expect } from 'vitest';

import { postJson, type RunningDaemon } from './daemon.js';
import { TEST_FILTER, writeTrafficPcap } from './frames.js';
import type { TestLink } from './netns.js';

export async function captureToLocalFile(
  running: RunningDaemon,
  link: TestLink,
  id: string,
  packets: number,
  extra: Record<string, unknown> = {},
): Promise<{ outcome: any; path: string }> {
  const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets, id, ...extra };
  expect((await running.api('/captures?wait=armed', postJson(request))).status).toBe(200);
  const traffic = join(running.dir, `traffic-${id}.pcap`);
  await writeTrafficPcap(traffic, packets, 800);
  await link.replay(traffic);
  const outcome = await running.waitForState(id, ['done', 'failed']);
  expect(outcome).toMatchObject({ state: 'done', packets });
  const local = outcome.deliveries.find((delivery: { sink: string }) => delivery.sink === 'local');
  const [path] = (local?.locations ?? []) as string[];
  if (path === undefined) throw new Error(`capture ${id} has no local file: ${JSON.stringify(outcome.deliveries)}`);
  return { outcome, path };
}
