/**
 * Admission, execution and delivery of capture jobs.
 *
 * Admission is bounded three ways, all read from [scheduler] at decision time
 * (so SIGHUP applies): concurrent captures, captures per interface, and a
 * memory budget where each capture reserves what it may hold (its byte limit,
 * see memoryReservationBytes). A job that does not fit waits in a bounded
 * queue or is refused; nothing grows without bound whatever the request rate.
 * A capture's slot is freed when capturing ends, its memory when delivery ends.
 */
import { startCapture as nativeStartCapture, type CaptureFile, type CaptureHandle, type CaptureResult, type CaptureSpec } from '../capture/capture.js';
import { captureMemoryReleased } from '../capture/memory.js';
import { appendSectionComment } from '../capture/pcapng-section.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { lookbackRingBytes } from '../config/warm.js';
import { errorCodeOf, errorMessage, PcapdError } from '../errors.js';
import { raceTimeout } from '../timers.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CaptureJob } from '../model/job.js';
import { captureFileName, renderFolder, type FileNameFields } from '../sinks/naming.js';
import { LOCAL_SINK_NAME } from '../sinks/local.js';
import { totalBytes, type DeliverableFile, type FinishedCapture } from '../model/finished-capture.js';
import { downloadOf, hasLocalCopy, RetainedFiles, type CaptureDownload } from './downloads.js';
import { FinishedCaptures } from './finished-captures.js';
import { captureSpec, memoryReservationBytes, withWarmReader, type WarmReaders } from './capture-spec.js';
import type { DeliveryReport } from '../delivery/delivery.js';
import { FlowCaptures, flowOutcomeOf, mergeAlert, mergedAlertLines } from './flow-captures.js';
import type { CaptureOutcome, CapturingOutcome, FinalOutcome, InterfaceCounters, LiveView, LookbackServed, QueuedOutcome } from '../model/outcome.js';
import { afterDelivery, cancelInQueue, toArming, toCapturing, toDelivering, toFailed, type CaptureEnd } from '../model/outcome-transitions.js';
import { FileRings, type RingFile } from './file-ring.js';
import { RateMeter } from './rate-meter.js';

export interface SchedulerDeps {
  config(): Config;
  log: Log;
  metrics: Metrics;
  clock: Clock;
  startCapture?: (spec: CaptureSpec) => CaptureHandle;
  /** The warm interfaces: a single-interface capture on one that is up attaches to its reader. */
  warm?: WarmReaders;
  /** Delivers one finished capture or segment (src/delivery/delivery.ts: sinks in parallel, the spool for those that fail). */
  deliver(capture: FinishedCapture, outcome: CaptureOutcome, log: Log): Promise<DeliveryReport>;
}

export type SubmitResult =
  | {
      kind: 'accepted';
      id: string;
      queued: boolean;
      /** The final outcome, once delivered (or failed). */
      outcome: Promise<FinalOutcome>;
      /** The state once the capture is armed and recording, or its outcome if it ended before that. */
      armed: Promise<CapturingOutcome | FinalOutcome>;
    }
  | { kind: 'duplicate'; id: string }
  /** An alert for a flow whose capture runs (or just ended): added to that capture (`id`), no second capture. */
  | { kind: 'merged'; id: string };

interface Entry {
  job: CaptureJob;
  log: Log;
  /** Replaced by a transition (src/model/outcome-transitions.ts) at each change of state. */
  outcome: CaptureOutcome;
  settled: Promise<FinalOutcome>;
  settle(outcome: FinalOutcome): void;
  armed: Promise<CapturingOutcome | FinalOutcome>;
  /** Resolves `armed`; later calls do nothing (a promise settles once). */
  markArmed(state: CapturingOutcome | FinalOutcome): void;
  reservationBytes: number;
  /** Monotonic (Clock.monotonicMs): scheduler.queuetimeout must not fire on a wall-clock step. */
  queuedAtMs: number;
  handle?: CaptureHandle;
  /** Segment deliveries still running when the capture ends. */
  deliveries: Array<Promise<void>>;
  /** Its admission slot was given back (at a cancel, before the capture has closed). */
  slotReleased?: boolean;
  /** Rates for GET /captures/:id, from arming on. */
  rates?: RateMeter;
}

/**
 * Where a finished capture's files are downloaded from: the files the local
 * sink wrote, read from disk, or the copy held in memory for a capture that
 * has no local file (http.retainseconds, http.retainbytes).
 */
/** Remembered ids beyond this are forgotten oldest-first, so a flood of ids cannot grow memory. */
const MAX_REMEMBERED_IDS = 100_000;

/** Milliseconds from a realtime ns timestamp to now, to the microsecond. */
function msSinceNs(ns: bigint): number {
  const nowMs = performance.timeOrigin + performance.now();
  return Math.round((nowMs - Number(ns) / 1e6) * 1000) / 1000;
}

export function isoFromNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  // toISOString() ends in ".sssZ": keep the dot, put the nanoseconds after it.
  return `${new Date(ms).toISOString().slice(0, -4)}${fraction}Z`;
}

export class Scheduler {
  private readonly deps: SchedulerDeps;
  private readonly start: (spec: CaptureSpec) => CaptureHandle;
  private readonly active = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private readonly finished: FinishedCaptures;
  private readonly retained: RetainedFiles;
  /** Request id → end of its dedup window, monotonic ms. */
  private readonly seenIds = new Map<string, number>();
  private readonly perInterface = new Map<string, number>();
  private readonly flows = new FlowCaptures();
  private readonly rings = new FileRings();
  private running = 0;
  private reservedBytes = 0;
  private shuttingDown = false;
  private queueExpiryTimer: NodeJS.Timeout | undefined;

  constructor(deps: SchedulerDeps) {
    this.deps = deps;
    this.start = deps.startCapture ?? nativeStartCapture;
    this.finished = new FinishedCaptures(() => deps.config().http.history);
    this.retained = new RetainedFiles(() => deps.config().http, deps.clock);
  }

  submit(job: CaptureJob): SubmitResult {
    if (this.shuttingDown) throw new PcapdError('PCAPD_ERR_SHUTTING_DOWN', 'pcapd is shutting down');
    if (job.request.id !== undefined && this.isDuplicate(job.request.id)) {
      return { kind: 'duplicate', id: job.id };
    }
    const merged = this.mergeIntoFlowCapture(job);
    if (merged !== undefined) return merged;
    if (job.name !== undefined) this.checkNameFree(job.name);
    const settings = this.deps.config().scheduler;
    const budgetBytes = this.captureBudgetBytes();
    const reservationBytes = memoryReservationBytes(job);
    if (reservationBytes > budgetBytes) {
      throw new PcapdError(
        'PCAPD_ERR_ADMISSION_FULL',
        `capture needs ${reservationBytes} bytes of memory, more than the ${budgetBytes} that scheduler.memorybudget ` +
          `(${settings.memorybudget}) leaves beside the lookback rings; lower bytes or use segments`,
      );
    }
    const entry = this.newEntry(job, reservationBytes);
    if (this.canStart(entry) || this.queue.length < settings.queue) {
      this.remember(job);
      this.flows.started(job, this.deps.clock.monotonicMs(), this.deps.config().flows.mergewindow * 1000);
    }
    if (this.canStart(entry)) {
      this.launch(entry);
      return { kind: 'accepted', id: job.id, queued: false, outcome: entry.settled, armed: entry.armed };
    }
    if (this.queue.length < settings.queue) {
      this.queue.push(entry);
      this.active.set(job.id, entry);
      this.deps.metrics.capturesQueued.set(this.queue.length);
      entry.log.info({ position: this.queue.length }, 'capture queued: no free slot');
      if (this.queue.length === 1) this.scheduleQueueExpiry();
      return { kind: 'accepted', id: job.id, queued: true, outcome: entry.settled, armed: entry.armed };
    }
    throw new PcapdError(
      'PCAPD_ERR_ADMISSION_FULL',
      `no capture slot free (${this.running}/${settings.maxconcurrent} running, ` +
        `${this.reservedBytes}/${budgetBytes} bytes reserved) and the queue is full (${settings.queue})`,
    );
  }

  /** Cancels a queued or running capture by id or name; false when none is active. */
  cancel(idOrName: string): boolean {
    const entry = this.activeEntry(idOrName);
    if (!entry) return false;
    const queuedAt = this.queue.indexOf(entry);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      this.deps.metrics.capturesQueued.set(this.queue.length);
      this.finish(entry, cancelInQueue(queuedOutcomeOf(entry)));
      return true;
    }
    entry.handle?.cancel('cancelled');
    // The slot is free at once: the native side closes in the background (a
    // ring's teardown takes tens of ms) and its memory stays counted until
    // the capture is delivered. A POST right after a DELETE is admitted.
    if (entry.handle !== undefined) this.releaseSlot(entry);
    return true;
  }

  /** The current view of a capture by id or name (live counters while it runs; by name, the running one or the newest finished). */
  get(idOrName: string): CaptureOutcome | undefined {
    const entry = this.activeEntry(idOrName);
    if (entry) return this.snapshot(entry);
    return this.finished.get(idOrName) ?? this.finished.newestFirst().find((outcome) => outcome.name === idOrName);
  }

  /** The id of the capture `idOrName` addresses, running or finished. */
  idOf(idOrName: string): string | undefined {
    return this.get(idOrName)?.id;
  }

  /**
   * Closes a running capture's current segment and delivers it now;
   * capturing goes on in the next. Returns the number of the segment closed,
   * or undefined when no capture by that id or name is capturing.
   */
  rotate(idOrName: string): { id: string; segment: number } | undefined {
    const entry = this.activeEntry(idOrName);
    if (entry?.handle === undefined || entry.outcome.state !== 'capturing') return undefined;
    const { segment } = entry.handle.progress();
    entry.handle.rotate();
    entry.log.info({ segment }, 'rotate requested');
    return { id: entry.job.id, segment };
  }

  /**
   * A change to a capture's outcome after its first delivery try (a spooled
   * delivery arrived, failed for good or was culled): applied to the running
   * or finished capture, or, when this process never knew it (spooled before
   * a restart) or forgot it (http.history), to `fallback`, which is then
   * listed. Returns a copy of the new outcome.
   */
  amendOutcome(id: string, change: (outcome: CaptureOutcome) => void, fallback: CaptureOutcome): CaptureOutcome {
    const entry = this.active.get(id);
    if (entry) {
      change(entry.outcome);
      return this.snapshot(entry);
    }
    const finished = this.finished.get(id) ?? fallback;
    change(finished);
    if (!this.finished.has(id)) this.finished.keep(id, finished);
    return structuredClone(finished);
  }

  list(): CaptureOutcome[] {
    return [...[...this.active.values()].map((entry) => this.snapshot(entry)), ...this.finished.newestFirst()];
  }

  /** Files of a finished capture still held in memory for download. */
  retainedFiles(id: string): readonly DeliverableFile[] | undefined {
    return this.retained.files(id);
  }

  /** A finished capture's files for GET /captures/:id/pcap: the local sink's files when it wrote them, else the copy in memory. */
  download(id: string): CaptureDownload | undefined {
    return downloadOf(this.finished.get(id), this.retained.files(id));
  }

  stats(): {
    running: number;
    queued: number;
    reservedBytes: number;
    budgetBytes: number;
    lookbackRingBytes: number;
    retainedBytes: number;
    shuttingDown: boolean;
  } {
    return {
      running: this.running,
      queued: this.queue.length,
      reservedBytes: this.reservedBytes,
      budgetBytes: this.captureBudgetBytes(),
      lookbackRingBytes: lookbackRingBytes(this.deps.config()),
      retainedBytes: this.retained.bytes,
      shuttingDown: this.shuttingDown,
    };
  }

  /**
   * SIGTERM: refuse new work, end running captures early (reason shutdown)
   * and wait, bounded, for them to be delivered.
   */
  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    this.shuttingDown = true;
    for (const entry of this.queue.splice(0)) {
      this.finish(entry, toFailed(queuedOutcomeOf(entry), { code: 'PCAPD_ERR_SHUTTING_DOWN', message: 'pcapd shut down before the capture started' }));
    }
    this.deps.metrics.capturesQueued.set(0);
    const pending = [...this.active.values()];
    for (const entry of pending) entry.handle?.cancel('shutdown');
    await raceTimeout(Promise.all(pending.map((entry) => entry.settled)), timeoutMs);
    return { unfinished: this.active.size };
  }

  // ---- admission ----

  private activeEntry(idOrName: string): Entry | undefined {
    const byId = this.active.get(idOrName);
    if (byId !== undefined) return byId;
    for (const entry of this.active.values()) if (entry.job.name === idOrName) return entry;
    return undefined;
  }

  private checkNameFree(name: string): void {
    const holder = this.activeEntry(name);
    if (holder === undefined || holder.job.name !== name) return;
    throw new PcapdError(
      'PCAPD_ERR_NAME_TAKEN',
      `a capture named ${name} is ${holder.outcome.state} (id ${holder.job.id}); stop it first (DELETE /captures/${name})`,
    );
  }

  private mergeIntoFlowCapture(job: CaptureJob): SubmitResult | undefined {
    if (job.flow === undefined) return undefined;
    const flows = this.deps.config().flows;
    const captureId = this.flows.captureOf(job.flow, this.deps.clock.monotonicMs(), flows.mergewindow * 1000);
    if (captureId === undefined) return undefined;
    const outcome = this.active.get(captureId)?.outcome ?? this.finished.get(captureId);
    if (outcome?.flow === undefined) return undefined;
    mergeAlert(outcome.flow, job, flows.mergemax);
    return { kind: 'merged', id: captureId };
  }

  private isDuplicate(id: string): boolean {
    const until = this.seenIds.get(id);
    return until !== undefined && until > this.deps.clock.monotonicMs();
  }

  private remember(job: CaptureJob): void {
    if (job.request.id === undefined) return;
    const windowMs = this.deps.config().scheduler.dedupwindow * 1000;
    this.seenIds.delete(job.request.id);
    this.seenIds.set(job.request.id, this.deps.clock.monotonicMs() + windowMs);
    const now = this.deps.clock.monotonicMs();
    for (const [id, until] of this.seenIds) {
      if (this.seenIds.size <= MAX_REMEMBERED_IDS && until > now) break;
      this.seenIds.delete(id);
    }
  }

  /** scheduler.memorybudget less the warm interfaces' lookback rings, which it counts. */
  private captureBudgetBytes(): number {
    const config = this.deps.config();
    return config.scheduler.memorybudget - lookbackRingBytes(config);
  }

  private canStart(entry: Entry): boolean {
    const settings = this.deps.config().scheduler;
    if (this.running >= settings.maxconcurrent) return false;
    if (this.reservedBytes + entry.reservationBytes > this.captureBudgetBytes()) return false;
    return entry.job.interfaces.every((iface) => (this.perInterface.get(iface.name) ?? 0) < settings.perinterface);
  }

  private pump(): void {
    const now = this.deps.clock.monotonicMs();
    const timeoutMs = this.deps.config().scheduler.queuetimeout * 1000;
    for (const entry of [...this.queue]) {
      if (timeoutMs > 0 && now - entry.queuedAtMs >= timeoutMs) {
        this.queue.splice(this.queue.indexOf(entry), 1);
        const waitedSeconds = Math.round((now - entry.queuedAtMs) / 1000);
        this.fail(entry, new PcapdError('PCAPD_ERR_ADMISSION_FULL', `waited ${waitedSeconds} s for a capture slot (scheduler.queuetimeout)`));
      } else if (!this.shuttingDown && this.canStart(entry)) {
        this.queue.splice(this.queue.indexOf(entry), 1);
        this.launch(entry);
      }
    }
    this.deps.metrics.capturesQueued.set(this.queue.length);
    this.scheduleQueueExpiry();
  }

  /**
   * pump() runs when a slot frees; while every slot is held by long captures
   * nothing would, so a timer wakes it when the oldest queued request reaches
   * scheduler.queuetimeout and it is refused on time.
   */
  private scheduleQueueExpiry(): void {
    clearTimeout(this.queueExpiryTimer);
    this.queueExpiryTimer = undefined;
    const [oldest] = this.queue;
    const timeoutMs = this.deps.config().scheduler.queuetimeout * 1000;
    if (oldest === undefined || timeoutMs <= 0) return;
    const dueInMs = Math.max(0, oldest.queuedAtMs + timeoutMs - this.deps.clock.nowMs());
    this.queueExpiryTimer = setTimeout(() => this.pump(), dueInMs);
    this.queueExpiryTimer.unref();
  }

  // ---- running ----

  private newEntry(job: CaptureJob, reservationBytes: number): Entry {
    let settle!: (outcome: FinalOutcome) => void;
    const settled = new Promise<FinalOutcome>((resolve) => {
      settle = resolve;
    });
    let markArmed!: (state: CapturingOutcome | FinalOutcome) => void;
    const armed = new Promise<CapturingOutcome | FinalOutcome>((resolve) => {
      markArmed = resolve;
    });
    return {
      job,
      log: this.deps.log.child({ reqId: job.id }),
      outcome: initialOutcome(job),
      settled,
      settle,
      armed,
      markArmed,
      reservationBytes,
      queuedAtMs: this.deps.clock.monotonicMs(),
      deliveries: [],
    };
  }

  private launch(entry: Entry): void {
    const { job } = entry;
    this.active.set(job.id, entry);
    this.running++;
    this.reservedBytes += entry.reservationBytes;
    for (const iface of job.interfaces) this.perInterface.set(iface.name, (this.perInterface.get(iface.name) ?? 0) + 1);
    this.updateGauges();
    entry.outcome = toArming(queuedOutcomeOf(entry));

    const config = this.deps.config();
    let handle: CaptureHandle;
    try {
      handle = this.start({
        ...withWarmReader(captureSpec(job, config), job, this.deps.warm),
        onSegment: (files) => this.deliverSegment(entry, files),
      });
    } catch (err: unknown) {
      this.releaseSlot(entry);
      this.releaseMemory(entry);
      this.fail(entry, err);
      return;
    }
    entry.handle = handle;
    // What the capture was asked is logged once, when it is armed (or failed):
    // one line fewer per capture, and pino lines are most of pcapd's own
    // per-request CPU after parsing.
    const asked = { interfaces: job.interfaces, filter: job.filter, limits: job.limits, clamps: job.clamps };
    entry.log.debug(asked, 'capture starting');
    handle.armed.then(
      (armed) => {
        // The capture may have ended or failed before this report was handled.
        if (entry.outcome.state !== 'arming') return;
        const rates = new RateMeter(this.deps.clock.nowMs());
        entry.rates = rates;
        const startedAt = isoFromNs(armed.startedNs);
        let lookback: { lookback?: LookbackServed } = {};
        if (job.limits.lookbackSeconds > 0) {
          const servedSeconds = Number(armed.lookbackNs) / 1e9;
          lookback = { lookback: { askedSeconds: job.limits.lookbackSeconds, servedSeconds, packets: armed.lookbackPackets } };
          this.deps.metrics.lookbackServed.observe(servedSeconds);
        }
        const progress = handle.progress();
        const capturing = toCapturing(entry.outcome, { startedAt, ...lookback, live: this.liveView(entry, rates, progress) });
        entry.outcome = capturing;
        this.deps.metrics.armLatency.observe((this.deps.clock.nowMs() - job.receivedAt.getTime()) / 1000);
        entry.log.info({ ...asked, startedAt }, 'capture armed');
        // A view, not a deep copy: whoever awaits `armed` (?wait=armed, a
        // result event) serializes it when it resolves, before anything can
        // change the capture again, and most captures have no one awaiting.
        entry.markArmed({ ...capturing, packets: progress.packets, bytes: progress.bytes });
      },
      () => undefined, // reported through `done`
    );
    handle.done.then(
      (result) => this.onCaptureDone(entry, result),
      (err: unknown) => {
        this.releaseSlot(entry);
        this.releaseMemory(entry);
        this.fail(entry, err);
      },
    );
  }

  private onCaptureDone(entry: Entry, result: CaptureResult): void {
    this.releaseSlot(entry);
    const { outcome } = entry;
    if (outcome.state !== 'arming' && outcome.state !== 'capturing') {
      // Nothing else ends a capture that has a handle: a second end is a bug, and the first one stands.
      entry.log.error({ code: 'PCAPD_ERR_INTERNAL', state: outcome.state, reason: result.reason }, 'capture ended twice; the second end is ignored');
      return;
    }
    const delivering = toDelivering(outcome, this.record(entry, result));
    entry.outcome = delivering;
    this.logPacketSummaries(entry, result);
    const config = this.deps.config();
    const empty = result.packets === 0 && !config.general.deliverempty;
    if (empty) entry.log.info({ reason: result.reason }, 'capture caught no packet; not delivered (general.deliverempty)');
    const finalFiles = empty ? [] : this.deliverables(entry, this.withMergedAlerts(entry, result.files));
    const segment = result.files[0]?.segment ?? 0;
    if (finalFiles.length > 0) entry.deliveries.push(this.deliver(entry, finalFiles, segment, true, result.reason, result.files[0]));
    void Promise.all(entry.deliveries).then(() => {
      this.releaseMemory(entry);
      // Earlier segments were counted as each was delivered: only the last one's files remain.
      if (hasLocalCopy(delivering) || !this.retained.retain(entry.job.id, finalFiles)) captureMemoryReleased(totalBytes(finalFiles));
      this.finish(entry, afterDelivery(delivering));
    });
  }

  /**
   * Alerts merged into a flow capture while it ran go into its section
   * comment too, as far as the byte limit leaves room (the outcome lists
   * them all).
   */
  private withMergedAlerts(entry: Entry, files: CaptureFile[]): CaptureFile[] {
    const { flow } = entry.outcome;
    if (flow === undefined || flow.merged === 0) return files;
    const lines = mergedAlertLines(flow);
    return files.map((file) => {
      if (file.format !== 'pcapng') return file;
      const room = entry.job.limits.bytes - entry.outcome.bytes;
      const updated = appendSectionComment(file.chunks, lines, room);
      if (updated === undefined) return file;
      entry.outcome.bytes += updated.addedBytes;
      return { ...file, chunks: updated.chunks, bytes: file.bytes + updated.addedBytes };
    });
  }

  private deliverSegment(entry: Entry, files: CaptureFile[]): void {
    const segment = files[0]?.segment ?? 0;
    const deliverables = this.deliverables(entry, files);
    // A long segmented capture gives each segment's memory back as it is delivered, not at its end.
    const delivered = this.deliver(entry, deliverables, segment, false, 'segment', files[0]).then(() => captureMemoryReleased(totalBytes(deliverables)));
    entry.deliveries.push(delivered);
  }

  private deliverables(entry: Entry, files: readonly CaptureFile[]): DeliverableFile[] {
    const { job } = entry;
    const config = this.deps.config();
    // Every file of a segmented capture carries its segment number, so the
    // names sort and never collide, however many segments there turn out to be.
    return files.map((file) => {
      const fields = nameFieldsOf(job, file);
      return {
        name: captureFileName(config.general.filename, fields, file.format),
        format: file.format,
        chunks: file.chunks,
        bytes: file.bytes,
        packets: file.packets,
        interfaces: file.interfaces,
      };
    });
  }

  private async deliver(
    entry: Entry,
    files: DeliverableFile[],
    segment: number,
    final: boolean,
    reason: FinishedCapture['reason'],
    first: CaptureFile | undefined,
  ): Promise<void> {
    // A folder with strftime fields or {name} is rendered per segment, from its start.
    const { folder } = entry.job;
    const job = folder === undefined || first === undefined ? entry.job : { ...entry.job, folder: renderFolder(folder, nameFieldsOf(entry.job, first)) };
    const capture: FinishedCapture = {
      job,
      segment,
      final,
      reason,
      startedAt: entry.outcome.startedAt ? new Date(entry.outcome.startedAt) : entry.job.receivedAt,
      files,
    };
    const report = await this.deps.deliver(capture, entry.outcome, entry.log);
    entry.outcome.deliveries.push(...report.deliveries);
    entry.outcome.deliveryFailures.push(...report.failures);
    (entry.outcome.pending ??= []).push(...report.pending);
    entry.outcome.segments += 1;
    await this.rollRing(entry, files, report.deliveries);
  }

  /** A named capture with a ring: the files the local sink just wrote join its ring, and the oldest beyond it go. */
  private async rollRing(entry: Entry, files: readonly DeliverableFile[], deliveries: DeliveryReport['deliveries']): Promise<void> {
    const { name, ring } = entry.job;
    if (name === undefined || ring === undefined) return;
    const local = deliveries.find((delivery) => delivery.sink === LOCAL_SINK_NAME);
    if (local === undefined) return;
    const written: RingFile[] = local.locations.map((path, index) => ({ path, bytes: files[index]?.bytes ?? 0 }));
    await this.rings.add(name, ring, written, entry.log);
  }

  /** What the capture layer reported at the end, as the outcome records it; logged and counted. */
  private record(entry: Entry, result: CaptureResult): CaptureEnd {
    const { job } = entry;
    const { metrics } = this.deps;
    const interfaces = result.interfaces.map((iface, index): InterfaceCounters => {
      const alias = job.interfaces[index]?.alias;
      return {
        name: iface.name,
        ...(alias === undefined ? {} : { alias }),
        linktype: iface.linktype,
        snaplenBytes: iface.snaplenBytes,
        received: iface.received,
        dropped: iface.dropped,
        ifDropped: iface.ifDropped,
        written: iface.written,
      };
    });
    const facts = {
      startedAt: isoFromNs(result.startedNs),
      endedAt: isoFromNs(result.endedNs),
      ...(result.firstPacketNs === null ? {} : { firstPacketAt: isoFromNs(result.firstPacketNs) }),
      ...(result.lastPacketNs === null ? {} : { lastPacketAt: isoFromNs(result.lastPacketNs) }),
      packets: result.packets,
      bytes: result.bytes,
      interfaces,
    };
    const end: CaptureEnd =
      result.reason === 'error'
        ? { ...facts, reason: 'error', error: { code: 'PCAPD_ERR_CAPTURE_FAILED', message: result.error ?? 'capture failed' } }
        : { ...facts, reason: result.reason };
    metrics.capturesFinished.inc({ reason: result.reason });
    metrics.captureDuration.observe(Number(result.endedNs - result.startedNs) / 1e9);
    metrics.capturedPackets.inc(result.packets);
    metrics.capturedBytes.inc(result.bytes);
    for (const iface of result.interfaces) {
      metrics.kernelDrops.inc({ interface: iface.name }, iface.dropped);
      metrics.interfaceDrops.inc({ interface: iface.name }, iface.ifDropped);
    }
    const level = result.reason === 'error' ? 'error' : 'info';
    entry.log[level](
      {
        reason: result.reason,
        error: result.error,
        packets: result.packets,
        bytes: result.bytes,
        interfaces,
        // How long the file took to reach JavaScript after its last packet (a
        // limit is reached on that packet); the sinks get it right after.
        ...(result.lastPacketNs === null ? {} : { sinceLastPacketMs: msSinceNs(result.lastPacketNs) }),
      },
      'capture ended',
    );
    return end;
  }

  private logPacketSummaries(entry: Entry, result: CaptureResult): void {
    for (const line of result.packetSummaries) entry.log.info({ packet: line }, 'packet');
    if (result.packetSummariesOmitted > 0) {
      entry.log.info({ omitted: result.packetSummariesOmitted }, 'packet summaries omitted (general.packetdebuglines)');
    }
  }

  private fail(entry: Entry, err: unknown): void {
    const code = errorCodeOf(err) ?? 'PCAPD_ERR_CAPTURE_FAILED';
    const { job, outcome } = entry;
    switch (outcome.state) {
      case 'queued':
      case 'arming':
      case 'capturing':
        this.deps.metrics.capturesFailed.inc({ reason: code });
        entry.log.error({ code, err, interfaces: job.interfaces, filter: job.filter, limits: job.limits }, 'capture failed');
        this.finish(entry, toFailed(outcome, { code, message: errorMessage(err) }));
        return;
      case 'delivering':
      case 'done':
      case 'failed':
        // The capture layer reports one end, so this is a bug; the end already recorded stands.
        entry.log.error({ code: 'PCAPD_ERR_INTERNAL', state: outcome.state, err }, 'capture failed after it had ended; ignored');
        return;
      default: {
        const unreachable: never = outcome;
        throw new Error(`unknown capture state ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private finish(entry: Entry, final: FinalOutcome): void {
    entry.outcome = final;
    this.active.delete(entry.job.id);
    this.flows.ended(entry.job, this.deps.clock.monotonicMs());
    // Kept as it is, not copied: once the entry is gone only amendOutcome
    // (a late delivery) and a merged flow alert change it, and those are
    // changes to this capture's outcome that every reader should see.
    this.finished.keep(entry.job.id, final);
    entry.markArmed(final);
    entry.settle(final);
    this.pump();
  }

  private releaseSlot(entry: Entry): void {
    if (entry.slotReleased === true) return;
    entry.slotReleased = true;
    this.running--;
    for (const iface of entry.job.interfaces) {
      const count = (this.perInterface.get(iface.name) ?? 1) - 1;
      if (count > 0) this.perInterface.set(iface.name, count);
      else this.perInterface.delete(iface.name);
    }
    this.updateGauges();
    this.pump();
  }

  private releaseMemory(entry: Entry): void {
    this.reservedBytes -= entry.reservationBytes;
    entry.reservationBytes = 0;
    this.updateGauges();
  }

  private updateGauges(): void {
    this.deps.metrics.capturesRunning.set(this.running);
    this.deps.metrics.memoryReserved.set(this.reservedBytes);
  }

  /** A copy of the outcome; while it records, with the live counters and rates. */
  private snapshot(entry: Entry): CaptureOutcome {
    const { outcome } = entry;
    if (outcome.state === 'capturing') return this.liveCopy(entry, outcome);
    const view = structuredClone(outcome);
    if (view.state === 'arming' && entry.handle !== undefined) {
      const progress = entry.handle.progress();
      view.packets = progress.packets;
      view.bytes = progress.bytes;
    }
    return view;
  }

  private liveCopy(entry: Entry, outcome: CapturingOutcome): CapturingOutcome {
    const view = structuredClone(outcome);
    if (entry.handle === undefined || entry.rates === undefined) return view;
    const progress = entry.handle.progress();
    view.packets = progress.packets;
    view.bytes = progress.bytes;
    view.live = this.liveView(entry, entry.rates, progress);
    return view;
  }

  private liveView(entry: Entry, rates: RateMeter, progress: ReturnType<CaptureHandle['progress']>): LiveView {
    return {
      interfaces: entry.job.interfaces.map((iface) => iface.name),
      filter: entry.job.filter,
      segment: progress.segment,
      ...rates.read(this.deps.clock.nowMs(), progress.packets, progress.bytes),
    };
  }
}

/** What a file's name (and folder) is made from: a segmented capture's segment start, else the request time. */
function nameFieldsOf(job: CaptureJob, file: CaptureFile): FileNameFields {
  const segmented = job.limits.segmentBytes > 0 || job.limits.segmentSeconds > 0;
  const time = segmented ? new Date(Number(file.segmentStartNs / 1_000_000n)) : new Date(job.receivedAt.getTime());
  return {
    node: job.node,
    id: job.id,
    iface: file.interfaces.join('+'),
    segment: file.segment,
    segmented,
    time,
    ...(job.alertid === undefined ? {} : { alertid: job.alertid }),
    ...(job.customer === undefined ? {} : { customer: job.customer }),
    ...(job.name === undefined ? {} : { name: job.name }),
  };
}

function withFlow(flow: CaptureOutcome['flow']): Pick<CaptureOutcome, 'flow'> {
  return flow === undefined ? {} : { flow };
}

/** Entries in the queue are queued until they leave it; anything else is a bug in the scheduler. */
function queuedOutcomeOf(entry: Entry): QueuedOutcome {
  const { outcome } = entry;
  if (outcome.state === 'queued') return outcome;
  throw new PcapdError('PCAPD_ERR_INTERNAL', `capture ${entry.job.id} is ${outcome.state}, not queued`);
}

function initialOutcome(job: CaptureJob): QueuedOutcome {
  return {
    id: job.id,
    ...(job.name === undefined ? {} : { name: job.name }),
    ...(job.ring === undefined ? {} : { ring: job.ring }),
    node: job.node,
    source: job.source,
    ...(job.alertid === undefined ? {} : { alertid: job.alertid }),
    ...(job.customer === undefined ? {} : { customer: job.customer }),
    tags: job.tags,
    ...withFlow(flowOutcomeOf(job)),
    ...(job.notes === undefined ? {} : { notes: job.notes }),
    state: 'queued',
    requestedAt: job.receivedAt.toISOString(),
    packets: 0,
    bytes: 0,
    limits: job.limits,
    clamps: job.clamps,
    interfaces: [],
    segments: 0,
    deliveries: [],
    deliveryFailures: [],
    pending: [],
  };
}
