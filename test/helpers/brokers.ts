/**
 * The real test servers (scripts/test-services.sh): a destination with a
 * unique name per test on each, the broker's own client to publish raw
 * messages and to read result events, and the config edits that point a
 * daemon at it. Tests never share a channel, stream, topic or queue.
 */
import { randomBytes } from 'node:crypto';

import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';

import { run } from './exec.js';
import { waitFor } from './wait.js';
import { REPO, type RunningDaemon } from './daemon.js';

export type ListenerName = 'redis' | 'kafka' | 'sqs' | 'http';
export type Edits = Record<string, Record<string, string>>;

const ENV_HINT = 'start the test servers with scripts/test-services.sh start and export /var/tmp/pcapd-test-services/env ' + '(scripts/test.sh does both)';

export function testEnv(name: 'PCAPD_TEST_REDIS_URL' | 'PCAPD_TEST_KAFKA_BROKERS' | 'PCAPD_TEST_SQS_ENDPOINT'): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: ${ENV_HINT}`);
  return value;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Merges config edits section by section (later wins). */
export function mergeEdits(...all: Edits[]): Edits {
  const out: Edits = {};
  for (const edits of all) for (const [section, keys] of Object.entries(edits)) out[section] = { ...out[section], ...keys };
  return out;
}

const toml = (text: string): string => JSON.stringify(text);

/** Every sample of a Prometheus metric from GET /metrics, with its labels. */
export async function metricSamples(daemon: RunningDaemon, name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const { body } = await daemon.api('/metrics');
  const samples: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of String(body).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    samples.push({ labels, value: Number(match[3]) });
  }
  return samples;
}

const hasLabels = (found: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(labels).every(([key, value]) => found[key] === value);

/** One sample of a Prometheus metric from GET /metrics (0 when absent). */
export async function metricValue(daemon: RunningDaemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await metricSamples(daemon, name)).find((sample) => hasLabels(sample.labels, labels))?.value ?? 0;
}

/** The sum of every sample carrying these labels (e.g. rejections of one source, over every reason). */
export async function metricSum(daemon: RunningDaemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await metricSamples(daemon, name)).filter((sample) => hasLabels(sample.labels, labels)).reduce((sum, sample) => sum + sample.value, 0);
}

/** Waits until the metric reaches at least `atLeast`. */
export function waitForMetric(daemon: RunningDaemon, name: string, labels: Record<string, string>, atLeast = 1, timeoutMs = 20_000): Promise<number> {
  return waitFor(
    `${name}${JSON.stringify(labels)} >= ${atLeast}`,
    async () => {
      const value = await metricValue(daemon, name, labels);
      return value >= atLeast ? value : undefined;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------
// Where requests go in

export interface BrokerFixture {
  readonly listener: ListenerName;
  /** Config edits enabling this listener on this fixture's destination. */
  edits(): Edits;
  /** Publishes raw bytes with the broker's own client (HTTP: POST /captures). */
  publish(body: string | Buffer, daemon: RunningDaemon): Promise<void>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  redisMode?: 'pubsub' | 'streams';
  /** The SQS queue's own VisibilityTimeout. */
  sqsVisibilitySeconds?: number;
  kafkaPartitions?: number;
}

export async function createFixture(listener: ListenerName, options: FixtureOptions = {}): Promise<BrokerFixture> {
  switch (listener) {
    case 'redis':
      return RedisFixture.create(options.redisMode ?? 'pubsub');
    case 'kafka':
      return KafkaFixture.create(options.kafkaPartitions ?? 2);
    case 'sqs':
      return SqsFixture.create(options.sqsVisibilitySeconds ?? 30);
    case 'http':
      return new HttpFixture();
    default: {
      const unreachable: never = listener;
      throw new Error(`unknown listener ${String(unreachable)}`);
    }
  }
}

export function redisAddress(): { host: string; port: number } {
  const url = new URL(testEnv('PCAPD_TEST_REDIS_URL'));
  return { host: url.hostname, port: Number(url.port || 6379) };
}

export function newRedis(): Redis {
  const { host, port } = redisAddress();
  const redis = new Redis({ host, port, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1000) });
  redis.on('error', () => undefined);
  return redis;
}

export class RedisFixture implements BrokerFixture {
  readonly listener = 'redis';
  readonly channel = uniqueName('pcapd-test');
  readonly stream = uniqueName('pcapd-test-stream');
  readonly list = uniqueName('pcapd-test-list');
  readonly mode: 'pubsub' | 'streams' | 'list';
  readonly redis = newRedis();

  private constructor(mode: 'pubsub' | 'streams' | 'list') {
    this.mode = mode;
  }

  static async create(mode: 'pubsub' | 'streams' | 'list'): Promise<RedisFixture> {
    const fixture = new RedisFixture(mode);
    await fixture.redis.ping();
    return fixture;
  }

  edits(): Edits {
    const { host, port } = redisAddress();
    return {
      redis: {
        listen: 'true',
        host: toml(host),
        port: String(port),
        channel: toml(this.channel),
        mode: toml(this.mode),
        stream: toml(this.stream),
        list: toml(this.list),
      },
    };
  }

  async publish(body: string | Buffer): Promise<void> {
    if (this.mode === 'streams') {
      await this.redis.xadd(this.stream, '*', 'request', body);
      return;
    }
    if (this.mode === 'list') {
      // As Suricata's redis output does in its default mode; pcapd pops from the other end.
      await this.redis.lpush(this.list, body);
      return;
    }
    // Pub/sub keeps nothing: retry until pcapd is subscribed (after a start or a reconnect).
    await waitFor(`a subscriber on ${this.channel}`, async () => (await this.redis.publish(this.channel, body)) > 0);
  }

  async close(): Promise<void> {
    await this.redis.del(this.stream, this.list).catch(() => undefined);
    this.redis.disconnect();
  }
}

export function newKafka(): Kafka {
  return new Kafka({ clientId: 'pcapd-tests', brokers: testEnv('PCAPD_TEST_KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
}

export class KafkaFixture implements BrokerFixture {
  readonly listener = 'kafka';
  readonly topic = uniqueName('pcapd-test');
  private readonly kafka = newKafka();
  private readonly admin: Admin = this.kafka.admin();
  private readonly producer: Producer = this.kafka.producer({ allowAutoTopicCreation: false });

  static async create(partitions: number): Promise<KafkaFixture> {
    const fixture = new KafkaFixture();
    await fixture.admin.connect();
    await fixture.admin.createTopics({ topics: [{ topic: fixture.topic, numPartitions: partitions }], waitForLeaders: true });
    await fixture.producer.connect();
    return fixture;
  }

  edits(): Edits {
    const servers = testEnv('PCAPD_TEST_KAFKA_BROKERS').split(',').map(toml).join(', ');
    return { kafka: { listen: 'true', server: `[${servers}]`, topic: toml(this.topic) } };
  }

  async publish(body: string | Buffer): Promise<void> {
    await this.producer.send({ topic: this.topic, messages: [{ value: body }] });
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.deleteTopics({ topics: [this.topic] }).catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}

export function newSqs(): SQSClient {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
  return new SQSClient({
    region: 'us-east-1',
    endpoint: testEnv('PCAPD_TEST_SQS_ENDPOINT'),
    credentials: { accessKeyId: 'pcapd-test', secretAccessKey: 'pcapd-test' },
  });
}

export async function createQueue(sqs: SQSClient, name: string, visibilitySeconds: number): Promise<string> {
  const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibilitySeconds) } }));
  if (url === undefined) throw new Error('CreateQueue returned no URL');
  return url;
}

export class SqsFixture implements BrokerFixture {
  readonly listener = 'sqs';
  readonly sqs = newSqs();
  readonly queueName = uniqueName('pcapd-test');
  queueUrl = '';
  visibilitySeconds = 30;

  static async create(visibilitySeconds: number): Promise<SqsFixture> {
    const fixture = new SqsFixture();
    fixture.visibilitySeconds = visibilitySeconds;
    await fixture.recreateQueue();
    return fixture;
  }

  /** ElasticMQ keeps its queues in memory: after its restart the queue must be made again. */
  async recreateQueue(): Promise<void> {
    this.queueUrl = await createQueue(this.sqs, this.queueName, this.visibilitySeconds);
  }

  edits(): Edits {
    return {
      sqs: {
        listen: 'true',
        region: toml('us-east-1'),
        accessid: toml('pcapd-test'),
        accesskey: toml('pcapd-test'),
        url: toml(this.queueUrl),
        endpoint: toml(testEnv('PCAPD_TEST_SQS_ENDPOINT')),
      },
    };
  }

  async publish(body: string | Buffer): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body.toString() }));
  }

  /** Receives (and deletes) whatever is visible now, waiting up to `waitSeconds`. */
  async receive(waitSeconds: number): Promise<Message[]> {
    const { Messages: messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.queueUrl, WaitTimeSeconds: waitSeconds, MaxNumberOfMessages: 10 }),
    );
    for (const message of messages) {
      await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    return messages;
  }

  async close(): Promise<void> {
    await this.sqs.send(new DeleteQueueCommand({ QueueUrl: this.queueUrl })).catch(() => undefined);
    this.sqs.destroy();
  }
}

export class HttpFixture implements BrokerFixture {
  readonly listener = 'http';

  edits(): Edits {
    return {};
  }

  async publish(body: string | Buffer, daemon: RunningDaemon): Promise<void> {
    await fetch(`${daemon.baseUrl}/captures`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  }

  async close(): Promise<void> {
    // nothing to remove
  }
}

// ---------------------------------------------------------------------------
// Where result events come out

export interface ReplyWatcher {
  /** The `reply` value naming this destination. */
  readonly reply: string;
  /** The next event (parsed), or a failure at the deadline. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

class Events {
  private readonly items: Array<Record<string, unknown>> = [];

  push(text: string): void {
    this.items.push(JSON.parse(text) as Record<string, unknown>);
  }

  take(): Record<string, unknown> | undefined {
    return this.items.shift();
  }

  next(what: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return waitFor(what, async () => this.take(), timeoutMs);
  }
}

export async function watchReplies(transport: Exclude<ListenerName, 'http'>): Promise<ReplyWatcher> {
  const events = new Events();
  switch (transport) {
    case 'redis': {
      const channel = uniqueName('pcapd-test-reply');
      const subscriber = newRedis();
      subscriber.on('message', (_channel: string, message: string) => events.push(message));
      await subscriber.subscribe(channel);
      return {
        reply: `redis:${channel}`,
        next: (timeoutMs = 20_000) => events.next(`a result event on redis:${channel}`, timeoutMs),
        close: async () => subscriber.disconnect(),
      };
    }
    case 'kafka': {
      const topic = uniqueName('pcapd-test-reply');
      const kafka = newKafka();
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const consumer: Consumer = kafka.consumer({ groupId: uniqueName('pcapd-test-reply'), maxWaitTimeInMs: 250 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => events.push(message.value?.toString() ?? 'null') });
      return {
        reply: `kafka:${topic}`,
        next: (timeoutMs = 30_000) => events.next(`a result event on kafka:${topic}`, timeoutMs),
        close: async () => {
          await consumer.disconnect();
          await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
          await admin.disconnect();
        },
      };
    }
    case 'sqs': {
      const sqs = newSqs();
      const url = await createQueue(sqs, uniqueName('pcapd-test-reply'), 30);
      // A long poll of 1 s between probes: SQS delivers nothing unless asked.
      const receive = async (): Promise<Record<string, unknown> | undefined> => {
        const queued = events.take();
        if (queued !== undefined) return queued;
        const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
        for (const message of messages) events.push(message.Body ?? 'null');
        return events.take();
      };
      return {
        reply: `sqs:${url}`,
        next: (timeoutMs = 20_000) => waitFor(`a result event on sqs:${url}`, receive, { timeoutMs, intervalMs: 0 }),
        close: async () => {
          await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
          sqs.destroy();
        },
      };
    }
    default: {
      const unreachable: never = transport;
      throw new Error(`unknown transport ${String(unreachable)}`);
    }
  }
}

/** Restarts one test server (scripts/test-services.sh restart NAME). */
export async function restartService(service: 'redis' | 'kafka' | 'elasticmq'): Promise<void> {
  await run(`${REPO}scripts/test-services.sh`, ['restart', service], 120_000);
}
