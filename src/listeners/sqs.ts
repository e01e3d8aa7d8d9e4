/**
 * The SQS listener ([sqs]): long-polls the queue and deletes a message only
 * once its capture is delivered or it is refused (pcapdaemon deleted every
 * message before capturing, and those meant for other nodes too).
 *
 * - Another node's request is made visible again at once (visibility 0), so
 *   its node can take it. A message no node takes would then circle at full
 *   speed, so from its fourth receive on it is hidden a little longer each
 *   time (a redrive policy with maxReceiveCount moves it aside for good).
 * - While a capture runs longer than the visibility timeout, the timeout is
 *   extended, so no other consumer takes the message meanwhile.
 * - At most `chunksize` messages are held at once: that caps the captures
 *   running from SQS, and the rest waits in the queue, not in pcapd.
 * - If pcapd dies mid-capture, the message becomes visible again when its
 *   visibility timeout ends and is captured then (at least once).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

import { backoffDelayMs } from '../backoff.js';
import { sleep } from '../timers.js';
import { sqsClient } from '../brokers/sqs.js';
import { errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import { ConnectionState } from './connection-state.js';
import type { BrokerListenerDeps, Listener } from './listener.js';
import type { RequestHandler } from '../requests/intake-contract.js';
import { handleSafely, InFlight, settlementOf, stopWaitMs, type Settlement } from './settlement.js';

/** SQS's own default, used until the queue's is known. */
const DEFAULT_VISIBILITY_SECONDS = 30;
/** Receives of an unclaimed message released at once before it is hidden for longer. */
const FREE_RELEASES = 3;
const MAX_RELEASE_DELAY_SECONDS = 60;
/** start() waits this long for the first successful receive call to be under way. */
const FIRST_RECEIVE_WAIT_MS = 10_000;

export class SqsListener implements Listener {
  readonly name = 'sqs';
  private readonly deps: BrokerListenerDeps;
  private readonly log: Log;
  private readonly connection: ConnectionState;
  private readonly inFlight: InFlight;
  private readonly stopping = new AbortController();
  private readonly extenders = new Set<NodeJS.Timeout>();
  private client: SQSClient | undefined;
  private loop: Promise<void> | undefined;
  /** The visibility timeout of received messages: configured, or read from the queue. */
  private visibilitySeconds = DEFAULT_VISIBILITY_SECONDS;

  constructor(deps: BrokerListenerDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.connection = new ConnectionState(this.name, deps.log, deps.metrics);
    this.inFlight = new InFlight(deps.metrics.listenerInFlight, this.name);
  }

  async start(onRequest: RequestHandler): Promise<void> {
    const section = this.deps.config().sqs;
    if (section.url === undefined) throw new Error('sqs.url is not set (config validation should have refused this)');
    this.client = sqsClient(section);
    this.visibilitySeconds = section.visibilityseconds > 0 ? section.visibilityseconds : DEFAULT_VISIBILITY_SECONDS;
    // The first receive is under way (or failing) before start() returns, so
    // a request sent right after "pcapd started" is in its long poll.
    const firstReceive = new Promise<void>((resolve) => {
      this.loop = this.receiveLoop(this.client as SQSClient, section.url as string, onRequest, resolve);
    });
    await Promise.race([firstReceive, sleep(FIRST_RECEIVE_WAIT_MS, this.stopping.signal)]);
  }

  async stop(): Promise<void> {
    // Aborts the long poll in progress: a message it was about to return
    // stays hidden for its visibility timeout, then comes back.
    this.stopping.abort();
    await this.loop;
    if (!(await this.inFlight.drain(stopWaitMs(this.deps.config())))) {
      this.log.warn({ inFlight: this.inFlight.size }, 'stopped with captures still running; their messages reappear after the visibility timeout');
    }
    for (const timer of this.extenders) clearInterval(timer);
    this.extenders.clear();
    this.client?.destroy();
    this.client = undefined;
    this.connection.stopped();
    this.log.info('sqs listener stopped');
  }

  // ---- receiving ----

  private async receiveLoop(client: SQSClient, queueUrl: string, onRequest: RequestHandler, onFirst: () => void): Promise<void> {
    const section = this.deps.config().sqs;
    const { signal } = this.stopping;
    let attempt = 0;
    while (!signal.aborted) {
      await this.inFlight.below(section.chunksize, signal);
      if (signal.aborted) return;
      try {
        if (!this.connection.isUp) {
          // A long poll proves the queue reachable only when it returns (up to
          // waitseconds later); this quick call says so at once.
          const queueSeconds = await this.queueVisibilitySeconds(client, queueUrl, signal);
          if (section.visibilityseconds === 0) this.visibilitySeconds = queueSeconds;
          this.connection.up({ queue: queueUrl, visibilitySeconds: this.visibilitySeconds }, 'receiving from the sqs queue');
        }
        const receiving = client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: section.chunksize - this.inFlight.size,
            WaitTimeSeconds: section.waitseconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            ...(section.visibilityseconds > 0 ? { VisibilityTimeout: section.visibilityseconds } : {}),
          }),
          { abortSignal: signal },
        );
        onFirst();
        const { Messages: messages = [] } = await receiving;
        attempt = 0;
        for (const message of messages) this.inFlight.add(this.handle(client, queueUrl, message, onRequest));
      } catch (err: unknown) {
        onFirst();
        if (signal.aborted) return;
        attempt += 1;
        this.connection.down(err, 'sqs ReceiveMessage failed');
        this.deps.metrics.listenerErrors.inc({ listener: this.name, reason: 'PCAPD_ERR_BROKER_RECEIVE' });
        this.log.debug({ err: errorMessage(err), attempt }, 'sqs: receive failed');
        await sleep(backoffDelayMs(attempt), signal);
      }
    }
  }

  private async queueVisibilitySeconds(client: SQSClient, queueUrl: string, signal: AbortSignal): Promise<number> {
    const { Attributes: attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }), {
      abortSignal: signal,
    });
    const seconds = Number(attributes?.['VisibilityTimeout'] ?? DEFAULT_VISIBILITY_SECONDS);
    return Number.isInteger(seconds) && seconds >= 0 ? seconds : DEFAULT_VISIBILITY_SECONDS;
  }

  // ---- one message ----

  private async handle(client: SQSClient, queueUrl: string, message: Message, onRequest: RequestHandler): Promise<void> {
    const receipt = message.ReceiptHandle;
    if (receipt === undefined) return;
    const result = await handleSafely(onRequest, { body: message.Body ?? '', source: this.name }, this.log, this.deps.metrics);
    const settlement: Settlement = settlementOf(result);
    switch (settlement.kind) {
      case 'ack':
        return this.delete(client, queueUrl, receipt);
      case 'release': {
        const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
        const delaySeconds = settlement.why === 'other-node' ? releaseDelaySeconds(receives) : 0;
        return this.release(client, queueUrl, receipt, delaySeconds);
      }
      case 'after-outcome': {
        const timer = this.keepHidden(client, queueUrl, receipt);
        try {
          await settlement.outcome;
        } finally {
          clearInterval(timer);
          this.extenders.delete(timer);
        }
        return this.delete(client, queueUrl, receipt);
      }
      default: {
        const unreachable: never = settlement;
        throw new Error(`unknown settlement ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Extends the message's visibility at half its timeout, for as long as the capture runs. */
  private keepHidden(client: SQSClient, queueUrl: string, receipt: string): NodeJS.Timeout {
    const timeoutSeconds = this.visibilitySeconds;
    const periodMs = Math.max(1, timeoutSeconds / 2) * 1000;
    const timer = setInterval(() => {
      void this.changeVisibility(client, queueUrl, receipt, timeoutSeconds, 'extend');
    }, periodMs);
    this.extenders.add(timer);
    return timer;
  }

  private async delete(client: SQSClient, queueUrl: string, receipt: string): Promise<void> {
    try {
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt }));
      this.deps.metrics.listenerSettlements.inc({ listener: this.name, action: 'ack' });
    } catch (err: unknown) {
      this.ackFailed(err, 'sqs DeleteMessage failed; the message will be received again');
    }
  }

  private async release(client: SQSClient, queueUrl: string, receipt: string, delaySeconds: number): Promise<void> {
    await this.changeVisibility(client, queueUrl, receipt, delaySeconds, 'release');
  }

  private async changeVisibility(client: SQSClient, queueUrl: string, receipt: string, seconds: number, action: 'release' | 'extend'): Promise<void> {
    try {
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: seconds }));
      this.deps.metrics.listenerSettlements.inc({ listener: this.name, action });
    } catch (err: unknown) {
      this.ackFailed(err, `sqs ChangeMessageVisibility (${action}) failed`);
    }
  }

  private ackFailed(err: unknown, message: string): void {
    this.deps.metrics.listenerErrors.inc({ listener: this.name, reason: 'PCAPD_ERR_BROKER_ACK' });
    this.log.warn({ code: 'PCAPD_ERR_BROKER_ACK', err: errorMessage(err) }, message);
  }
}

/** 0 for the first few receives, then 2, 4, 8 … seconds, capped. */
export function releaseDelaySeconds(receives: number): number {
  if (!Number.isFinite(receives) || receives <= FREE_RELEASES) return 0;
  return Math.min(MAX_RELEASE_DELAY_SECONDS, 2 ** (receives - FREE_RELEASES));
}
