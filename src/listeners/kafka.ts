/**
 * The Kafka listener ([kafka]): a consumer in group `pcapd-<node>` by default,
 * so every node reads every request (pcapdaemon's fan-out, without its
 * partition-0-only reader), or in a shared group when `group` names one.
 *
 * Offsets are committed only for requests that have been handled: at once for
 * a refused request or another node's, after delivery for a captured one. As
 * captures run concurrently, each partition commits up to its oldest request
 * still in flight, so a crash mid-capture re-reads that request (and the ones
 * after it that were already handled are skipped by this process, or captured
 * again by the next one: at least once).
 *
 * A group without committed offsets starts at the newest message, and that
 * position is committed at once, so a request sent while pcapd is stopped
 * after its first start is read when it starts again.
 */
import type { Consumer, ConsumerCrashEvent, ConsumerGroupJoinEvent, EachMessagePayload, Kafka } from 'kafkajs';

import { backoffDelayMs } from '../backoff.js';
import { sleep } from '../timers.js';
import { kafkaClient } from '../brokers/kafka.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import { ConnectionState } from './connection-state.js';
import type { BrokerListenerDeps, Listener } from './listener.js';
import type { RequestHandler } from '../requests/intake-contract.js';
import { PartitionLedger } from './kafka-offsets.js';
import { handleSafely, InFlight, settlementOf, stopWaitMs } from './settlement.js';

/** start() waits this long for the first group join, then goes on retrying in the background. */
const FIRST_JOIN_WAIT_MS = 15_000;
/**
 * An idle fetch waits at most this long at the broker. A message arriving
 * meanwhile is returned at once (fetch.min.bytes = 1); this only bounds how
 * soon a pause or stop takes effect, and the idle fetch rate.
 */
const FETCH_MAX_WAIT_MS = 250;
/** Kafka's group.min.session.timeout.ms is 6 s by default; kafkajs's own default is 30 s. */
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
/** stop() gives a consumer that is still connecting this long before disconnecting it. */
const OPENING_WAIT_MS = 5_000;

export function kafkaGroupId(section: Config['kafka'], node: string): string {
  return section.group === '' ? `pcapd-${node}` : section.group;
}

export class KafkaListener implements Listener {
  readonly name = 'kafka';
  private readonly deps: BrokerListenerDeps;
  private readonly log: Log;
  private readonly connection: ConnectionState;
  private readonly inFlight: InFlight;
  private readonly ledgers = new Map<number, PartitionLedger>();
  private readonly stopping = new AbortController();
  private consumer: Consumer | undefined;
  private opening: Promise<void> | undefined;
  /**
   * Commits decided at a group join, sent at the next fetch: kafkajs drops a
   * commit made while it is still joining (its runner is not running yet).
   */
  private joinCommits: Array<{ partition: number; offset: bigint }> = [];
  private joined: () => void = () => undefined;

  constructor(deps: BrokerListenerDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.connection = new ConnectionState(this.name, deps.log, deps.metrics);
    this.inFlight = new InFlight(deps.metrics.listenerInFlight, this.name);
  }

  async start(onRequest: RequestHandler): Promise<void> {
    const joined = new Promise<void>((resolve) => {
      this.joined = resolve;
    });
    this.opening = this.openWithRetries(onRequest);
    await Promise.race([joined, sleep(FIRST_JOIN_WAIT_MS, this.stopping.signal)]);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const { topic } = this.deps.config().kafka;
    // Read nothing more, but stay in the group: commits need a live member.
    this.consumer?.pause([{ topic }]);
    // A consumer still connecting to an unreachable broker is not waited for.
    await Promise.race([this.opening, sleep(OPENING_WAIT_MS)]);
    const consumer = this.consumer;
    if (consumer !== undefined) for (const { partition, offset } of this.joinCommits.splice(0)) this.commit(consumer, topic, partition, offset);
    if (!(await this.inFlight.drain(stopWaitMs(this.deps.config())))) {
      this.log.warn({ inFlight: this.inFlight.size }, 'stopped with captures still running; their offsets stay uncommitted');
    }
    await Promise.allSettled([...this.ledgers.values()].map((ledger) => ledger.committing));
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
    this.connection.stopped();
    this.log.info('kafka listener stopped');
  }

  // ---- the consumer ----

  private async openWithRetries(onRequest: RequestHandler): Promise<void> {
    let attempt = 0;
    while (!this.stopping.signal.aborted) {
      try {
        await this.open(onRequest);
        return;
      } catch (err: unknown) {
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = undefined;
        if (this.stopping.signal.aborted) return;
        this.connection.down(err, 'kafka consumer could not start');
        attempt += 1;
        await sleep(backoffDelayMs(attempt), this.stopping.signal);
      }
    }
  }

  private async open(onRequest: RequestHandler): Promise<void> {
    const section = this.deps.config().kafka;
    const node = this.deps.node();
    const groupId = kafkaGroupId(section, node);
    const kafka = kafkaClient(section, `pcapd-${node}`, this.log, {
      onConnectionLost: (err) => {
        if (!this.stopping.signal.aborted) this.connection.down(err, 'kafka broker connection lost');
      },
    });
    const startAt = section.frombeginning ? new Map<number, string>() : await newestOffsetsOfNewGroup(kafka, groupId, section.topic);
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      // A pcapd that died holds its partitions until its session expires;
      // then its uncommitted requests go to the next member (or its restart).
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      allowAutoTopicCreation: false,
      // kafkajs restarts itself after retriable failures; after any other,
      // this listener builds a new consumer (a listener never dies).
      retry: { restartOnFailure: async () => !this.stopping.signal.aborted },
    });
    this.consumer = consumer;
    const fields = { brokers: section.server, topic: section.topic, groupId };
    consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => {
      this.onJoin(consumer, section.topic, event, startAt);
      this.connection.up(fields, 'joined the kafka consumer group');
      this.joined();
    });
    consumer.on(consumer.events.FETCH_START, () => {
      for (const { partition, offset } of this.joinCommits.splice(0)) this.commit(consumer, section.topic, partition, offset);
    });
    consumer.on(consumer.events.FETCH, () => this.connection.up(fields, 'fetching from kafka'));
    consumer.on(consumer.events.COMMIT_OFFSETS, (event) => {
      for (const { topic, partitions } of event.payload.topics) {
        if (topic !== section.topic) continue;
        for (const { partition, offset } of partitions) this.ledger(partition).confirmed(BigInt(offset));
      }
    });
    consumer.on(consumer.events.CRASH, (event: ConsumerCrashEvent) => this.onCrash(event, onRequest));
    await consumer.connect();
    await consumer.subscribe({ topic: section.topic, fromBeginning: section.frombeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: (payload) => this.onMessage(consumer, payload, onRequest),
    });
  }

  private onJoin(consumer: Consumer, topic: string, event: ConsumerGroupJoinEvent, startAt: Map<number, string>): void {
    const assigned = event.payload.memberAssignment[topic] ?? [];
    for (const partition of assigned) {
      const newest = startAt.get(partition);
      if (newest !== undefined) {
        // A new group: start at the newest message as of our start, and remember it.
        startAt.delete(partition);
        consumer.seek({ topic, partition, offset: newest });
        this.joinCommits.push({ partition, offset: BigInt(newest) });
        continue;
      }
      // A commit lost in a consumer restart is made again (never backwards).
      const ledger = this.ledgers.get(partition);
      if (ledger?.floor !== undefined && ledger.needsCommit()) this.joinCommits.push({ partition, offset: ledger.floor });
    }
  }

  private onCrash(event: ConsumerCrashEvent, onRequest: RequestHandler): void {
    if (this.stopping.signal.aborted) return;
    this.connection.down(event.payload.error, `kafka consumer failed${event.payload.restart ? '' : ' for good'}`);
    if (event.payload.restart) return;
    this.opening = (async () => {
      await this.consumer?.disconnect().catch(() => undefined);
      this.consumer = undefined;
      await sleep(backoffDelayMs(1), this.stopping.signal);
      await this.openWithRetries(onRequest);
    })();
  }

  // ---- messages ----

  private async onMessage(consumer: Consumer, { topic, partition, message }: EachMessagePayload, onRequest: RequestHandler): Promise<void> {
    // Left unread (and so uncommitted): read again after the restart.
    if (this.stopping.signal.aborted) return;
    const offset = BigInt(message.offset);
    const ledger = this.ledger(partition);
    // Offsets redelivered after a consumer restart that this process already has.
    if (ledger.has(offset)) return;
    ledger.add(offset);
    let decided: () => void = () => undefined;
    const decision = new Promise<void>((resolve) => {
      decided = resolve;
    });
    const handling = (async () => {
      const body = message.value ?? Buffer.alloc(0);
      const result = await handleSafely(onRequest, { body, source: this.name }, this.log, this.deps.metrics).finally(decided);
      const settlement = settlementOf(result);
      if (settlement.kind === 'release' && settlement.why === 'shutting-down') {
        this.deps.metrics.listenerSettlements.inc({ listener: this.name, action: 'release' });
        return; // stays pending: the commit never passes it
      }
      if (settlement.kind === 'after-outcome') await settlement.outcome;
      this.deps.metrics.listenerSettlements.inc({ listener: this.name, action: 'ack' });
      const floor = ledger.done(offset);
      if (floor !== undefined) this.commit(this.consumer ?? consumer, topic, partition, floor);
    })();
    this.inFlight.add(handling);
    // The decision (not the capture) is awaited, so one partition's requests are decided in order.
    await decision;
  }

  private commit(consumer: Consumer, topic: string, partition: number, offset: bigint): void {
    this.ledger(partition).commit(offset, async (next) => {
      try {
        await consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
      } catch (err: unknown) {
        this.deps.metrics.listenerErrors.inc({ listener: this.name, reason: 'PCAPD_ERR_BROKER_ACK' });
        this.log.warn(
          { code: 'PCAPD_ERR_BROKER_ACK', err: errorMessage(err), partition, offset: next.toString() },
          'kafka offset commit failed; the messages after the last commit may be read again',
        );
      }
    });
  }

  private ledger(partition: number): PartitionLedger {
    let ledger = this.ledgers.get(partition);
    if (ledger === undefined) {
      ledger = new PartitionLedger();
      this.ledgers.set(partition, ledger);
    }
    return ledger;
  }
}

/**
 * Partitions of `topic` where `groupId` has no committed offset, with the
 * newest offset of each: where a new group starts reading.
 */
async function newestOffsetsOfNewGroup(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const uncommitted = new Set((committed?.partitions ?? []).filter((p) => p.offset === '-1').map((p) => p.partition));
    if (uncommitted.size === 0) return new Map();
    const newest = await admin.fetchTopicOffsets(topic);
    return new Map(newest.filter((p) => uncommitted.has(p.partition)).map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}
