/**
 * How `pcapd request` reaches pcapd: one transport per listener, each built
 * from the same config section (and the same connection helpers) the daemon
 * uses. With --wait a transport also makes a reply destination of its own,
 * listens on it, and removes it when done.
 */
import { randomUUID } from 'node:crypto';

import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';

import { kafkaClient } from '../brokers/kafka.js';
import { redisOptions, STREAM_REQUEST_FIELD } from '../brokers/redis.js';
import { sqsClient } from '../brokers/sqs.js';
import { isLoopbackHost } from '../config/cross-checks.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { Via } from './request-args.js';

/** --wait: how long, and for what (the final result, or arming). */
export interface WaitOptions {
  waitSeconds: number;
  until: 'done' | 'armed';
}

export interface SendReport {
  /** False: the request certainly did not arrive (nobody subscribed, HTTP refusal). */
  ok: boolean;
  /** One line for stderr: what happened. */
  message: string;
  /** HTTP answers with the result itself (POST /captures?wait). */
  events?: unknown[];
}

export interface RequestTransport {
  /** A reply destination made for this request, listened on from now. */
  openReply(): Promise<string>;
  /** Listens on a destination the user named with --reply. */
  listenOn(reply: string): Promise<void>;
  send(body: string, wait: WaitOptions | undefined): Promise<SendReport>;
  /** The next event text received on the reply destination, or undefined at the deadline. */
  nextEvent(deadlineMs: number): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Reply destinations made by `pcapd request` start with this; a cleanup can find strays. */
export const REPLY_PREFIX = 'pcapd-reply-';

export function createTransport(via: Via, config: Config, log: Log, options: { url?: string } = {}): RequestTransport {
  switch (via) {
    case 'redis':
      return new RedisTransport(config.redis);
    case 'kafka':
      return new KafkaTransport(config.kafka, log);
    case 'sqs':
      return new SqsTransport(config.sqs);
    case 'http':
      return new HttpTransport(config.http, options.url);
    default: {
      const unreachable: never = via;
      throw new Error(`unknown transport ${String(unreachable)}`);
    }
  }
}

/** Received event texts, handed out in order. */
class EventQueue {
  private readonly items: string[] = [];
  private wake: (() => void) | undefined;

  push(text: string): void {
    this.items.push(text);
    this.wake?.();
  }

  async next(deadlineMs: number): Promise<string | undefined> {
    while (this.items.length === 0) {
      const remaining = deadlineMs - Date.now();
      if (remaining <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.items.shift();
  }
}

function replyName(): string {
  return `${REPLY_PREFIX}${randomUUID()}`;
}

// ---- Redis ----

/** A one-shot command gives up after this many reconnect attempts. */
const CLI_RECONNECTS = 3;

class RedisTransport implements RequestTransport {
  private readonly section: Config['redis'];
  private readonly events = new EventQueue();
  private readonly clients: Redis[] = [];

  constructor(section: Config['redis']) {
    this.section = section;
  }

  private client(role: string): Redis {
    const client = new Redis({
      ...redisOptions(this.section, {
        connectionName: `pcapd-request-${role}`,
        maxRetriesPerRequest: 1,
        onRetry: (attempt) => attempt <= CLI_RECONNECTS,
      }),
    });
    client.on('error', () => undefined); // reported by the command that fails
    this.clients.push(client);
    return client;
  }

  async openReply(): Promise<string> {
    const channel = replyName();
    await this.listenOn(`redis:${channel}`);
    return `redis:${channel}`;
  }

  async listenOn(reply: string): Promise<void> {
    const subscriber = this.client('reply');
    subscriber.on('message', (_channel: string, message: string) => this.events.push(message));
    await subscriber.subscribe(reply.slice('redis:'.length));
  }

  async send(body: string): Promise<SendReport> {
    const publisher = this.client('publish');
    if (this.section.mode === 'streams') {
      // Trimmed so a stream of requests cannot grow without bound; entries
      // are read within seconds, so 100 000 leave ample room.
      const id = await publisher.xadd(this.section.stream, 'MAXLEN', '~', '100000', '*', STREAM_REQUEST_FIELD, body);
      return { ok: true, message: `added to redis stream ${this.section.stream} as entry ${String(id)}` };
    }
    const receivers = await publisher.publish(this.section.channel, body);
    if (receivers === 0) {
      return { ok: false, message: `no pcapd is subscribed to redis channel ${this.section.channel}: the request is lost (pub/sub keeps nothing)` };
    }
    return { ok: true, message: `published to redis channel ${this.section.channel} (${receivers} subscriber${receivers === 1 ? '' : 's'})` };
  }

  nextEvent(deadlineMs: number): Promise<string | undefined> {
    return this.events.next(deadlineMs);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((client) => client.quit()));
    for (const client of this.clients) client.disconnect();
  }
}

// ---- Kafka ----

class KafkaTransport implements RequestTransport {
  private readonly section: Config['kafka'];
  private readonly kafka: Kafka;
  private readonly events = new EventQueue();
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private createdTopic: string | undefined;
  private groupId: string | undefined;

  constructor(section: Config['kafka'], log: Log) {
    this.section = section;
    this.kafka = kafkaClient(section, 'pcapd-request', log);
  }

  private async connectedAdmin(): Promise<Admin> {
    if (this.admin === undefined) {
      this.admin = this.kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }

  async openReply(): Promise<string> {
    const topic = replyName();
    const admin = await this.connectedAdmin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    this.createdTopic = topic;
    // A new topic read from its start: no event can be missed, whenever the consumer joins.
    await this.consume(topic, true);
    return `kafka:${topic}`;
  }

  async listenOn(reply: string): Promise<void> {
    await this.consume(reply.slice('kafka:'.length), false);
  }

  private async consume(topic: string, fromBeginning: boolean): Promise<void> {
    this.groupId = `pcapd-request-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 250 });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value !== null) this.events.push(message.value.toString('utf8'));
      },
    });
    // An existing topic is read from its end: join before the request goes out.
    if (!fromBeginning) await joined;
  }

  async send(body: string): Promise<SendReport> {
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await this.producer.connect();
    const [record] = await this.producer.send({ topic: this.section.topic, messages: [{ value: body }] });
    return { ok: true, message: `produced to kafka topic ${this.section.topic} (partition ${record?.partition ?? '?'}, offset ${record?.baseOffset ?? '?'})` };
  }

  nextEvent(deadlineMs: number): Promise<string | undefined> {
    return this.events.next(deadlineMs);
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    if (this.admin !== undefined) {
      if (this.groupId !== undefined) await this.admin.deleteGroups([this.groupId]).catch(() => undefined);
      if (this.createdTopic !== undefined) await this.admin.deleteTopics({ topics: [this.createdTopic] }).catch(() => undefined);
      await this.admin.disconnect().catch(() => undefined);
    }
  }
}

// ---- SQS ----

class SqsTransport implements RequestTransport {
  private readonly section: Config['sqs'];
  private readonly client: SQSClient;
  private readonly events = new EventQueue();
  private readonly stop = new AbortController();
  private createdQueue: string | undefined;
  private receiving: Promise<void> | undefined;

  constructor(section: Config['sqs']) {
    this.section = section;
    this.client = sqsClient(section);
  }

  async openReply(): Promise<string> {
    const { QueueUrl: url } = await this.client.send(new CreateQueueCommand({ QueueName: replyName() }));
    if (url === undefined) throw new Error('CreateQueue returned no queue URL');
    this.createdQueue = url;
    await this.listenOn(`sqs:${url}`);
    return `sqs:${url}`;
  }

  async listenOn(reply: string): Promise<void> {
    this.receiving = this.receive(reply.slice('sqs:'.length));
  }

  private async receive(queueUrl: string): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        const { Messages: messages = [] } = await this.client.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }),
          { abortSignal: this.stop.signal },
        );
        for (const message of messages) {
          this.events.push(message.Body ?? '');
          await this.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
      } catch (err: unknown) {
        if (this.stop.signal.aborted) return;
        process.stderr.write(`pcapd request: receiving from ${queueUrl} failed: ${errorMessage(err)}\n`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  async send(body: string): Promise<SendReport> {
    const url = this.section.url;
    if (url === undefined) return { ok: false, message: 'sqs.url is not set in the configuration' };
    const { MessageId: id } = await this.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    return { ok: true, message: `sent to sqs queue ${url} as message ${id ?? '?'}` };
  }

  nextEvent(deadlineMs: number): Promise<string | undefined> {
    return this.events.next(deadlineMs);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.receiving;
    if (this.createdQueue !== undefined) {
      await this.client.send(new DeleteQueueCommand({ QueueUrl: this.createdQueue })).catch(() => undefined);
    }
    this.client.destroy();
  }
}

// ---- HTTP ----

class HttpTransport implements RequestTransport {
  private readonly section: Config['http'];
  private readonly url: string | undefined;

  constructor(section: Config['http'], url: string | undefined) {
    this.section = section;
    this.url = url;
  }

  private baseUrl(): string {
    if (this.url !== undefined) return this.url;
    // A wildcard bind is reached on loopback.
    const { host: bound, port } = this.section;
    const host = bound === '' || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** POST /captures?wait answers with the outcome itself: no reply destination. */
  async openReply(): Promise<string> {
    throw new Error('the HTTP API answers with the result itself; no reply destination is needed');
  }

  async listenOn(): Promise<void> {
    throw new Error('--reply with --wait needs --via redis, kafka or sqs');
  }

  async send(body: string, wait: WaitOptions | undefined): Promise<SendReport> {
    const { token } = this.section;
    const base = this.baseUrl();
    const host = new URL(base).hostname.replace(/^\[|\]$/g, '');
    const query = wait === undefined ? '' : `?wait=${wait.until === 'armed' ? 'armed' : '1'}&timeout=${wait.waitSeconds}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (!isLoopbackHost(host) && !base.startsWith('https:')) {
      process.stderr.write(`pcapd request: note: the request and token go to ${base} unencrypted\n`);
    }
    const response = await fetch(`${base}/captures${query}`, {
      method: 'POST',
      headers,
      body,
      ...(wait === undefined ? {} : { signal: AbortSignal.timeout((wait.waitSeconds + 10) * 1000) }),
    });
    const text = await response.text();
    const answer = parseJson(text);
    if (typeof answer === 'object' && answer !== null && 'ignored' in answer) {
      return { ok: false, message: `${base} ignored the request: it targets another node` };
    }
    if (response.status === 200) return { ok: true, message: `${wait?.until === 'armed' ? 'armed' : 'captured'} by ${base}`, events: [answer] };
    if (response.status === 202) {
      if (wait === undefined) return { ok: true, message: `accepted by ${base}: ${text}` };
      return { ok: false, message: `${base} did not finish within ${wait.waitSeconds} s; its state: ${text}` };
    }
    return { ok: false, message: `${base} refused the request (HTTP ${response.status})`, events: [refusal(answer)] };
  }

  async nextEvent(): Promise<string | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    // nothing held open
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The HTTP error body as a result event, so every transport prints the same shape. */
function refusal(answer: unknown): unknown {
  const error = typeof answer === 'object' && answer !== null && 'error' in answer ? answer.error : { code: 'PCAPD_ERR_INTERNAL', message: String(answer) };
  return { state: 'rejected', source: 'http', error };
}
