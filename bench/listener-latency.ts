/**
 * Listener latency: publish → capture armed, through each listener of one real
 * pcapd process (Redis pub/sub, Kafka, SQS, HTTP), beside each broker's own
 * round trip for a plain message measured in the same run.
 *
 *   scripts/test-services.sh start && npx tsx bench/listener-latency.ts
 *   BENCH_REQUESTS=2000 BENCH_RATE=100 npx tsx bench/listener-latency.ts
 *   BENCH_LISTENERS=sqs,redis npx tsx bench/listener-latency.ts
 *
 * For every request: publish time (taken just before the broker client's
 * publish call) to the capture's `startedAt` (stamped by the capture core
 * when the capture is armed; same host clock). Captures are on lo with a
 * filter matching a 1 kpps UDP trickle this process sends, 1 packet each,
 * so each ends about a millisecond after it is armed and concurrency stays
 * far below scheduler.maxconcurrent (raised to 64 here anyway).
 *
 * The reference is the same transport carrying a plain message the same way
 * (Redis PUBLISH → a subscriber, Kafka produce → a consumer group with the
 * listener's fetch settings, SQS SendMessage → a long-polling receiver, HTTP
 * POST → response of GET /healthz), at the same rate. Goals (issue 5) are
 * reported, never asserted.
 *
 * Needs root (capture on lo), the test servers (scripts/test-services.sh;
 * their env file is read when the variables are not set) and a built addon.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpus, loadavg, release } from 'node:os';

import { ReceiveMessageCommand, SendMessageCommand, DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';

import {
  createQueue,
  KafkaFixture,
  mergeEdits,
  newKafka,
  newSqs,
  RedisFixture,
  SqsFixture,
  uniqueName,
  waitForMetric,
  type BrokerFixture,
  type Edits,
} from '../test/helpers/brokers.js';
import { REPO, startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { redisPublishRoundTrips } from './lib/redis-reference.js';
import { isoToMs, loadServiceEnv, nowMs, paced as pacedAt, percentile } from './lib/timing.js';

// ---------------------------------------------------------------------------
// Settings

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 1000);
/** Requests (and reference messages) per second, per listener. */
const RATE = Number(process.env['BENCH_RATE'] ?? 50);
const WARMUP = 20;
const TRICKLE_PORT = 47_999;
const FILTER = `udp dst port ${TRICKLE_PORT}`;
const GOALS_MS: Record<string, number | undefined> = { redis: 5, kafka: 150, sqs: 250 };

type Transport = 'redis' | 'kafka' | 'sqs' | 'http';
const ALL_TRANSPORTS: readonly Transport[] = ['redis', 'kafka', 'sqs', 'http'];
/** BENCH_LISTENERS=sqs,redis measures only those, in that order. */
const TRANSPORTS: readonly Transport[] = (process.env['BENCH_LISTENERS'] ?? ALL_TRANSPORTS.join(','))
  .split(',')
  .map((name) => name.trim())
  .filter((name): name is Transport => (ALL_TRANSPORTS as readonly string[]).includes(name));

// ---------------------------------------------------------------------------
// Small helpers

const paced = (count: number, send: (index: number) => Promise<void>): Promise<void> => pacedAt(count, RATE, send);

interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function summarize(values: readonly number[]): Summary {
  return { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}

// ---------------------------------------------------------------------------
// pcapd: publish → armed

interface Fixtures {
  redis: RedisFixture;
  kafka: KafkaFixture;
  sqs: SqsFixture;
}

async function publishThrough(transport: Transport, fixtures: Fixtures, daemon: RunningDaemon, body: string): Promise<void> {
  switch (transport) {
    case 'redis':
      await fixtures.redis.redis.publish(fixtures.redis.channel, body);
      return;
    case 'kafka':
    case 'sqs':
      await (fixtures[transport] as BrokerFixture).publish(body, daemon);
      return;
    case 'http': {
      const response = await fetch(`${daemon.baseUrl}/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.text();
      return;
    }
    default: {
      const unreachable: never = transport;
      throw new Error(`unknown transport ${String(unreachable)}`);
    }
  }
}

interface PcapdSample {
  /** publish → armed */
  latencies: number[];
  /** publish → received by the intake (the outcome's requestedAt, ms resolution) */
  toIntake: number[];
  /** received → armed */
  arming: number[];
  failed: number;
}

async function measurePcapd(transport: Transport, fixtures: Fixtures, daemon: RunningDaemon, node: string): Promise<PcapdSample> {
  const run = uniqueName(transport);
  const request = (id: string): string => JSON.stringify({ id, node, interface: ['lo'], bpf: FILTER, packets: 1, duration: 1, bytes: 65_536 });
  // Warm: connections, the device list cache, the BPF compiler.
  await paced(WARMUP, (i) => publishThrough(transport, fixtures, daemon, request(`${run}-warm-${i}`)));
  const publishedAt = new Map<string, number>();
  await paced(REQUESTS, async (i) => {
    const id = `${run}-${i}`;
    const body = request(id);
    publishedAt.set(id, nowMs());
    await publishThrough(transport, fixtures, daemon, body);
  });
  await waitForMetric(daemon, 'pcapd_requests_received_total', { source: transport }, WARMUP + REQUESTS, 120_000);
  const sample: PcapdSample = { latencies: [], toIntake: [], arming: [], failed: 0 };
  for (const [id, published] of publishedAt) {
    const outcome = await daemon.waitForState(id, ['done', 'failed'], 60_000).catch(() => undefined);
    const startedAt = typeof outcome?.startedAt === 'string' ? isoToMs(outcome.startedAt) : Number.NaN;
    const receivedAt = typeof outcome?.requestedAt === 'string' ? isoToMs(outcome.requestedAt) : Number.NaN;
    if (outcome?.state !== 'done' || Number.isNaN(startedAt)) {
      sample.failed += 1;
      continue;
    }
    sample.latencies.push(startedAt - published);
    sample.toIntake.push(receivedAt - published);
    sample.arming.push(startedAt - receivedAt);
  }
  return sample;
}

// ---------------------------------------------------------------------------
// The reference: the same transport, a plain message, the same rate

async function referenceKafka(): Promise<number[]> {
  const topic = uniqueName('bench-ref');
  const kafka = newKafka();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const consumer = kafka.consumer({ groupId: uniqueName('bench-ref'), maxWaitTimeInMs: 250 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const sent = sentAt.get(message.value?.toString() ?? '');
      if (sent !== undefined) latencies.push(nowMs() - sent);
    },
  });
  await joined;
  await producer.connect();
  const send = async (i: number): Promise<void> => {
    sentAt.set(String(i), nowMs());
    await producer.send({ topic, messages: [{ value: String(i) }] });
  };
  await paced(WARMUP, (i) => send(-1 - i));
  await waitUntil(() => latencies.length >= WARMUP, 30_000);
  latencies.length = 0;
  await paced(REQUESTS, send);
  await waitUntil(() => latencies.length >= REQUESTS, 60_000);
  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return latencies;
}

async function referenceSqs(): Promise<number[]> {
  const sqs = newSqs();
  const url = await createQueue(sqs, uniqueName('bench-ref'), 30);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let receiving = true;
  const receiver = (async () => {
    while (receiving) {
      const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
      const at = nowMs();
      for (const message of messages) {
        const sent = sentAt.get(message.Body ?? '');
        if (sent !== undefined) latencies.push(at - sent);
      }
      if (messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
    }
  })();
  const send = async (i: number): Promise<void> => {
    sentAt.set(String(i), nowMs());
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: String(i) }));
  };
  await paced(WARMUP, (i) => send(-1 - i));
  await waitUntil(() => latencies.length >= WARMUP, 30_000);
  latencies.length = 0;
  await paced(REQUESTS, send);
  await waitUntil(() => latencies.length >= REQUESTS, 60_000);
  receiving = false;
  await receiver;
  sqs.destroy();
  return latencies;
}

async function referenceHttp(daemon: RunningDaemon): Promise<number[]> {
  const latencies: number[] = [];
  const send = async (): Promise<void> => {
    const started = nowMs();
    const response = await fetch(`${daemon.baseUrl}/healthz`);
    await response.text();
    latencies.push(nowMs() - started);
  };
  await paced(WARMUP, send);
  latencies.length = 0;
  await paced(REQUESTS, send);
  return latencies;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('reference messages did not all arrive');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function reference(transport: Transport, daemon: RunningDaemon): Promise<number[]> {
  switch (transport) {
    case 'redis':
      return redisPublishRoundTrips(REQUESTS, RATE, WARMUP);
    case 'kafka':
      return referenceKafka();
    case 'sqs':
      return referenceSqs();
    case 'http':
      return referenceHttp(daemon);
    default: {
      const unreachable: never = transport;
      throw new Error(`unknown transport ${String(unreachable)}`);
    }
  }
}

const REFERENCE_LABEL: Record<Transport, string> = {
  redis: 'PUBLISH → subscriber',
  kafka: 'produce → consumer (maxWait 250 ms)',
  sqs: 'SendMessage → long poll',
  http: 'GET /healthz round trip',
};

// ---------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  loadServiceEnv();
  // bin/pcapd runs dist/: the code under measurement, not a stale build.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  const fixtures: Fixtures = {
    redis: await RedisFixture.create('pubsub'),
    kafka: await KafkaFixture.create(1),
    sqs: await SqsFixture.create(30),
  };
  const node = uniqueName('bench-node');
  const edits: Edits = mergeEdits(fixtures.redis.edits(), fixtures.kafka.edits(), fixtures.sqs.edits(), {
    general: { node: JSON.stringify(node), writelocal: 'false', bufferbytes: String(1024 * 1024) },
    scheduler: { maxconcurrent: '64', perinterface: '64', queue: '1000' },
    http: { history: '20000', retainseconds: '0' },
  });
  const daemon = await startDaemon({ edits });
  // However this process ends, the daemon it started ends with it.
  process.on('exit', () => daemon.process.kill('SIGKILL'));
  const trickle = createSocket('udp4');
  const timer = setInterval(() => trickle.send(Buffer.from([0]), TRICKLE_PORT, '127.0.0.1'), 1);
  const rows: string[] = [];
  try {
    for (const transport of TRANSPORTS) {
      const { latencies, toIntake, arming, failed } = await measurePcapd(transport, fixtures, daemon, node);
      const ref = summarize(await reference(transport, daemon));
      const own = summarize(latencies);
      const goal = GOALS_MS[transport];
      const verdict = goal === undefined ? '' : `${own.p99 <= goal ? 'met' : 'MISSED'} (p99 ≤ ${goal} ms)`;
      const ms = (value: number): string => value.toFixed(2).padStart(8);
      const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(1)}×` : 'n/a').padStart(7);
      rows.push(
        `${transport.padEnd(6)} ${String(own.count).padStart(5)} ${String(failed).padStart(4)} ${ms(own.p50)} ${ms(own.p99)} ${ms(own.max)}` +
          `   ${ms(ref.p50)} ${ms(ref.p99)} ${ms(ref.max)}   ${ratio(own.p50, ref.p50)} ${ratio(own.p99, ref.p99)}   ${verdict}`,
      );
      const split = (values: number[]): string => `p50 ${percentile(values, 50).toFixed(2)} p99 ${percentile(values, 99).toFixed(2)}`;
      rows.push(`       publish → intake ${split(toIntake)}; intake → armed ${split(arming)}; reference: ${REFERENCE_LABEL[transport]}`);
    }
  } finally {
    clearInterval(timer);
    trickle.close();
    await daemon.stop();
    for (const fixture of Object.values(fixtures)) await fixture.close();
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    [
      `listener latency: publish → capture armed, ${REQUESTS} requests per listener at ${RATE}/s (after ${WARMUP} warm-up), one pcapd process`,
      `machine: ${cpus().length} × ${cpu}, Linux ${release()}, Node ${process.version}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      '',
      '                    pcapd publish → armed (ms)      reference round trip (ms)      pcapd / reference',
      'via        n fail      p50      p99      max        p50      p99      max       p50     p99   goal',
      ...rows,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`listener-latency: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
