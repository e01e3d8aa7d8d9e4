/**
 * What a broker listener does with a message once the intake has decided,
 * shared by the Redis Streams, Kafka and SQS listeners so the three agree:
 *
 *   accepted           acknowledge when the capture is delivered (its outcome resolves)
 *   rejected           acknowledge at once: the same bytes would be refused again
 *   duplicate          acknowledge at once: the first copy is captured here
 *   other node         SQS: make it visible again at once, for its node; others: acknowledge
 *   shutting down      do not acknowledge: the broker redelivers it after the restart
 *
 * "Acknowledge" is XACK, a Kafka offset commit or an SQS DeleteMessage.
 */
import type { Gauge } from 'prom-client';

import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { raceTimeout } from '../timers.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { FinalOutcome } from '../model/outcome.js';
import type { IntakeResult, RawRequest, RequestHandler } from '../requests/intake-contract.js';

export type Settlement = { kind: 'ack' } | { kind: 'release'; why: 'other-node' | 'shutting-down' } | { kind: 'after-outcome'; outcome: Promise<FinalOutcome> };

export function settlementOf(result: IntakeResult): Settlement {
  switch (result.kind) {
    case 'accepted':
      return { kind: 'after-outcome', outcome: result.outcome };
    case 'duplicate':
    case 'merged':
      return { kind: 'ack' };
    case 'ignored':
      // An EVE event that is not an alert is ignored by every node: settled here.
      return result.why === 'not-an-alert' ? { kind: 'ack' } : { kind: 'release', why: 'other-node' };
    case 'rejected':
      return result.code === 'PCAPD_ERR_SHUTTING_DOWN' ? { kind: 'release', why: 'shutting-down' } : { kind: 'ack' };
    default: {
      const unreachable: never = result;
      throw new Error(`unknown intake result ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The intake never throws, but a listener must survive even a bug there: a
 * thrown error becomes a rejection (acknowledged, logged, counted) and the
 * subscription carries on.
 */
export async function handleSafely(onRequest: RequestHandler, raw: RawRequest, log: Log, metrics: Metrics): Promise<IntakeResult> {
  try {
    return await onRequest(raw);
  } catch (err: unknown) {
    metrics.requestsRejected.inc({ source: raw.source, reason: 'PCAPD_ERR_INTERNAL' });
    metrics.internalErrors.inc({ where: 'listener' });
    log.error({ err, code: 'PCAPD_ERR_INTERNAL' }, 'request handling failed unexpectedly; message dropped');
    return { kind: 'rejected', code: 'PCAPD_ERR_INTERNAL', message: errorMessage(err) };
  }
}

/**
 * How long stop() waits for captures in flight: the scheduler's drain runs at
 * the same time and ends them within scheduler.drainseconds; the margin lets
 * their acknowledgements go out.
 */
export function stopWaitMs(config: Config): number {
  return (config.scheduler.drainseconds + 5) * 1000;
}

/** Messages received and not yet settled; stop() waits for them, bounded. */
export class InFlight {
  private readonly work = new Set<Promise<unknown>>();
  private readonly gauge: Gauge<'listener'>;
  private readonly listener: string;
  private readonly idleWaiters = new Set<() => void>();

  constructor(gauge: Gauge<'listener'>, listener: string) {
    this.gauge = gauge;
    this.listener = listener;
    gauge.set({ listener }, 0);
  }

  get size(): number {
    return this.work.size;
  }

  /** Counts `work` until it settles; never rejects. */
  add(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch(() => undefined)
      .finally(() => {
        this.work.delete(tracked);
        this.gauge.set({ listener: this.listener }, this.work.size);
        for (const wake of this.idleWaiters) wake();
      });
    this.work.add(tracked);
    this.gauge.set({ listener: this.listener }, this.work.size);
  }

  /** Resolves when fewer than `limit` are in flight. */
  async below(limit: number, signal: AbortSignal): Promise<void> {
    while (this.work.size >= limit && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.idleWaiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.idleWaiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** True when everything settled within `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const settled = (async () => {
      while (this.work.size > 0) await Promise.allSettled([...this.work]);
      return 'idle' as const;
    })();
    return (await raceTimeout(settled, timeoutMs)) === 'idle';
  }
}
