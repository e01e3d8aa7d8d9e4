/**
 * Where a result event goes: `redis:<channel>`, `kafka:<topic>` or
 * `sqs:<queue-url>`, as a request's `reply` field or a listener's configured
 * `results` destination. One parser for the daemon, the request check and
 * `pcapd request`.
 */
import { sqsOrigin } from '../config/sqs-url.js';
import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';

export const RESULT_TRANSPORTS = ['redis', 'kafka', 'sqs'] as const;
export type ResultTransport = (typeof RESULT_TRANSPORTS)[number];

export interface Destination {
  transport: ResultTransport;
  /** Channel, topic or queue URL. */
  name: string;
}

const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
// Printable, no spaces: a channel name that survives being logged and typed.
const REDIS_CHANNEL = /^[^\s\p{Cc}]{1,255}$/u;

/** The destination, or a sentence saying what is wrong with it. */
export function parseDestination(text: string): Destination | string {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const name = text.slice(colon + 1);
  switch (scheme) {
    case 'redis':
      return REDIS_CHANNEL.test(name) ? { transport: 'redis', name } : 'redis:<channel>: the channel must be 1-255 characters without spaces';
    case 'kafka':
      return KAFKA_TOPIC.test(name) ? { transport: 'kafka', name } : 'kafka:<topic>: the topic must be 1-249 characters of letters, digits, ".", "_" and "-"';
    case 'sqs':
      return isQueueUrl(name) ? { transport: 'sqs', name } : 'sqs:<queue-url>: the queue URL must be an http(s) URL with a path';
    default:
      return 'must be redis:<channel>, kafka:<topic> or sqs:<queue-url>';
  }
}

function isQueueUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.pathname.length > 1 && url.username === '';
  } catch {
    return false;
  }
}

/**
 * Whether this configuration can send to the destination: its listener is
 * enabled (pcapd connects to no broker nobody configured), and an SQS queue
 * is on the request queue's own endpoint (a message must not choose where
 * pcapd sends signed requests). Undefined when it can; else the reason.
 */
export function unreachableReason(destination: Destination, config: Config): string | undefined {
  const { transport } = destination;
  if (!config[transport].listen) return `${transport}: the ${transport} listener is not enabled here ([${transport}] listen = false)`;
  if (transport === 'sqs') {
    const allowed = sqsOrigin(config.sqs);
    if (new URL(destination.name).origin !== allowed) return `sqs: the queue must be on ${allowed ?? "the configured queue's endpoint"}`;
  }
  return undefined;
}

export function formatDestination(destination: Destination): string {
  return `${destination.transport}:${destination.name}`;
}

/** `reply` must be well formed and reachable from this configuration. */
export function checkReply(reply: string, config: Config): void {
  const destination = parseDestination(reply);
  const problem = typeof destination === 'string' ? destination : unreachableReason(destination, config);
  if (problem !== undefined) throw new PcapdError('PCAPD_ERR_REPLY_INVALID', `/reply: ${problem}`);
}
