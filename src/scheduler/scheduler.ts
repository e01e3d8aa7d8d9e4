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
import type { CaptureOutcome, InterfaceCounters } from '../model/outcome.js';
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
      outcome: Promise<CaptureOutcome>;
      /** The state once the capture is armed and recording, or its outcome if it ended before that. */
      armed: Promise<CaptureOutcome>;
    }
  | { kind: 'duplicate'; id: string }
  /** An alert for a flow whose capture runs (or just ended): added to that capture (`id`), no second capture. */
  | { kind: 'merged'; id: string };

interface Entry {
  job: CaptureJob;
  log: Log;
  outcome: CaptureOutcome;
  settled: Promise<CaptureOutcome>;
  settle(outcome: CaptureOutcome): void;
  armed: Promise<CaptureOutcome>;
  /** Resolves `armed`; later calls do nothing (a promise settles once). */
  markArmed(state: CaptureOutcome): void;
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
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`);
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
      entry.outcome.reason = 'cancelled';
      this.finish(entry, 'done');
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
      entry.outcome.error = { code: 'PCAPD_ERR_SHUTTING_DOWN', message: 'pcapd shut down before the capture started' };
      this.finish(entry, 'failed');
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
    let settle!: (outcome: CaptureOutcome) => void;
    const settled = new Promise<CaptureOutcome>((resolve) => {
      settle = resolve;
    });
    let markArmed!: (state: CaptureOutcome) => void;
    const armed = new Promise<CaptureOutcome>((resolve) => {
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
    entry.outcome.state = 'arming';

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
        entry.outcome.state = 'capturing';
        entry.outcome.startedAt = isoFromNs(armed.startedNs);
        entry.rates = new RateMeter(this.deps.clock.nowMs());
        if (job.limits.lookbackSeconds > 0) {
          const servedSeconds = Number(armed.lookbackNs) / 1e9;
          entry.outcome.lookback = { askedSeconds: job.limits.lookbackSeconds, servedSeconds, packets: armed.lookbackPackets };
          this.deps.metrics.lookbackServed.observe(servedSeconds);
        }
        this.deps.metrics.armLatency.observe((this.deps.clock.nowMs() - job.receivedAt.getTime()) / 1000);
        entry.log.info({ ...asked, startedAt: entry.outcome.startedAt }, 'capture armed');
        entry.markArmed(this.snapshot(entry));
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
    this.record(entry, result);
    this.logPacketSummaries(entry, result);
    const config = this.deps.config();
    const empty = result.packets === 0 && !config.general.deliverempty;
    if (empty) entry.log.info({ reason: result.reason }, 'capture caught no packet; not delivered (general.deliverempty)');
    const finalFiles = empty ? [] : this.deliverables(entry, this.withMergedAlerts(entry, result.files));
    const segment = result.files[0]?.segment ?? 0;
    if (finalFiles.length > 0) entry.deliveries.push(this.deliver(entry, finalFiles, segment, true, result.reason, result.files[0]));
    entry.outcome.state = 'delivering';
    void Promise.all(entry.deliveries).then(() => {
      this.releaseMemory(entry);
      // Earlier segments were counted as each was delivered: only the last one's files remain.
      if (hasLocalCopy(entry.outcome) || !this.retained.retain(entry.job.id, finalFiles)) captureMemoryReleased(totalBytes(finalFiles));
      this.finish(entry, entry.outcome.error ? 'failed' : 'done');
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

  private record(entry: Entry, result: CaptureResult): void {
    const { outcome, job } = entry;
    const { metrics } = this.deps;
    outcome.reason = result.reason;
    outcome.endedAt = isoFromNs(result.endedNs);
    outcome.startedAt = isoFromNs(result.startedNs);
    if (result.firstPacketNs !== null) outcome.firstPacketAt = isoFromNs(result.firstPacketNs);
    if (result.lastPacketNs !== null) outcome.lastPacketAt = isoFromNs(result.lastPacketNs);
    outcome.packets = result.packets;
    outcome.bytes = result.bytes;
    outcome.interfaces = result.interfaces.map((iface, index): InterfaceCounters => {
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
    if (result.reason === 'error') {
      outcome.error = { code: 'PCAPD_ERR_CAPTURE_FAILED', message: result.error ?? 'capture failed' };
    }
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
        interfaces: outcome.interfaces,
        // How long the file took to reach JavaScript after its last packet (a
        // limit is reached on that packet); the sinks get it right after.
        ...(result.lastPacketNs === null ? {} : { sinceLastPacketMs: msSinceNs(result.lastPacketNs) }),
      },
      'capture ended',
    );
  }

  private logPacketSummaries(entry: Entry, result: CaptureResult): void {
    for (const line of result.packetSummaries) entry.log.info({ packet: line }, 'packet');
    if (result.packetSummariesOmitted > 0) {
      entry.log.info({ omitted: result.packetSummariesOmitted }, 'packet summaries omitted (general.packetdebuglines)');
    }
  }

  private fail(entry: Entry, err: unknown): void {
    const code = errorCodeOf(err) ?? 'PCAPD_ERR_CAPTURE_FAILED';
    entry.outcome.error = { code, message: errorMessage(err) };
    this.deps.metrics.capturesFailed.inc({ reason: code });
    const { job } = entry;
    entry.log.error({ code, err, interfaces: job.interfaces, filter: job.filter, limits: job.limits }, 'capture failed');
    this.finish(entry, 'failed');
  }

  private finish(entry: Entry, state: 'done' | 'failed'): void {
    entry.outcome.state = state;
    this.active.delete(entry.job.id);
    this.flows.ended(entry.job, this.deps.clock.monotonicMs());
    const outcome = structuredClone(entry.outcome);
    this.finished.keep(entry.job.id, outcome);
    entry.markArmed(outcome);
    entry.settle(outcome);
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

  private snapshot(entry: Entry): CaptureOutcome {
    const view = structuredClone(entry.outcome);
    if (entry.handle && (view.state === 'capturing' || view.state === 'arming')) {
      const progress = entry.handle.progress();
      view.packets = progress.packets;
      view.bytes = progress.bytes;
      if (entry.rates !== undefined) {
        const rates = entry.rates.read(this.deps.clock.nowMs(), progress.packets, progress.bytes);
        view.live = { interfaces: entry.job.interfaces.map((iface) => iface.name), filter: entry.job.filter, segment: progress.segment, ...rates };
      }
    }
    return view;
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

function initialOutcome(job: CaptureJob): CaptureOutcome {
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
