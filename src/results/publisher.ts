/**
 * Sends result events: when an accepted request's capture is delivered (or
 * has failed), its CaptureOutcome goes to the request's `reply` destination
 * and to the configured `results` destination of the listener it came from;
 * a request this node refused gets a short rejection event the same way.
 *
 * Publishing is best effort by design: a failure is logged and counted and
 * never touches the capture, the sinks or the listener's acknowledgement.
 */
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { raceTimeout } from '../timers.js';
import type { IntakeResult, RawRequest } from '../requests/intake-contract.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { LateOutcomeContext } from '../delivery/delivery.js';
import type { CaptureOutcome } from '../model/outcome.js';
import { formatDestination, parseDestination, unreachableReason, type Destination, type ResultTransport } from '../requests/reply-destination.js';
import type { RejectedEvent, ResultEvent } from './events.js';
import { DeferredSender, type ResultSender } from './sender.js';

export interface PublisherDeps {
  config(): Config;
  node(): string;
  log: Log;
  metrics: Metrics;
  clock: { nowMs(): number };
}

/**
 * Rejections for these codes carry no readable request, or one whose sender
 * is not proven (a bad or missing signature must not make pcapd publish
 * anywhere on its behalf), so no reply destination and no id.
 */
/** Not a decision: the message stays unacknowledged and is handled after the restart. */
const NOT_DECIDED = new Set(['PCAPD_ERR_SHUTTING_DOWN']);
/** close() waits at most this long for events still being sent. */
const CLOSE_WAIT_MS = 5_000;

interface SenderSlot {
  sender: ResultSender;
  /** The config section it was built from: a reload that changes it builds a new one. */
  section: string;
}

export class ResultPublisher {
  private readonly deps: PublisherDeps;
  private readonly senders = new Map<ResultTransport, SenderSlot>();
  private readonly pending = new Set<Promise<void>>();

  constructor(deps: PublisherDeps) {
    this.deps = deps;
  }

  /** Called with every intake decision; returns at once. */
  track(raw: RawRequest, result: IntakeResult): void {
    switch (result.kind) {
      case 'accepted':
        this.trackAccepted(raw, result);
        return;
      case 'rejected':
        if (NOT_DECIDED.has(result.code)) return;
        this.publish(this.destinations(raw.source, result.reply), this.rejection(raw, result));
        return;
      case 'ignored':
      case 'duplicate':
      case 'merged':
        // Another node's request, one whose first copy's outcome is published,
        // or an alert whose flow's capture publishes it among its alerts.
        return;
      default: {
        const unreachable: never = result;
        throw new Error(`unknown intake result ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * The final outcome goes to the reply destination (and the listener's
   * results destination); with `replyon: ["armed", …]` the moment the capture
   * starts recording goes to the reply destination alone, so a requester can
   * send its traffic then. A capture that fails before it arms says so once,
   * in its final event (or in the armed one when only that was asked for).
   * Destinations are resolved when the event is sent, under the config then.
   */
  private trackAccepted(raw: RawRequest, result: Extract<IntakeResult, { kind: 'accepted' }>): void {
    const on = result.replyOn ?? ['done'];
    const wantsDone = on.includes('done');
    if (on.includes('armed')) {
      void result.armed.then((state) => {
        if (state.state === 'capturing' || !wantsDone) this.publish(this.destinations(raw.source, result.reply, 'reply-only'), state);
      });
    }
    if (wantsDone) void result.outcome.then((outcome) => this.publish(this.destinations(raw.source, result.reply), outcome));
  }

  /**
   * A capture's outcome changed after its first result event: a spooled
   * delivery arrived, failed for good or was culled (after a restart too).
   * The updated outcome goes where the first one went.
   */
  lateOutcome(outcome: CaptureOutcome, context: LateOutcomeContext): void {
    this.publish(this.destinations(context.source, context.reply), outcome);
  }

  /** Waits (bounded) for events being sent, then closes every connection. */
  async close(): Promise<void> {
    await raceTimeout(Promise.allSettled([...this.pending]), CLOSE_WAIT_MS);
    const slots = [...this.senders.values()];
    this.senders.clear();
    await Promise.allSettled(slots.map((slot) => slot.sender.close()));
  }

  // ---- routing ----

  /** The reply destination first, then the source listener's configured one; each once. */
  /** The request's reply destination and, unless `scope` is 'reply-only', the listener's configured results one. */
  private destinations(source: string, reply: string | undefined, scope: 'all' | 'reply-only' = 'all'): Destination[] {
    const config = this.deps.config();
    const wanted: Destination[] = [];
    if (reply !== undefined) {
      const parsed = parseDestination(reply);
      if (typeof parsed !== 'string' && unreachableReason(parsed, config) === undefined) wanted.push(parsed);
    }
    const configured = scope === 'all' ? configuredResults(source, config) : undefined;
    if (configured !== undefined) wanted.push(configured);
    const seen = new Set<string>();
    return wanted.filter((destination) => {
      const key = formatDestination(destination);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  private rejection(raw: RawRequest, result: Extract<IntakeResult, { kind: 'rejected' }>): RejectedEvent {
    return {
      ...(result.id === undefined ? {} : { id: result.id }),
      node: this.deps.node(),
      source: raw.source,
      state: 'rejected',
      error: { code: result.code, message: result.message },
      requestedAt: new Date(this.deps.clock.nowMs()).toISOString(),
    };
  }

  // ---- sending ----

  private publish(destinations: readonly Destination[], event: ResultEvent): void {
    if (destinations.length === 0) return;
    const body = JSON.stringify(event);
    for (const destination of destinations) {
      const sending = this.sendOne(destination, body, event).finally(() => this.pending.delete(sending));
      this.pending.add(sending);
    }
  }

  private async sendOne(destination: Destination, body: string, event: ResultEvent): Promise<void> {
    const { log, metrics } = this.deps;
    const where = formatDestination(destination);
    try {
      await this.sender(destination.transport).send(destination.name, body);
      metrics.resultEvents.inc({ transport: destination.transport, outcome: 'ok' });
      log.debug({ reqId: event.id, destination: where, state: event.state }, 'result event published');
    } catch (err: unknown) {
      metrics.resultEvents.inc({ transport: destination.transport, outcome: 'error' });
      log.warn({ reqId: event.id, destination: where, code: 'PCAPD_ERR_RESULT_PUBLISH', err: errorMessage(err) }, 'result event not published');
    }
  }

  private sender(transport: ResultTransport): ResultSender {
    const config = this.deps.config();
    const section = JSON.stringify(config[transport]);
    const slot = this.senders.get(transport);
    if (slot !== undefined && slot.section === section) return slot.sender;
    if (slot !== undefined) void slot.sender.close().catch(() => undefined);
    const sender = new DeferredSender(this.loadSender(transport, config));
    this.senders.set(transport, { sender, section });
    return sender;
  }

  /** Each transport's client library is imported when its first event is sent (most nodes never use two). */
  private async loadSender(transport: ResultTransport, config: Config): Promise<ResultSender> {
    const node = this.deps.node();
    switch (transport) {
      case 'redis': {
        const { RedisResultSender } = await import('./redis.js');
        return new RedisResultSender(config.redis, node);
      }
      case 'kafka': {
        const { KafkaResultSender } = await import('./kafka.js');
        return new KafkaResultSender(config.kafka, node, this.deps.log.child({ transport: 'kafka' }));
      }
      case 'sqs': {
        const { SqsResultSender } = await import('./sqs.js');
        return new SqsResultSender(config.sqs);
      }
      default: {
        const unreachable: never = transport;
        throw new Error(`unknown result transport ${String(unreachable)}`);
      }
    }
  }
}

/** [redis] results, [kafka] results or [sqs] results for requests from that listener. */
function configuredResults(source: string, config: Config): Destination | undefined {
  switch (source) {
    case 'redis':
      return config.redis.results === '' ? undefined : { transport: 'redis', name: config.redis.results };
    case 'kafka':
      return config.kafka.results === '' ? undefined : { transport: 'kafka', name: config.kafka.results };
    case 'sqs':
      return config.sqs.results === '' ? undefined : { transport: 'sqs', name: config.sqs.results };
    default:
      return undefined;
  }
}
