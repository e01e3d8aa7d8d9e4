/**
 * Delivery of finished captures (and closed segments): every sink tries in
 * parallel; what a sink did not take goes to the spool (src/spool/), which
 * retries it until it arrives. A finished capture is never dropped quietly:
 * it is delivered, waiting in the spool (the outcome's `pending`), or listed
 * in `deliveryFailures` with the reason it could not be kept.
 *
 * When a spooled delivery arrives later, fails for good or is culled, the
 * capture's outcome is updated where GET /captures/:id reads it, and every
 * `onDelivered` listener (the result publisher) gets the updated outcome,
 * after a restart too: the spool keeps the outcome and the reply destination.
 */
import { errorCodeOf, errorMessage, SinkError } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Sink } from '../sinks/sink.js';
import type { Delivery, FinishedCapture } from '../model/finished-capture.js';
import type { SinkFailure, Spool, SpoolChange } from '../spool/spool.js';
import type { CaptureOutcome, DeliveryFailure, PendingDelivery } from '../model/outcome.js';
import { spooledCopy } from '../model/outcome-transitions.js';

export interface DeliveryReport {
  deliveries: Delivery[];
  /** Sinks that do not have the capture and will not get it from the spool. */
  failures: DeliveryFailure[];
  /** Sinks that will get it from the spool. */
  pending: PendingDelivery[];
}

/** What a listener of late outcome changes learns besides the outcome. */
export interface LateOutcomeContext {
  /** Why the outcome changed: a spooled delivery arrived, failed for good, or was culled before it could. */
  kind: 'delivered' | 'failed' | 'culled';
  /** The request's `reply` destination, if it named one. */
  reply?: string;
  /** The listener the request came from ("http", "redis", …). */
  source: string;
  segment: number;
}

export type DeliveredListener = (outcome: CaptureOutcome, context: LateOutcomeContext) => void;

export interface DeliveryServiceDeps {
  sinks(): readonly Sink[];
  /** Where what a sink did not take waits and is retried. */
  spool: Spool;
  log: Log;
  metrics: Metrics;
  /**
   * Applies a late change to a capture's outcome where the HTTP API reads it
   * (the scheduler's), or to `fallback` when the scheduler no longer knows
   * the capture (it was spooled before a restart). Returns the new outcome.
   */
  amendOutcome?(id: string, change: (outcome: CaptureOutcome) => void, fallback: CaptureOutcome): CaptureOutcome;
}

interface FirstTry {
  deliveries: Delivery[];
  failed: SinkFailure[];
}

interface InFlight {
  capture: FinishedCapture;
  outcome: CaptureOutcome;
  delivered: Delivery[];
  failed: SinkFailure[];
  /** Sinks that have not answered yet. */
  waiting: Set<string>;
  /** Set when shutdown spooled it before its first try ended. */
  spooledKey?: string;
  /** The write-ahead copy being written (remote sinks only); resolves to its key, or the error that kept it from the spool. */
  journal?: Promise<{ key: string } | { error: unknown } | undefined>;
}

/** Every sink tries the capture once, in parallel; each outcome is logged and counted. */
export async function deliverToSinks(
  capture: FinishedCapture,
  sinks: readonly Sink[],
  log: Log,
  metrics: Metrics,
  onAnswer?: (answer: { sink: string; delivery?: Delivery; error?: unknown }) => void,
): Promise<FirstTry> {
  const result: FirstTry = { deliveries: [], failed: [] };
  await Promise.all(
    sinks.map(async (sink) => {
      const stopTimer = metrics.deliveryDuration.startTimer({ sink: sink.name });
      try {
        const delivery = await sink.deliver(capture);
        stopTimer();
        metrics.deliveries.inc({ sink: sink.name, outcome: 'ok' }, capture.files.length);
        log.info({ sink: sink.name, segment: capture.segment, locations: delivery.locations }, 'capture delivered');
        result.deliveries.push(delivery);
        onAnswer?.({ sink: sink.name, delivery });
      } catch (err: unknown) {
        stopTimer();
        const code = errorCodeOf(err) ?? 'PCAPD_ERR_SINK_FAILED';
        metrics.deliveries.inc({ sink: sink.name, outcome: 'error' }, capture.files.length);
        log.error({ sink: sink.name, segment: capture.segment, code, err: errorMessage(err) }, 'delivery failed');
        result.failed.push({ sink: sink.name, error: err });
        onAnswer?.({ sink: sink.name, error: err });
      }
    }),
  );
  return result;
}

function failureOf(failure: SinkFailure, segment: number): DeliveryFailure {
  return { sink: failure.sink, code: errorCodeOf(failure.error) ?? 'PCAPD_ERR_SINK_FAILED', message: errorMessage(failure.error), segment };
}

function sameDelivery(a: Delivery, b: Delivery): boolean {
  return a.sink === b.sink && a.locations.length === b.locations.length && a.locations.every((location, i) => location === b.locations[i]);
}

/**
 * Puts one spooled capture's current standing into an outcome: its sinks'
 * pending entries and failures for its segment are replaced, its deliveries
 * added once.
 */
export function applySpoolChange(outcome: CaptureOutcome, change: Pick<SpoolChange, 'record' | 'deliveries' | 'pending' | 'failures'>): void {
  const sinks = new Set(change.record.sinks);
  const { segment } = change.record;
  const ours = (item: { sink: string; segment?: number }): boolean => sinks.has(item.sink) && item.segment === segment;
  outcome.pending = [...(outcome.pending ?? []).filter((item) => !ours(item)), ...change.pending];
  outcome.deliveryFailures = [...outcome.deliveryFailures.filter((item) => !ours(item)), ...change.failures];
  for (const delivery of change.deliveries) {
    if (!outcome.deliveries.some((known) => sameDelivery(known, delivery))) outcome.deliveries.push(delivery);
  }
}

export class DeliveryService {
  private readonly deps: DeliveryServiceDeps;
  private readonly listeners = new Set<DeliveredListener>();
  private readonly inFlight = new Set<InFlight>();
  private readonly spool: Spool;

  constructor(deps: DeliveryServiceDeps) {
    this.deps = deps;
    this.spool = deps.spool;
  }

  /**
   * Calls `listener` with the updated outcome whenever a spooled delivery
   * arrives, fails for good or is culled (the result publisher's hook).
   * Returns a function that removes it.
   */
  onDelivered(listener: DeliveredListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * First try at every sink, then the spool for those that failed. `outcome`
   * is the capture's outcome so far (read, not changed): the spool keeps a
   * copy to report from after a restart.
   */
  async deliver(capture: FinishedCapture, outcome: CaptureOutcome, log: Log): Promise<DeliveryReport> {
    const sinks = this.deps.sinks();
    const flight: InFlight = { capture, outcome, delivered: [], failed: [], waiting: new Set(sinks.map((sink) => sink.name)) };
    const journal = this.writeAhead(capture, sinks, outcome, log);
    if (journal !== undefined) flight.journal = journal;
    this.inFlight.add(flight);
    // Each sink that takes it is marked in the write-ahead copy at once, so a
    // crash while a slower sink uploads re-sends it to none that had it.
    const markers: Array<Promise<void>> = [];
    let first: FirstTry;
    try {
      first = await deliverToSinks(capture, sinks, log, this.deps.metrics, ({ sink, delivery, error }) => {
        flight.waiting.delete(sink);
        if (delivery !== undefined) flight.delivered.push(delivery);
        else flight.failed.push({ sink, error });
        if (delivery !== undefined && journal !== undefined) markers.push(this.markEarly(journal, delivery, log));
      });
    } finally {
      this.inFlight.delete(flight);
    }
    await Promise.all(markers);
    if (flight.spooledKey !== undefined) return this.afterShutdownSpool(flight, first, log);
    const written = await journal;
    if (written !== undefined && 'key' in written) return { deliveries: first.deliveries, ...(await this.releaseJournal(written.key, capture, first, log)) };
    if (first.failed.length === 0) return { deliveries: first.deliveries, failures: [], pending: [] };
    const spoolError = written !== undefined && 'error' in written ? written.error : undefined;
    return { deliveries: first.deliveries, ...(await this.spoolFailed(capture, first, outcome, log, spoolError)) };
  }

  /**
   * When a remote sink (S3, Cloudshark) is among the sinks, the capture is
   * written to the spool while the first tries run, so a pcapd killed during
   * a long upload still has it at the next start. Local-only delivery needs
   * no copy: the local sink is itself a disk write.
   */
  private writeAhead(
    capture: FinishedCapture,
    sinks: readonly Sink[],
    outcome: CaptureOutcome,
    log: Log,
  ): Promise<{ key: string } | { error: unknown } | undefined> | undefined {
    if (sinks.every((sink) => sink.writesLocally === true)) return undefined;
    return this.spool
      .hold(
        capture,
        sinks.map((sink) => sink.name),
        spooledCopy(outcome, []),
      )
      .then(
        (key) => (key === undefined ? undefined : { key }),
        (err: unknown) => {
          log.warn(
            { code: errorCodeOf(err), err: errorMessage(err), segment: capture.segment },
            'no write-ahead copy in the spool: a crash during this upload would lose the capture for the remote sinks',
          );
          return { error: err };
        },
      );
  }

  private async markEarly(journal: NonNullable<InFlight['journal']>, delivery: Delivery, log: Log): Promise<void> {
    const written = await journal;
    if (written === undefined || !('key' in written)) return;
    await this.spool
      ?.markDeliveredLate(written.key, delivery)
      .catch((err: unknown) => log.warn({ err: errorMessage(err), sink: delivery.sink }, 'could not mark a delivery in the write-ahead copy'));
  }

  private async releaseJournal(key: string, capture: FinishedCapture, first: FirstTry, log: Log): Promise<Omit<DeliveryReport, 'deliveries'>> {
    try {
      const view = await this.spool.release(key, first.deliveries, first.failed);
      return { failures: view.failures, pending: view.pending };
    } catch (err: unknown) {
      log.error({ key, err: errorMessage(err) }, 'the write-ahead spool entry vanished during the first try');
      return { failures: first.failed.map((failure) => failureOf(failure, capture.segment)), pending: [] };
    }
  }

  /**
   * Shutdown: captures whose first try is still running when the drain time
   * is up are spooled for the sinks that have not answered, so a sink that
   * hangs cannot cost the capture. Returns how many were spooled.
   */
  async spoolUnfinished(log: Log): Promise<number> {
    let spooled = 0;
    for (const flight of this.inFlight) {
      if (flight.spooledKey !== undefined) continue;
      // Already in the spool: its sinks stay held, and the next start tries those without a marker.
      const journal = await flight.journal;
      if (journal !== undefined && 'key' in journal) {
        flight.spooledKey = journal.key;
        spooled += 1;
        continue;
      }
      const failures = [
        ...flight.failed,
        ...[...flight.waiting].map((sink) => ({
          sink,
          error: new SinkError('PCAPD_ERR_SHUTTING_DOWN', sink, 'pcapd shut down before the sink answered', { retriable: true }),
        })),
      ];
      if (failures.length === 0) continue;
      try {
        const { key } = await this.spool.add(flight.capture, failures, spooledCopy(flight.outcome, flight.delivered));
        flight.spooledKey = key;
        spooled += 1;
      } catch (err: unknown) {
        log.error(
          { reqId: flight.capture.job.id, code: errorCodeOf(err), err: errorMessage(err) },
          'shutdown: capture could not be spooled and is lost for the sinks that had not answered',
        );
      }
    }
    return spooled;
  }

  /** The spool's report of a change: update the outcome, tell the listeners. */
  applySpoolChange(change: SpoolChange): void {
    const { record } = change;
    const fallback = structuredClone(record.outcome);
    const apply = (outcome: CaptureOutcome): void => applySpoolChange(outcome, change);
    let outcome: CaptureOutcome;
    if (this.deps.amendOutcome) {
      outcome = this.deps.amendOutcome(record.id, apply, fallback);
    } else {
      apply(fallback);
      outcome = fallback;
    }
    if (change.kind === 'rearmed') return;
    const context: LateOutcomeContext = { kind: change.kind, source: record.job.source, segment: record.segment };
    if (record.job.reply !== undefined) context.reply = record.job.reply;
    for (const listener of this.listeners) {
      try {
        listener(structuredClone(outcome), context);
      } catch (err: unknown) {
        this.deps.log.error({ reqId: record.id, err: errorMessage(err) }, 'a delivered-outcome listener failed');
      }
    }
  }

  /** `spoolError`: the write-ahead copy already failed for this reason; the spool is not tried twice. */
  private async spoolFailed(
    capture: FinishedCapture,
    first: FirstTry,
    outcome: CaptureOutcome,
    log: Log,
    spoolError?: unknown,
  ): Promise<Omit<DeliveryReport, 'deliveries'>> {
    // The write-ahead copy already failed: the spool cannot keep this capture either.
    if (spoolError !== undefined) return unspooled(capture, first, log, spoolError);
    try {
      const { view } = await this.spool.add(capture, first.failed, spooledCopy(outcome, first.deliveries));
      return { failures: view.failures, pending: view.pending };
    } catch (err: unknown) {
      return unspooled(capture, first, log, err);
    }
  }

  /** A first try that ended after shutdown had spooled its capture: record what arrived meanwhile. */
  private async afterShutdownSpool(flight: InFlight, first: FirstTry, log: Log): Promise<DeliveryReport> {
    const key = flight.spooledKey ?? '';
    for (const delivery of first.deliveries) {
      await this.spool.markDeliveredLate(key, delivery).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not mark a late delivery'));
    }
    return { deliveries: first.deliveries, failures: [], pending: first.failed.map((failure) => pendingOf(failure, flight.capture.segment)) };
  }
}

function pendingOf(failure: SinkFailure, segment: number): PendingDelivery {
  return {
    sink: failure.sink,
    segment,
    attempts: 1,
    nextAttemptAt: new Date().toISOString(),
    code: errorCodeOf(failure.error) ?? 'PCAPD_ERR_SINK_FAILED',
    message: errorMessage(failure.error),
  };
}

/** A capture the spool could not keep: each failed sink's failure says so, and it is logged once. */
function unspooled(capture: FinishedCapture, first: FirstTry, log: Log, err: unknown): Omit<DeliveryReport, 'deliveries'> {
  const code = errorCodeOf(err) ?? 'PCAPD_ERR_SPOOL_WRITE';
  log.error(
    { code, err: errorMessage(err), sinks: first.failed.map((failure) => failure.sink), segment: capture.segment },
    'capture could not be spooled: the sinks that failed will not get it (it stays downloadable from GET /captures/:id/pcap for http.retainseconds)',
  );
  return {
    failures: first.failed.map((failure) => ({
      sink: failure.sink,
      code,
      message: `${errorMessage(failure.error)}; and the spool could not keep the capture: ${errorMessage(err)}`,
      segment: capture.segment,
    })),
    pending: [],
  };
}
