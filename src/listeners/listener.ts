/**
 * The contract every listener implements (HTTP, Redis, Kafka, SQS). A listener
 * turns its transport's messages into raw request bodies and hands each one to
 * the same intake; it knows nothing of schemas, scheduling or sinks.
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ReplyEvent } from '../requests/schema.js';
import type { SubmitResult } from '../scheduler/scheduler.js';

export interface RawRequest {
  body: string | Buffer;
  /** Listener name: "http", "redis", "kafka", "sqs". */
  source: string;
}

export type IntakeResult =
  | (Extract<SubmitResult, { kind: 'accepted' }> & {
      /** The request's validated `reply` destination, when it named one. */
      reply?: string;
      /** Which result events go to `reply` (default: the final outcome only). */
      replyOn?: readonly ReplyEvent[];
    })
  | { kind: 'ignored'; why: 'other-node' | 'not-an-alert' }
  | { kind: 'duplicate'; id: string }
  /** An alert for a flow already being captured: added to that capture (`id`). */
  | { kind: 'merged'; id: string }
  | { kind: 'rejected'; code: string; message: string };

export type RequestHandler = (request: RawRequest) => Promise<IntakeResult>;

export interface Listener {
  readonly name: string;
  start(onRequest: RequestHandler): Promise<void>;
  /** Stops taking messages; waits (bounded) for work in flight. */
  stop(): Promise<void>;
}

/** What a broker listener (redis, kafka, sqs) is built from. */
export interface BrokerListenerDeps {
  /** The running config (SIGHUP may replace it; a changed section restarts its listener). */
  config(): Config;
  node(): string;
  log: Log;
  metrics: Metrics;
}
