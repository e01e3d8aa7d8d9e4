/**
 * Request flood: HTTP and Redis pub/sub requests at a fixed rate each, at the
 * same time, against one daemon, while two "witness" captures record
 * sequence-numbered traffic on a veth pair. Shows, in one invocation:
 *
 *   - every request sent is counted as received, and received = accepted +
 *     refused (by code) + ignored: nothing vanishes;
 *   - RSS stays within the configured memory budget plus the idle baseline;
 *   - the witness captures still hold every packet, once each.
 *
 *   npx tsx bench/flood.ts                      1,000/s each for 30 s (npm run flood)
 *   FLOOD_RATE=200 FLOOD_SECONDS=5 npx tsx bench/flood.ts
 *
 * A tenth of the requests are malformed (bad JSON, a negative limit) so the
 * refusals carry more than one code. Flood captures ask for one second on the
 * veth with a filter that matches nothing: most are refused by admission
 * (PCAPD_ERR_ADMISSION_FULL), some queue and run. Needs root, the test
 * servers (scripts/test-services.sh start) and tcpreplay. Bounded: the whole
 * run stops after FLOOD_SECONDS + 120 s and cleans up whatever happened.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { TEST_FILTER, udpFrame, writeFramesPcap } from '../test/helpers/frames.js';
import { metricSamples, metricSum, newRedis, uniqueName, redisAddress } from '../test/helpers/brokers.js';
import { readPackets } from '../test/helpers/capture-files.js';
import { postJson, type RunningDaemon } from '../test/helpers/daemon.js';
import type { TestLink } from '../test/helpers/netns.js';
import { waitFor } from '../test/helpers/wait.js';
import { rssBytes } from './lib/proc.js';
import { runDaemonBench } from './lib/daemon-bench.js';
import { paced } from './lib/timing.js';

const RATE = Number(process.env['FLOOD_RATE'] ?? 1000);
const SECONDS = Number(process.env['FLOOD_SECONDS'] ?? 30);
const MEMORY_BUDGET = 256 * 1024 * 1024;
const WITNESS_PPS = 1000;
const WITNESS_PACKETS = (SECONDS + 4) * WITNESS_PPS;
const IDLE_SETTLE_MS = 5_000;
const MIB = 1024 * 1024;

interface Sent {
  http: number;
  redis: number;
  /** HTTP answers by status. */
  httpStatus: Map<number, number>;
  httpErrors: number;
}

function floodBody(index: number, hostIf: string, prefix: string): string {
  // One in twenty is not JSON, one in twenty has a negative limit: refusals with their own codes.
  if (index % 20 === 7) return '{"node": "any", "interface": [';
  const request = { id: `${prefix}-${index}`, node: 'any', interface: [hostIf], bpf: 'udp dst port 7', duration: 1, bytes: 1_000_000 };
  return JSON.stringify(index % 20 === 13 ? { ...request, packets: -1 } : request);
}

async function witnesses(daemon: RunningDaemon, link: TestLink): Promise<string[]> {
  const ids = ['witness-a', 'witness-b'];
  for (const id of ids) {
    const body = { id, node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: WITNESS_PACKETS, duration: SECONDS + 60, format: 'pcap' };
    const answer = await daemon.api('/captures?wait=armed', postJson(body));
    if (answer.status !== 200) throw new Error(`witness ${id} not armed: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return ids;
}

async function flood(daemon: RunningDaemon, link: TestLink, channel: string): Promise<Sent> {
  const sent: Sent = { http: 0, redis: 0, httpStatus: new Map(), httpErrors: 0 };
  const redis = newRedis();
  try {
    const count = RATE * SECONDS;
    const http = paced(count, RATE, async (index) => {
      sent.http++;
      try {
        const response = await fetch(`${daemon.baseUrl}/captures`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: floodBody(index, link.hostIf, 'h'),
        });
        await response.arrayBuffer();
        sent.httpStatus.set(response.status, (sent.httpStatus.get(response.status) ?? 0) + 1);
      } catch {
        sent.httpErrors++;
      }
    });
    const viaRedis = paced(count, RATE, async (index) => {
      sent.redis++;
      await redis.publish(channel, floodBody(index, link.hostIf, 'r'));
    });
    await Promise.all([http, viaRedis]);
  } finally {
    redis.disconnect();
  }
  return sent;
}

function sequenceCheck(sequences: readonly number[]): { missing: number; duplicated: number } {
  const seen = new Uint8Array(WITNESS_PACKETS);
  let duplicated = 0;
  for (const sequence of sequences) {
    if (sequence < 0 || sequence >= WITNESS_PACKETS) continue;
    if (seen[sequence] === 1) duplicated++;
    seen[sequence] = 1;
  }
  return { missing: seen.reduce((sum, bit) => sum + (bit === 0 ? 1 : 0), 0), duplicated };
}

async function main(): Promise<void> {
  const channel = uniqueName('pcapd-flood');
  await runDaemonBench(
    {
      name: 'flood',
      deadlineSeconds: SECONDS + 120,
      services: true,
      daemon: () => {
        const { host, port } = redisAddress();
        return {
          edits: {
            redis: { listen: 'true', host: JSON.stringify(host), port: String(port), channel: JSON.stringify(channel) },
            scheduler: { memorybudget: String(MEMORY_BUDGET) },
          },
        };
      },
    },
    ({ daemon, pid, link }) => measure(daemon, pid, link, channel),
  );
}

async function measure(daemon: RunningDaemon, pid: number, link: TestLink, channel: string): Promise<void> {
  await waitFor('the Redis listener', async () => (await metricSum(daemon, 'pcapd_listener_up', { listener: 'redis' })) === 1, 20_000);
  await sleep(IDLE_SETTLE_MS);
  const idleRss = rssBytes(pid);

  const pcap = join(daemon.dir, 'witness.pcap');
  await writeFramesPcap(
    pcap,
    Array.from({ length: WITNESS_PACKETS }, (_, sequence) => udpFrame(64, sequence)),
  );
  const ids = await witnesses(daemon, link);
  const traffic = link.replay(pcap, { pps: WITNESS_PPS });

  let peakRss = idleRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssBytes(pid));
  }, 100);
  const started = performance.now();
  const sent = await flood(daemon, link, channel);
  const floodSeconds = (performance.now() - started) / 1000;
  await traffic;
  const finished = await Promise.all(ids.map((id) => daemon.waitForState(id, ['done', 'failed'], 90_000)));
  // Every accepted flood capture ends within queuetimeout (30 s) plus its one second.
  await waitFor(
    'the flood captures to finish',
    async () => {
      const stats = (await daemon.api('/stats')).body as { scheduler?: { running: number; queued: number } };
      return stats.scheduler === undefined || (stats.scheduler.running === 0 && stats.scheduler.queued === 0);
    },
    60_000,
  );
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssBytes(pid));

  const received = await metricSamples(daemon, 'pcapd_requests_received_total');
  const rejected = await metricSamples(daemon, 'pcapd_requests_rejected_total');
  const accepted = await metricSamples(daemon, 'pcapd_requests_accepted_total');
  const ignored = await metricSamples(daemon, 'pcapd_requests_ignored_total');
  const duplicate = await metricSamples(daemon, 'pcapd_requests_duplicate_total');
  const failedByAdmission = await metricSum(daemon, 'pcapd_captures_failed_total', { reason: 'PCAPD_ERR_ADMISSION_FULL' });
  const bySource = (samples: typeof received, source: string): number =>
    samples.filter((s) => s.labels['source'] === source).reduce((sum, s) => sum + s.value, 0);

  console.log(
    `flood: ${RATE}/s for ${SECONDS} s through HTTP and through Redis pub/sub at once (${floodSeconds.toFixed(1)} s), witnesses at ${WITNESS_PPS} pps`,
  );
  console.log('');
  console.log('source  sent   received  accepted  refused  ignored  duplicate  unaccounted');
  for (const source of ['http', 'redis'] as const) {
    const counts = [
      sent[source],
      bySource(received, source),
      bySource(accepted, source),
      bySource(rejected, source),
      bySource(ignored, source),
      bySource(duplicate, source),
    ];
    const [s = 0, r = 0, a = 0, j = 0, i = 0, d = 0] = counts;
    const witnessesHere = source === 'http' ? ids.length : 0;
    const unaccounted = s + witnessesHere - (a + j + i + d);
    console.log(
      `${source.padEnd(6)}  ${String(s).padStart(5)}  ${String(r).padStart(8)}  ${String(a).padStart(8)}  ${String(j).padStart(7)}  ${String(i).padStart(7)}  ${String(d).padStart(9)}  ${String(unaccounted).padStart(11)}`,
    );
  }
  console.log(
    `(http also carried the ${ids.length} witness requests; HTTP answers: ${[...sent.httpStatus].map(([status, n]) => `${status}×${n}`).join(' ')}${sent.httpErrors > 0 ? `, ${sent.httpErrors} connection errors` : ''})`,
  );
  console.log(`accepted then refused from the queue (queuetimeout): ${failedByAdmission}`);
  console.log('refused by code:');
  const codes = new Map<string, number>();
  for (const sample of rejected) codes.set(sample.labels['reason'] ?? '?', (codes.get(sample.labels['reason'] ?? '?') ?? 0) + sample.value);
  for (const [code, n] of [...codes].sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(32)} ${n}`);
  console.log('');
  const limit = MEMORY_BUDGET + idleRss;
  console.log(
    `RSS: idle ${(idleRss / MIB).toFixed(1)} MiB, peak ${(peakRss / MIB).toFixed(1)} MiB; budget ${(MEMORY_BUDGET / MIB).toFixed(0)} MiB + idle = ${(limit / MIB).toFixed(1)} MiB: ${peakRss <= limit ? 'within' : 'EXCEEDED'}`,
  );
  for (const [index, outcome] of finished.entries()) {
    const files = await waitFor(
      `${ids[index]}'s file`,
      async () => {
        const listing = (await daemon.api(`/captures/${ids[index]}`)).body as { deliveries?: Array<{ sink: string; locations: string[] }> };
        return listing.deliveries?.find((delivery) => delivery.sink === 'local')?.locations;
      },
      30_000,
    );
    const packets = (await Promise.all(files.map((file) => readPackets(file)))).flat();
    const { missing, duplicated } = sequenceCheck(packets.map((packet) => packet.sequence));
    console.log(
      `witness ${ids[index]}: ${outcome.state} (${outcome.reason ?? outcome.error?.code}), ${packets.length} of ${WITNESS_PACKETS} packets, missing ${missing}, duplicated ${duplicated}`,
    );
  }
}

await main();
