/**
 * The contract every listener implements (HTTP, Redis, Kafka, SQS). A listener
 * turns its transport's messages into raw request bodies and hands each one to
 * the same intake; it knows nothing of schemas, scheduling or sinks.
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RequestHandler } from '../requests/intake-contract.js';

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
