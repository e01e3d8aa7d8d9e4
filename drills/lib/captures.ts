/**
 * Asking the real daemon for captures on a test link, sending them their
 * traffic, and reading back where each ended: the steps every drill shares.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { postJson, type RunningDaemon } from '../../test/helpers/daemon.js';
import { TEST_FILTER, writeTrafficPcap } from '../../test/helpers/frames.js';
import type { TestLink } from '../../test/helpers/netns.js';

export interface Outcome {
  id: string;
  state: string;
  reason?: string;
  packets: number;
  error?: { code: string; message: string };
  deliveries: Array<{ sink: string; locations: string[] }>;
  deliveryFailures: Array<{ sink: string; code: string }>;
  pending?: Array<{ sink: string; code: string }>;
}

export function captureRequest(link: TestLink, id: string, limits: Record<string, unknown>): Record<string, unknown> {
  return { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, id, ...limits };
}

/** POSTs the request and waits until it records packets. */
export async function armCapture(daemon: RunningDaemon, request: Record<string, unknown>): Promise<string> {
  const id = String(request['id']);
  const { status, body } = await daemon.api('/captures', postJson(request));
  if (status !== 202) throw new Error(`POST /captures ${id}: ${status} ${JSON.stringify(body)}`);
  await daemon.waitForState(id, ['capturing']);
  return id;
}

/** Sends `frames` UDP frames matching TEST_FILTER from the link's far end. */
export async function sendFrames(link: TestLink, dir: string, frames: number, frameBytes = 600, pps = 5000): Promise<void> {
  const path = join(dir, `traffic-${frames}x${frameBytes}.pcap`);
  await writeTrafficPcap(path, frames, frameBytes);
  await link.replay(path, { pps });
}

/** A capture of `frames` packets, end to end: armed, traffic sent, finished. */
export async function captureFrames(daemon: RunningDaemon, link: TestLink, dir: string, id: string, frames: number): Promise<Outcome> {
  await armCapture(daemon, captureRequest(link, id, { packets: frames, duration: 30 }));
  await sendFrames(link, dir, frames);
  return (await daemon.waitForState(id, ['done', 'failed'], 30_000)) as Outcome;
}

export function sinksOf(outcome: Outcome | undefined): string[] {
  return (outcome?.deliveries ?? []).map((delivery) => delivery.sink).sort();
}

/** Polls GET /captures/:id until every one of `sinks` has the capture and nothing is pending. */
export async function waitDelivered(daemon: RunningDaemon, id: string, sinks: readonly string[], timeoutMs: number): Promise<Outcome | undefined> {
  const deadline = performance.now() + timeoutMs;
  const want = [...sinks].sort().join(',');
  for (;;) {
    const { status, body } = await daemon.api(`/captures/${id}`).catch(() => ({ status: 0, body: undefined }));
    const outcome = status === 200 ? (body as Outcome) : undefined;
    if (outcome !== undefined && sinksOf(outcome).join(',') === want && (outcome.pending ?? []).length === 0) return outcome;
    if (performance.now() > deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Files in the local sink's folder whose name carries the capture id (names end in -<id>.pcapng); not their hidden sidecars. */
export async function localCopies(captureDir: string, id: string): Promise<number> {
  const names = await readdir(captureDir).catch(() => [] as string[]);
  return names.filter((name) => !name.startsWith('.') && name.includes(`-${id}.`)).length;
}
