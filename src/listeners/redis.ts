/**
 * The Redis listener ([redis]), in one of two modes:
 *
 * - "pubsub" (pcapdaemon's): SUBSCRIBE to `channel`. Fire and forget: a
 *   request published while pcapd is disconnected is lost, as Redis pub/sub
 *   keeps nothing. ioredis resubscribes after every reconnect.
 * - "streams": XREADGROUP on `stream` with a consumer group per node
 *   (`pcapd-<node>`, so every node sees every request), XACK once the capture
 *   is delivered or the request refused. A request added while pcapd was down
 *   is read when it starts (the intake drops it if stale); entries this
 *   consumer had read but not acknowledged when it died are read again first.
 * - "list": BRPOP from `list`, the way Suricata's redis eve-log output (its
 *   default mode, LPUSH) is consumed: oldest first, each entry taken by one
 *   reader and gone once popped (a list has no acknowledgement).
 *
 * Any message, however large or malformed, goes to the intake and is refused
 * there; the subscription stays up (pcapdaemon's silently died on a large one).
 */
import { Redis } from 'ioredis';

import { redisOptions, STREAM_REQUEST_FIELD } from '../brokers/redis.js';
import { backoffDelayMs } from '../backoff.js';
import { sleep } from '../timers.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import { ConnectionState } from './connection-state.js';
import type { BrokerListenerDeps, Listener } from './listener.js';
import type { RequestHandler } from '../requests/intake-contract.js';
import { handleSafely, InFlight, settlementOf, stopWaitMs } from './settlement.js';

/** start() waits this long for the first subscription, then goes on retrying in the background. */
const FIRST_CONNECT_WAIT_MS = 10_000;
/** XREADGROUP blocks this long per call; new entries return at once, this only bounds an idle call. */
const STREAM_BLOCK_MS = 5_000;
/** BRPOP blocks this long per call (seconds); an entry returns at once, this only bounds an idle call. */
const LIST_BLOCK_SECONDS = 5;
/** Entries read per XREADGROUP: each may be up to general.maxrequestbytes. */
const STREAM_BATCH = 16;

export function streamGroupName(section: Config['redis'], node: string): string {
  return section.group === '' ? `pcapd-${node}` : section.group;
}

export function streamConsumerName(section: Config['redis'], node: string): string {
  return section.consumer === '' ? node : section.consumer;
}

export class RedisListener implements Listener {
  readonly name = 'redis';
  private readonly deps: BrokerListenerDeps;
  private readonly log: Log;
  private readonly connection: ConnectionState;
  private readonly inFlight: InFlight;
  private readonly clients: Redis[] = [];
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /**
   * Set on every reconnect of the stream reader: entries delivered in a reply
   * lost with the connection are pending without ever having been seen.
   */
  private rereadPending = false;

  constructor(deps: BrokerListenerDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.connection = new ConnectionState(this.name, deps.log, deps.metrics);
    this.inFlight = new InFlight(deps.metrics.listenerInFlight, this.name);
  }

  async start(onRequest: RequestHandler): Promise<void> {
    const section = this.deps.config().redis;
    if (section.mode === 'pubsub') await this.startPubSub(section, onRequest);
    else if (section.mode === 'list') await this.startList(section, onRequest);
    else await this.startStreams(section, onRequest);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const section = this.deps.config().redis;
    // Stop reading first: the blocked XREADGROUP or the subscription ends here.
    const [reader, ...others] = this.clients;
    reader?.disconnect();
    await this.loop;
    if (!(await this.inFlight.drain(stopWaitMs(this.deps.config())))) {
      this.log.warn({ inFlight: this.inFlight.size }, 'stopped with captures still running; their stream entries stay pending');
    }
    await Promise.allSettled(others.map((client) => client.quit()));
    for (const client of others) client.disconnect();
    this.connection.stopped();
    this.log.info({ mode: section.mode }, 'redis listener stopped');
  }

  // ---- connections ----

  private newClient(section: Config['redis'], role: string): Redis {
    const node = this.deps.node();
    const client = new Redis({
      ...redisOptions(section, {
        connectionName: `pcapd-${role}-${node}`,
        // A listener's commands wait for the reconnect instead of failing.
        maxRetriesPerRequest: null,
        onRetry: (attempt, delayMs) => {
          if (this.stopping.signal.aborted) return false;
          this.log.debug({ role, attempt, delayMs }, 'redis: reconnect attempt');
          return true;
        },
      }),
      lazyConnect: true,
    });
    // Connection errors are reported through 'close' (once per outage) below;
    // without a listener ioredis would print each one.
    client.on('error', (err: unknown) => this.log.debug({ role, err: errorMessage(err) }, 'redis: connection error'));
    this.clients.push(client);
    return client;
  }

  private watch(client: Redis, upMessage: string, fields: Record<string, unknown>): void {
    // The error that preceded a close says why (ECONNREFUSED, WRONGPASS …).
    let lastError: unknown;
    client.on('error', (err: unknown) => {
      lastError = err;
    });
    client.on('ready', () => {
      lastError = undefined;
      this.connection.up(fields, upMessage);
    });
    client.on('close', () => {
      if (this.stopping.signal.aborted) return;
      this.connection.down(lastError ?? new Error('connection closed'), 'redis connection lost');
    });
  }

  /** First connection: bounded wait, then carry on in the background (ioredis keeps retrying). */
  private async firstConnect(client: Redis, role: string): Promise<void> {
    const connected = client.connect().then(
      () => true,
      (err: unknown) => {
        this.connection.down(err, `redis ${role}: cannot connect`);
        return false;
      },
    );
    const timer = sleep(FIRST_CONNECT_WAIT_MS, this.stopping.signal).then(() => false);
    await Promise.race([connected, timer]);
  }

  // ---- pub/sub ----

  private async startPubSub(section: Config['redis'], onRequest: RequestHandler): Promise<void> {
    const subscriber = this.newClient(section, 'subscriber');
    const fields = { host: section.host, port: section.port, channel: section.channel };
    this.watch(subscriber, 'subscribed to the redis channel', fields);
    subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      // Pub/sub has no acknowledgement: the decision is all there is.
      this.inFlight.add(handleSafely(onRequest, { body: message, source: this.name }, this.log, this.deps.metrics));
    });
    await this.firstConnect(subscriber, 'subscriber');
    // ioredis queues SUBSCRIBE until connected and repeats it after every reconnect.
    const subscribed = subscriber.subscribe(section.channel).catch((err: unknown) => {
      if (!this.stopping.signal.aborted) this.log.error({ err: errorMessage(err) }, 'redis SUBSCRIBE failed');
    });
    await Promise.race([subscribed, sleep(FIRST_CONNECT_WAIT_MS, this.stopping.signal)]);
  }

  // ---- list ----

  private async startList(section: Config['redis'], onRequest: RequestHandler): Promise<void> {
    const reader = this.newClient(section, 'list-reader');
    this.watch(reader, 'popping the redis list', { host: section.host, port: section.port, list: section.list });
    await this.firstConnect(reader, 'list reader');
    this.loop = this.popList(reader, section.list, onRequest);
  }

  private async popList(reader: Redis, key: string, onRequest: RequestHandler): Promise<void> {
    let attempt = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const popped = await reader.brpopBuffer(key, LIST_BLOCK_SECONDS);
        attempt = 0;
        if (popped === null) continue;
        // Popped is taken: the decision is all there is, as with pub/sub.
        this.inFlight.add(handleSafely(onRequest, { body: popped[1], source: this.name }, this.log, this.deps.metrics));
      } catch (err: unknown) {
        if (this.stopping.signal.aborted) return;
        attempt += 1;
        this.deps.metrics.listenerErrors.inc({ listener: this.name, reason: 'PCAPD_ERR_BROKER_RECEIVE' });
        this.log.warn({ code: 'PCAPD_ERR_BROKER_RECEIVE', err: errorMessage(err), attempt }, 'redis BRPOP failed; retrying');
        await sleep(backoffDelayMs(attempt), this.stopping.signal);
      }
    }
  }

  // ---- streams ----

  private async startStreams(section: Config['redis'], onRequest: RequestHandler): Promise<void> {
    const node = this.deps.node();
    const stream = { key: section.stream, group: streamGroupName(section, node), consumer: streamConsumerName(section, node) };
    // XREADGROUP blocks its connection; acknowledgements need another.
    const reader = this.newClient(section, 'stream-reader');
    const acker = this.newClient(section, 'stream-acker');
    this.watch(reader, 'reading the redis stream', { host: section.host, port: section.port, ...stream });
    reader.on('ready', () => {
      this.rereadPending = true;
    });
    await this.firstConnect(reader, 'stream reader');
    void acker.connect().catch(() => undefined);
    const ready = new Promise<void>((resolve) => {
      this.loop = this.readStream(reader, acker, stream, onRequest, resolve);
    });
    await Promise.race([ready, sleep(FIRST_CONNECT_WAIT_MS, this.stopping.signal)]);
  }

  /**
   * Reads this consumer's pending entries first (those it had read but not
   * acknowledged: a crashed run's, or a reply lost in a disconnect), then new
   * ones. After any error it starts over from the pending ones.
   */
  private async readStream(reader: Redis, acker: Redis, stream: StreamNames, onRequest: RequestHandler, onReady: () => void): Promise<void> {
    const reading = new Set<string>();
    let attempt = 0;
    let groupFrom: '$' | '0' = '$';
    while (!this.stopping.signal.aborted) {
      try {
        await ensureGroup(reader, stream, groupFrom);
        // Created once: if it vanishes (a Redis restarted without persistence),
        // what the new stream holds was all added since, so read it all.
        groupFrom = '0';
        // '>' reads new entries; an id reads this consumer's pending entries after it.
        let cursor = '0';
        this.rereadPending = false;
        onReady();
        for (;;) {
          const entries = await readGroup(reader, stream, cursor);
          if (this.stopping.signal.aborted) return;
          attempt = 0;
          this.connection.up({ ...stream }, 'reading the redis stream');
          for (const entry of entries) {
            // A pending entry still being captured is read again after a reconnect: once is enough.
            if (reading.has(entry.id)) continue;
            reading.add(entry.id);
            this.inFlight.add(this.handleEntry(entry, acker, stream, onRequest).finally(() => reading.delete(entry.id)));
          }
          if (cursor !== '>') cursor = entries.at(-1)?.id ?? '>';
          if (this.rereadPending) {
            this.rereadPending = false;
            cursor = '0';
          }
        }
      } catch (err: unknown) {
        if (this.stopping.signal.aborted) return;
        attempt += 1;
        if (errorMessage(err).startsWith('NOGROUP')) {
          this.log.warn({ ...stream }, 'redis stream or consumer group vanished; recreating it and reading the stream from its start');
          continue;
        }
        this.deps.metrics.listenerErrors.inc({ listener: this.name, reason: 'PCAPD_ERR_BROKER_RECEIVE' });
        this.log.warn({ code: 'PCAPD_ERR_BROKER_RECEIVE', err: errorMessage(err), attempt }, 'redis XREADGROUP failed; retrying');
        await sleep(backoffDelayMs(attempt), this.stopping.signal);
      }
    }
  }

  private async handleEntry(entry: StreamEntry, acker: Redis, stream: StreamNames, onRequest: RequestHandler): Promise<void> {
    const result = await handleSafely(onRequest, { body: entry.body, source: this.name }, this.log, this.deps.metrics);
    const settlement = settlementOf(result);
    switch (settlement.kind) {
      case 'ack':
        return this.ack(acker, stream, entry.id);
      case 'release':
        // Another node's request is this group's to skip; a shutdown leaves it pending for the restart.
        if (settlement.why === 'other-node') return this.ack(acker, stream, entry.id);
        this.deps.metrics.listenerSettlements.inc({ listener: this.name, action: 'release' });
        return;
      case 'after-outcome':
        await settlement.outcome;
        return this.ack(acker, stream, entry.id);
      default: {
        const unreachable: never = settlement;
        throw new Error(`unknown settlement ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private async ack(acker: Redis, stream: StreamNames, id: string): Promise<void> {
    try {
      await acker.xack(stream.key, stream.group, id);
      this.deps.metrics.listenerSettlements.inc({ listener: this.name, action: 'ack' });
    } catch (err: unknown) {
      this.deps.metrics.listenerErrors.inc({ listener: this.name, reason: 'PCAPD_ERR_BROKER_ACK' });
      this.log.warn(
        { code: 'PCAPD_ERR_BROKER_ACK', err: errorMessage(err), entry: id },
        'redis XACK failed; the entry stays pending and is read again at the next start',
      );
    }
  }
}

interface StreamNames {
  key: string;
  group: string;
  consumer: string;
}

interface StreamEntry {
  id: string;
  body: Buffer;
}

async function ensureGroup(redis: Redis, stream: StreamNames, from: '$' | '0'): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream.key, stream.group, from, 'MKSTREAM');
  } catch (err: unknown) {
    if (!errorMessage(err).startsWith('BUSYGROUP')) throw err;
  }
}

async function readGroup(redis: Redis, stream: StreamNames, cursor: string): Promise<StreamEntry[]> {
  const args: Array<string | number> = ['GROUP', stream.group, stream.consumer, 'COUNT', STREAM_BATCH];
  // Pending entries are returned at once; only new ones are waited for.
  if (cursor === '>') args.push('BLOCK', STREAM_BLOCK_MS);
  args.push('STREAMS', stream.key, cursor);
  return parseEntries(await redis.callBuffer('XREADGROUP', ...args));
}

/**
 * XREADGROUP's reply: null, or per stream its key and [[id, [field, value,
 * …]] …]. RESP2 nests each stream as [key, items]; RESP3 (ioredis 6's
 * default) sends a map, which ioredis's "legacy" reply mapping flattens to
 * [key, items, key, items …]. An entry deleted while pending comes back with
 * null fields: it is acknowledged as an empty (refused) request.
 */
function parseEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const flatMap = reply.length % 2 === 0 && !Array.isArray(reply[0]);
  const perStream: unknown[] = flatMap
    ? reply.filter((_, index) => index % 2 === 1)
    : reply.map((pair: unknown) => (Array.isArray(pair) ? pair[1] : undefined));
  const entries: StreamEntry[] = [];
  for (const items of perStream) {
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (!Array.isArray(item)) continue;
      const [id, fields] = item as [unknown, unknown];
      if (!Buffer.isBuffer(id)) continue;
      entries.push({ id: id.toString('latin1'), body: requestField(fields) });
    }
  }
  return entries;
}

/** The `request` field's bytes; an entry without one is passed on as its fields, for the intake to refuse with a reason. */
function requestField(fields: unknown): Buffer {
  if (!Array.isArray(fields)) return Buffer.alloc(0);
  const named: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = String(fields[i]);
    const value: unknown = fields[i + 1];
    if (name === STREAM_REQUEST_FIELD && Buffer.isBuffer(value)) return value;
    named[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return Buffer.from(JSON.stringify(named));
}
