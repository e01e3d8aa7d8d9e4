/**
 * The daemon's spool: captures some sink did not take, kept on disk
 * (src/spool/store.ts) and retried until every sink has them, the cull
 * removes them, or pcapd is told to give up.
 *
 * Each sink has one worker, which tries one capture at a time (a spooled
 * capture is read back into memory for its try, shared by sinks trying it at
 * once, so retries hold at most one capture per sink), and a sink that hangs
 * holds up only its own retries. Waits come from the one retry helper
 * (src/spool/retry.ts). When a sink takes a capture again, every other
 * capture waiting for that sink is tried at once: it is back.
 *
 * Every change to what a sink has is reported through `onChange`, which
 * the delivery service turns into an updated capture outcome.
 */
import { watch, type FSWatcher } from 'node:fs';

import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errnoCode, errorCodeOf, errorMessage, PcapdError, SinkError } from '../errors.js';
import { raceTimeout } from '../timers.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryFailure, FinalOutcome, PendingDelivery } from '../model/outcome.js';
import type { Sink } from '../sinks/sink.js';
import { totalBytes, type Delivery, type FinishedCapture } from '../model/finished-capture.js';
import { planCull, type CullItem } from './cull.js';
import { isRetriable, retryDecision, type RetryPolicy } from './retry.js';
import { SpoolStore, undeliveredSinks, type SinkRetryState, type SpoolEntry, type SpoolRecord, type SpoolState, type ValidEntry } from './store.js';
import type { ControlRequest, ControlResult } from './control.js';

export interface SpoolDeps {
  settings(): Config['spool'];
  /** The sinks enabled now (they change on SIGHUP). */
  sinks(): readonly Sink[];
  log: Log;
  metrics: Metrics;
  clock: Clock;
  onChange(change: SpoolChange): void;
  random?: () => number;
}

/** Where one spooled capture stands with each of its sinks. */
export interface EntryView {
  deliveries: Delivery[];
  pending: PendingDelivery[];
  failures: DeliveryFailure[];
}

export interface SpoolChange extends EntryView {
  kind: 'delivered' | 'failed' | 'culled' | 'rearmed';
  record: SpoolRecord;
}

/** A sink's failure as handed to the spool by the first delivery try. */
export interface SinkFailure {
  sink: string;
  error: unknown;
}

/**
 * Requests from `pcapd spool` are noticed through an inotify watch on the
 * control folder at once; this slower poll only catches what a watch could
 * miss (a folder recreated under it), well inside the CLI's 30 s wait. An
 * idle daemon wakes for it once every few seconds, not every second.
 */
const CONTROL_POLL_MS = 5000;
/** On close, how long to wait for a try in progress before letting the process go. */
const CLOSE_WAIT_MS = 5000;
/** At start, how long to wait for a `pcapd spool` command holding the spool to finish. */
const LOCK_WAIT_MS = 10_000;
/** setTimeout's limit (~24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

export function viewOf(entry: ValidEntry): EntryView {
  const view: EntryView = { deliveries: [], pending: [], failures: [] };
  const { segment } = entry.record;
  for (const sink of entry.record.sinks) {
    const marker = entry.delivered.get(sink);
    if (marker !== undefined) {
      view.deliveries.push(marker.delivery);
      continue;
    }
    const state = entry.state.sinks[sink];
    const code = state?.code ?? 'PCAPD_ERR_SINK_FAILED';
    const message = state?.message ?? 'not delivered yet';
    if (state?.failed === true) view.failures.push({ sink, code, message, segment });
    else view.pending.push({ sink, segment, attempts: state?.failures ?? 0, nextAttemptAt: state?.nextAttemptAt ?? entry.record.spooledAt, code, message });
  }
  return view;
}

export class Spool {
  readonly store: SpoolStore;
  private readonly deps: SpoolDeps;
  private readonly log: Log;
  private readonly entries = new Map<string, SpoolEntry>();
  /** Tries in progress, as tryKey(entry, sink). */
  private readonly busy = new Set<string>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly loaded = new Map<string, { capture: Promise<FinishedCapture>; users: number }>();
  /**
   * When each sink's next try is due, in monotonic ms. The state's
   * nextAttemptAt (wall time) only says when, for people and `pcapd spool`:
   * waiting on it, a wall clock stepped back an hour held every retry for an
   * hour. A state with no due time here (read from disk) is due at once.
   */
  private readonly dueMonoMs = new WeakMap<SinkRetryState, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private cullTimer: NodeJS.Timeout | undefined;
  private controlTimer: NodeJS.Timeout | undefined;
  private controlWatch: FSWatcher | undefined;
  /** One pass over the control folder at a time (a watch event and the poll may meet); another follows if asked meanwhile. */
  private controlPass: Promise<void> | undefined;
  private controlAgain = false;
  private opened = false;
  private closed = false;

  constructor(deps: SpoolDeps, dir = deps.settings().dir) {
    this.deps = deps;
    this.store = new SpoolStore(dir);
    this.log = deps.log.child({ component: 'spool' });
  }

  /**
   * Takes the spool folder, scans it and resumes: every capture waiting for
   * a sink is tried at once (the restart may be the fix), delivered ones are
   * culled. Throws PCAPD_ERR_SPOOL_LOCKED when another pcapd holds it.
   */
  async open(lockWaitMs = LOCK_WAIT_MS): Promise<void> {
    const leftovers = await this.store.init();
    for (const path of leftovers) this.log.warn({ path }, 'removed an incomplete spool write or removal left by a crash');
    await this.store.lock.acquire('daemon', lockWaitMs);
    this.opened = true;
    const now = this.now();
    for (const entry of await this.store.list()) {
      this.entries.set(entry.key, entry);
      if (entry.kind === 'invalid') {
        this.log.error({ key: entry.key, problem: entry.problem }, 'damaged spool entry: kept for inspection until spool.maxage');
        continue;
      }
      this.rearm(entry, now);
    }
    const waiting = [...this.entries.values()].filter((entry) => entry.kind === 'valid' && undeliveredSinks(entry).length > 0);
    this.log.info({ dir: this.store.dir, captures: waiting.length }, waiting.length > 0 ? 'spool resumed: retrying captures left from before' : 'spool ready');
    await this.cull();
    this.startTimers();
    this.updateGauges();
    this.schedule();
  }

  /** Stops retrying (a try in progress may finish, bounded) and lets go of the spool folder. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.cullTimer);
    clearInterval(this.controlTimer);
    this.controlWatch?.close();
    if (this.workers.size > 0) {
      await raceTimeout(Promise.all(this.workers.values()), CLOSE_WAIT_MS);
    }
    if (this.opened) await this.store.lock.release();
  }

  /**
   * Spools a capture for the sinks that failed its first try. Returns where
   * it now stands per sink. Throws PCAPD_ERR_SPOOL_FULL (disk full, or larger
   * than spool.maxbytes) or PCAPD_ERR_SPOOL_WRITE; each is logged and counted
   * here, and nothing is left half-written.
   */
  async add(capture: FinishedCapture, failures: readonly SinkFailure[], outcome: FinalOutcome): Promise<{ key: string; view: EntryView }> {
    const now = this.now();
    const state: SpoolState = { sinks: {} };
    for (const failure of failures) state.sinks[failure.sink] = this.failedState(undefined, failure.error, now);
    const entry = await this.write(
      capture,
      failures.map((failure) => failure.sink),
      outcome,
      state,
    );
    const bytes = entry.bytes;
    this.entries.set(entry.key, entry);
    this.log.warn(
      {
        reqId: capture.job.id,
        key: entry.key,
        segment: capture.segment,
        bytes,
        sinks: entry.record.sinks,
        nextAttemptAt: viewOf(entry).pending.map((p) => p.nextAttemptAt),
      },
      'capture spooled: it is retried until every sink has it',
    );
    this.updateGauges();
    this.schedule();
    return { key: entry.key, view: viewOf(entry) };
  }

  /**
   * Write-ahead for a first try: the capture is written to the spool for
   * `sinks` while they try it, and held (never retried, never culled) until
   * `release` reports how the first try went. A pcapd killed in the middle of
   * a long upload finds the capture here at its next start and delivers it.
   * Undefined when the spool has no room for it without culling: a capture
   * that may well be delivered must not push out one that waits. Throws as
   * `add` does (counted there).
   */
  async hold(capture: FinishedCapture, sinks: readonly string[], outcome: FinalOutcome): Promise<string | undefined> {
    if (this.stats().bytes + totalBytes(capture.files) > this.deps.settings().maxbytes) return undefined;
    const entry = await this.write(capture, sinks, outcome, { sinks: {} });
    for (const sink of sinks) this.busy.add(tryKey(entry.key, sink));
    this.entries.set(entry.key, entry);
    this.updateGauges();
    return entry.key;
  }

  /**
   * The first try of a held capture is over: sinks that took it are marked
   * delivered, those that failed are retried from here on. A capture every
   * sink took leaves the spool at once (not a cull: it never waited).
   */
  async release(key: string, delivered: readonly Delivery[], failures: readonly SinkFailure[]): Promise<EntryView> {
    const entry = this.entries.get(key);
    if (entry?.kind !== 'valid') throw new PcapdError('PCAPD_ERR_SPOOL_READ', `spool entry ${key} is gone`);
    const now = this.now();
    for (const delivery of delivered) {
      if (!entry.delivered.has(delivery.sink)) await this.recordDelivered(entry, delivery, now, this.log.child({ key, sink: delivery.sink }));
    }
    for (const failure of failures) entry.state.sinks[failure.sink] = this.failedState(undefined, failure.error, now);
    for (const sink of entry.record.sinks) this.busy.delete(tryKey(key, sink));
    if (undeliveredSinks(entry).length === 0) {
      await this.store.remove(key).then(
        () => this.entries.delete(key),
        (err: unknown) => this.log.warn({ key, err: errorMessage(err) }, 'could not remove a delivered capture from the spool; the next cull does'),
      );
    } else {
      await this.persistStateNow(entry);
      this.log.warn(
        { reqId: entry.record.id, key, segment: entry.record.segment, sinks: failures.map((f) => f.sink) },
        'capture spooled: it is retried until every sink has it',
      );
    }
    this.updateGauges();
    this.schedule();
    return viewOf(entry);
  }

  /** A sink took an entry's capture outside the spool's own tries (a first try, while the entry is held or after shutdown spooled it). */
  async markDeliveredLate(key: string, delivery: Delivery): Promise<void> {
    const entry = this.entries.get(key);
    if (entry?.kind !== 'valid' || entry.delivered.has(delivery.sink)) return;
    const now = this.now();
    await this.store.markDelivered(key, delivery, new Date(now));
    entry.delivered.set(delivery.sink, { deliveredAt: new Date(now).toISOString(), delivery });
  }

  /** Writes a new entry, making room first; a failure is counted (and thrown) here. */
  private async write(capture: FinishedCapture, sinks: readonly string[], outcome: FinalOutcome, state: SpoolState): Promise<ValidEntry> {
    if (!this.opened || this.closed) throw new PcapdError('PCAPD_ERR_SPOOL_WRITE', 'the spool is not open');
    const bytes = totalBytes(capture.files);
    const { maxbytes } = this.deps.settings();
    if (bytes > maxbytes) {
      this.deps.metrics.spoolWriteFailures.inc({ reason: 'maxbytes' });
      throw new PcapdError('PCAPD_ERR_SPOOL_FULL', `the capture (${bytes} bytes) is larger than spool.maxbytes (${maxbytes})`);
    }
    await this.cull({ extraBytes: bytes });
    try {
      return await this.store.add(capture, sinks, outcome, state, new Date(this.now()));
    } catch (err: unknown) {
      this.deps.metrics.spoolWriteFailures.inc({ reason: errnoCode(err instanceof Error ? err.cause : undefined) ?? errorCodeOf(err) ?? 'error' });
      throw err;
    }
  }

  /**
   * Tries the matching captures (keys or capture ids; none: all) again now,
   * including sinks that failed for good. Returns the keys re-armed.
   */
  retryNow(targets: readonly string[] = []): string[] {
    const now = this.now();
    const rearmed: string[] = [];
    for (const entry of this.entries.values()) {
      if (entry.kind !== 'valid' || !matches(entry, targets)) continue;
      if (this.rearm(entry, now)) {
        rearmed.push(entry.key);
        this.persistState(entry);
        this.deps.onChange({ kind: 'rearmed', record: entry.record, ...viewOf(entry) });
      }
    }
    this.updateGauges();
    this.schedule();
    return rearmed;
  }

  /** Removes what the cull plan says (or only plans it). */
  async cull(options: { dryRun?: boolean; extraBytes?: number } = {}): Promise<CullItem[]> {
    const settings = this.deps.settings();
    const now = this.now();
    const plan = planCull(
      [...this.entries.values()],
      now,
      { maxAgeMs: settings.maxage * 1000, maxBytes: settings.maxbytes },
      {
        busy: new Set([...this.busy].map((busyKey) => busyKey.slice(0, busyKey.indexOf('\0')))),
        extraBytes: options.extraBytes ?? 0,
      },
    );
    if (options.dryRun) return plan;
    for (const item of plan) await this.removeEntry(item);
    if (plan.length > 0) this.updateGauges();
    return plan;
  }

  /** What the spool holds, for /stats and logs. */
  stats(): { captures: number; bytes: number; files: number } {
    let bytes = 0;
    let files = 0;
    for (const entry of this.entries.values()) {
      bytes += entry.bytes;
      files += entry.files;
    }
    return { captures: this.entries.size, bytes, files };
  }

  // ---- retrying ----

  private now(): number {
    return this.deps.clock.nowMs();
  }

  private monoNow(): number {
    return this.deps.clock.monotonicMs();
  }

  private dueMs(state: SinkRetryState): number {
    return this.dueMonoMs.get(state) ?? 0;
  }

  private policy(): RetryPolicy {
    const { retrybase, retrymax } = this.deps.settings();
    const policy: RetryPolicy = { baseMs: retrybase * 1000, maxMs: retrymax * 1000 };
    if (this.deps.random) policy.random = this.deps.random;
    return policy;
  }

  /** Undelivered sinks become due now, failed ones included. True when anything changed. */
  private rearm(entry: ValidEntry, nowMs: number): boolean {
    let changed = false;
    const at = new Date(nowMs).toISOString();
    for (const sink of undeliveredSinks(entry)) {
      let state = entry.state.sinks[sink];
      if (state === undefined) {
        state = { failures: 0, nextAttemptAt: at, failed: false, code: 'PCAPD_ERR_SINK_FAILED', message: 'not tried yet', lastAttemptAt: at };
        entry.state.sinks[sink] = state;
      } else {
        state.failed = false;
        state.nextAttemptAt = at;
      }
      this.dueMonoMs.set(state, this.monoNow());
      changed = true;
    }
    return changed;
  }

  private failedState(previous: SinkRetryState | undefined, err: unknown, nowMs: number): SinkRetryState {
    const failures = (previous?.failures ?? 0) + 1;
    const decision = retryDecision(err, failures, this.policy());
    const delayMs = decision.retry ? decision.delayMs : 0;
    const state: SinkRetryState = {
      failures,
      nextAttemptAt: new Date(nowMs + delayMs).toISOString(),
      failed: !decision.retry,
      code: errorCodeOf(err) ?? 'PCAPD_ERR_SINK_FAILED',
      message: errorMessage(err),
      lastAttemptAt: new Date(nowMs).toISOString(),
    };
    this.dueMonoMs.set(state, this.monoNow() + delayMs);
    return state;
  }

  /** Whether `sink`'s next try of the entry is due by `monoMs` (never for a sink that failed for good). */
  private isDue(entry: ValidEntry, sink: string, monoMs: number): boolean {
    if (entry.delivered.has(sink) || this.busy.has(tryKey(entry.key, sink))) return false;
    const state = entry.state.sinks[sink];
    return state === undefined || (!state.failed && this.dueMs(state) <= monoMs);
  }

  /** Sinks with captures waiting (not failed for good) and the earliest due time (monotonic) of each. */
  private nextDueBySink(): Map<string, number> {
    const next = new Map<string, number>();
    for (const entry of this.entries.values()) {
      if (entry.kind !== 'valid') continue;
      for (const sink of undeliveredSinks(entry)) {
        const state = entry.state.sinks[sink];
        if (state?.failed === true || this.busy.has(tryKey(entry.key, sink))) continue;
        const at = state === undefined ? 0 : this.dueMs(state);
        next.set(sink, Math.min(at, next.get(sink) ?? Number.POSITIVE_INFINITY));
      }
    }
    return next;
  }

  /**
   * Starts the worker of every sink with a due try, and sets the timer for
   * the next one. Each sink has its own worker, so a sink that hangs (an
   * upload with no answer) holds up only its own retries.
   */
  private schedule(): void {
    clearTimeout(this.retryTimer);
    if (this.closed) return;
    const now = this.monoNow();
    let nextMs: number | undefined;
    for (const [sink, at] of this.nextDueBySink()) {
      if (this.workers.has(sink)) continue;
      if (at <= now) this.startWorker(sink);
      else nextMs = Math.min(at, nextMs ?? Number.POSITIVE_INFINITY);
    }
    if (nextMs === undefined) return;
    this.retryTimer = setTimeout(() => this.schedule(), Math.min(nextMs - now, MAX_TIMER_MS));
    this.retryTimer.unref();
  }

  private startWorker(sink: string): void {
    const worker = this.runDue(sink)
      .catch((err: unknown) => this.log.error({ sink, err: errorMessage(err) }, 'spool worker failed; it restarts at the next due retry'))
      .finally(() => {
        this.workers.delete(sink);
        this.schedule();
      });
    this.workers.set(sink, worker);
  }

  /** Tries the entries due for `sink`, oldest first, one at a time, until none is due. */
  private async runDue(sink: string): Promise<void> {
    while (!this.closed) {
      const now = this.monoNow();
      const due = [...this.entries.values()].find((entry): entry is ValidEntry => entry.kind === 'valid' && this.isDue(entry, sink, now));
      if (due === undefined) return;
      await this.tryEntry(due, sink);
    }
  }

  private async tryEntry(entry: ValidEntry, sink: string): Promise<void> {
    const busyKey = tryKey(entry.key, sink);
    this.busy.add(busyKey);
    try {
      const attempt = (entry.state.sinks[sink]?.failures ?? 0) + 1;
      let capture: FinishedCapture;
      try {
        capture = await this.loadShared(entry, attempt);
      } catch (err: unknown) {
        this.recordFailure(entry, sink, err);
        return;
      }
      await this.trySink(entry, capture, sink);
      await this.persistStateNow(entry);
      if (undeliveredSinks(entry).length === 0) {
        await this.removeEntry({ key: entry.key, reason: 'delivered', bytes: entry.bytes, undelivered: [], ageMs: 0 });
      }
    } finally {
      this.busy.delete(busyKey);
      this.releaseShared(entry.key);
      this.updateGauges();
    }
  }

  /** Sinks retrying the same capture at once (the usual case once a network is back) share one copy in memory. */
  private loadShared(entry: ValidEntry, attempt: number): Promise<FinishedCapture> {
    let shared = this.loaded.get(entry.key);
    if (shared === undefined) {
      shared = { capture: this.store.loadCapture(entry, attempt), users: 0 };
      this.loaded.set(entry.key, shared);
    }
    shared.users += 1;
    return shared.capture.then((capture) => ({ ...capture, attempt }));
  }

  private releaseShared(key: string): void {
    const shared = this.loaded.get(key);
    if (shared === undefined) return;
    shared.users -= 1;
    if (shared.users <= 0) this.loaded.delete(key);
  }

  private async trySink(entry: ValidEntry, capture: FinishedCapture, name: string): Promise<void> {
    const log = this.log.child({ reqId: entry.record.id, key: entry.key, sink: name });
    const sink = this.deps.sinks().find((candidate) => candidate.name === name);
    if (sink === undefined) {
      const message = `sink ${name} is not enabled in the configuration; the capture waits for it until spool.maxage`;
      this.recordFailure(entry, name, new SinkError('PCAPD_ERR_SINK_NOT_CONFIGURED', name, message, { retriable: true }));
      return;
    }
    const attempt = (entry.state.sinks[name]?.failures ?? 0) + 1;
    const stopTimer = this.deps.metrics.deliveryDuration.startTimer({ sink: name });
    let delivery: Delivery;
    try {
      delivery = await sink.deliver({ ...capture, attempt });
    } catch (err: unknown) {
      stopTimer();
      this.recordFailure(entry, name, err);
      return;
    }
    stopTimer();
    const now = this.now();
    await this.recordDelivered(entry, delivery, now, log);
    this.deps.metrics.deliveryRetries.inc({ sink: name, outcome: 'ok' });
    this.deps.metrics.deliveries.inc({ sink: name, outcome: 'ok' }, capture.files.length);
    log.info({ attempt, segment: entry.record.segment, locations: delivery.locations }, 'spooled capture delivered');
    this.deps.onChange({ kind: 'delivered', record: entry.record, ...viewOf(entry) });
    this.sinkIsBack(name, entry.key, now);
  }

  /** The sink has the capture: its marker on disk, and the entry knows. */
  private async recordDelivered(entry: ValidEntry, delivery: Delivery, nowMs: number, log: Log): Promise<void> {
    try {
      await this.store.markDelivered(entry.key, delivery, new Date(nowMs));
    } catch (err: unknown) {
      // The sink has it; only the record of that is missing. A restart before the next
      // successful marker would send it once more, which is the lesser harm than losing track.
      log.error({ err, code: errnoCode(err) }, 'capture delivered but its delivered marker could not be written');
    }
    entry.delivered.set(delivery.sink, { deliveredAt: new Date(nowMs).toISOString(), delivery });
  }

  private recordFailure(entry: ValidEntry, sink: string, err: unknown): void {
    const state = this.failedState(entry.state.sinks[sink], err, this.now());
    entry.state.sinks[sink] = state;
    const log = this.log.child({ reqId: entry.record.id, key: entry.key, sink });
    if (state.failed) {
      this.deps.metrics.deliveryRetries.inc({ sink, outcome: 'failed' });
      log.error(
        { code: state.code, err: errorMessage(err), attempts: state.failures },
        'spooled capture failed for good: kept until a reload, pcapd spool retry, or spool.maxage',
      );
      this.deps.onChange({ kind: 'failed', record: entry.record, ...viewOf(entry) });
    } else {
      this.deps.metrics.deliveryRetries.inc({ sink, outcome: 'error' });
      log.warn(
        { code: state.code, err: errorMessage(err), attempts: state.failures, nextAttemptAt: state.nextAttemptAt, retriable: isRetriable(err) },
        'spooled capture not delivered; retrying later',
      );
    }
  }

  /** A sink took a capture: others waiting for it need not sit out their backoff. */
  private sinkIsBack(sink: string, exceptKey: string, nowMs: number): void {
    const at = new Date(nowMs).toISOString();
    const monoMs = this.monoNow();
    for (const entry of this.entries.values()) {
      if (entry.kind !== 'valid' || entry.key === exceptKey || entry.delivered.has(sink)) continue;
      const state = entry.state.sinks[sink];
      if (state === undefined || state.failed || this.dueMs(state) <= monoMs) continue;
      state.nextAttemptAt = at;
      this.dueMonoMs.set(state, monoMs);
    }
  }

  private persistState(entry: ValidEntry): void {
    void this.persistStateNow(entry);
  }

  private async persistStateNow(entry: ValidEntry): Promise<void> {
    try {
      await this.store.writeState(entry.key, entry.state);
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return; // removed meanwhile
      // Only retry counters are lost: a restart tries the capture at once anyway.
      this.log.warn({ key: entry.key, err: errorMessage(err) }, 'could not save the spool retry state');
    }
  }

  // ---- culling ----

  private async removeEntry(item: CullItem): Promise<void> {
    const entry = this.entries.get(item.key);
    try {
      await this.store.remove(item.key);
    } catch (err: unknown) {
      this.log.error({ key: item.key, err: errorMessage(err) }, 'could not remove a spool entry; the next cull tries again');
      return;
    }
    this.entries.delete(item.key);
    this.deps.metrics.spoolCulled.inc({ reason: item.reason });
    const reqId = entry?.kind === 'valid' ? entry.record.id : undefined;
    if (item.reason === 'delivered') {
      this.log.info({ reqId, key: item.key }, 'spool entry removed: every sink has the capture');
      return;
    }
    this.log.error(
      { reqId, key: item.key, reason: item.reason, undelivered: item.undelivered, bytes: item.bytes, ageSeconds: Math.round(item.ageMs / 1000) },
      item.reason === 'age'
        ? 'spooled capture culled: older than spool.maxage, never delivered to every sink'
        : 'spooled capture culled to stay within spool.maxbytes, never delivered to every sink',
    );
    if (entry?.kind !== 'valid') return;
    const view = viewOf(entry);
    const message = item.reason === 'age' ? 'removed from the spool: older than spool.maxage' : 'removed from the spool to stay within spool.maxbytes';
    const culled: DeliveryFailure[] = [...view.pending, ...view.failures].map((p) => ({
      sink: p.sink,
      code: 'PCAPD_ERR_SPOOL_CULLED',
      message,
      segment: entry.record.segment,
    }));
    this.deps.onChange({ kind: 'culled', record: entry.record, deliveries: view.deliveries, pending: [], failures: culled });
  }

  // ---- timers: cull passes and requests from `pcapd spool` ----

  private startTimers(): void {
    const cullMs = this.deps.settings().cullinterval * 1000;
    this.cullTimer = setInterval(() => {
      void this.cull().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'spool cull failed'));
      this.updateGauges();
    }, cullMs);
    this.cullTimer.unref();
    this.controlTimer = setInterval(() => this.serveControlSoon(), CONTROL_POLL_MS);
    this.controlTimer.unref();
    try {
      this.controlWatch = watch(this.store.control.dir, { persistent: false }, (_event, name) => {
        if (typeof name === 'string' && name.endsWith('.request.json')) this.serveControlSoon();
      });
      this.controlWatch.on('error', () => this.controlWatch?.close());
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, 'cannot watch the spool control folder; `pcapd spool` requests are read every few seconds');
    }
  }

  private serveControlSoon(): void {
    if (this.controlPass !== undefined) {
      this.controlAgain = true;
      return;
    }
    this.controlPass = this.serveControlRequests().finally(() => {
      this.controlPass = undefined;
      if (!this.controlAgain) return;
      this.controlAgain = false;
      this.serveControlSoon();
    });
  }

  private async serveControlRequests(): Promise<void> {
    let requests: Array<{ id: string; request: ControlRequest }>;
    try {
      requests = await this.store.control.takeRequests();
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, 'could not read spool control requests');
      return;
    }
    for (const { id, request } of requests) {
      const result = await this.serve(request);
      this.log.info({ action: request.action, targets: request.targets, result: result.message }, 'pcapd spool request served');
      await this.store.control
        .writeResult(id, result)
        .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not answer a spool control request'));
    }
  }

  private async serve(request: ControlRequest): Promise<ControlResult> {
    switch (request.action) {
      case 'retry': {
        const rearmed = this.retryNow(request.targets);
        return { ok: true, message: `the running pcapd retries ${rearmed.length} capture(s) now`, rearmed };
      }
      case 'cull': {
        const removed = await this.cull();
        return {
          ok: true,
          message: `the running pcapd removed ${removed.length} capture(s)`,
          removed: removed.map((item) => ({ key: item.key, reason: item.reason })),
        };
      }
      default: {
        const unreachable: never = request.action;
        return { ok: false, message: `unknown action ${String(unreachable)}` };
      }
    }
  }

  private updateGauges(): void {
    const { metrics } = this.deps;
    const { bytes, files } = this.stats();
    metrics.spoolBytes.set(bytes);
    metrics.spoolFiles.set(files);
    metrics.spoolPending.reset();
    let oldestMs: number | undefined;
    for (const entry of this.entries.values()) {
      const at = entry.kind === 'valid' ? Date.parse(entry.record.spooledAt) : entry.mtimeMs;
      if (oldestMs === undefined || at < oldestMs) oldestMs = at;
      if (entry.kind !== 'valid') continue;
      for (const sink of undeliveredSinks(entry)) {
        metrics.spoolPending.inc({ sink, state: entry.state.sinks[sink]?.failed === true ? 'failed' : 'retrying' });
      }
    }
    metrics.spoolOldestAge.set(oldestMs === undefined ? 0 : Math.max(0, (this.now() - oldestMs) / 1000));
  }
}

function tryKey(key: string, sink: string): string {
  return `${key}\0${sink}`;
}

function matches(entry: ValidEntry, targets: readonly string[]): boolean {
  return targets.length === 0 || targets.includes(entry.key) || targets.includes(entry.record.id);
}
