/**
 * The scheduler's admission and lifecycle, driven by the test: captures are
 * fakes honouring the CaptureHandle contract (armed, then done once with a
 * result; cancel asks, the capture ends later), time is a clock the test
 * moves, and delivery is a fake that records what it was given and can be
 * held open. No capture thread, no sleep: every step is the test's.
 */
import { describe, expect, it } from 'vitest';

import type { CaptureArmed, CaptureHandle, CaptureResult, CaptureSpec, StopReason } from '../../src/capture/capture.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { CaptureJob } from '../../src/model/job.js';
import type { FinishedCapture } from '../../src/model/finished-capture.js';
import type { CaptureOutcome } from '../../src/model/outcome.js';
import { isoFromNs, Scheduler, type SubmitResult } from '../../src/scheduler/scheduler.js';
import type { DeliveryReport } from '../../src/delivery/delivery.js';
import { makeJob } from '../helpers/job.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 1024 * 1024;
const { log } = createLogger({ level: 'silent' });

/** A capture the test arms and ends; it records what the scheduler asked of it. */
class FakeCapture implements CaptureHandle {
  readonly id: string;
  readonly armed: Promise<CaptureArmed>;
  readonly done: Promise<CaptureResult>;
  readonly cancels: Array<'cancelled' | 'shutdown' | undefined> = [];
  private packets = 0;
  private resolveArmed!: (armed: CaptureArmed) => void;
  private resolveDone!: (result: CaptureResult) => void;

  constructor(
    readonly spec: CaptureSpec,
    private readonly nowNs: () => bigint,
  ) {
    // The scheduler puts the request id on the section comment's first line.
    this.id = /^pcapd capture (\S+)/.exec(spec.comment ?? '')?.[1] ?? '?';
    this.armed = new Promise((resolve) => (this.resolveArmed = resolve));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  arm(): void {
    this.resolveArmed({ startedNs: this.nowNs(), interfaces: [], lookbackNs: 0n, lookbackPackets: 0 });
  }

  /** Ends the capture with `packets` packets in one pcapng of `fileBytes` bytes. */
  finish(reason: StopReason, packets = 1, fileBytes = 1000): void {
    this.packets = packets;
    const endedNs = this.nowNs();
    const chunks = [Buffer.alloc(fileBytes, this.id)];
    this.resolveDone({
      reason,
      startedNs: endedNs,
      endedNs,
      firstPacketNs: packets > 0 ? endedNs : null,
      lastPacketNs: packets > 0 ? endedNs : null,
      packets,
      bytes: fileBytes,
      files: [
        {
          format: 'pcapng',
          chunks,
          bytes: fileBytes,
          packets,
          firstPacketNs: null,
          lastPacketNs: null,
          segmentStartNs: endedNs,
          segment: 0,
          interfaces: this.spec.interfaces.map((i) => i.name),
        },
      ],
      interfaces: [],
      packetSummaries: [],
      packetSummariesOmitted: 0,
      captureCpuNs: 0,
      prefetchCpuNs: 0,
    });
  }

  /** As the native capture: a request to stop; it ends (finish) when the test says. */
  cancel(reason?: 'cancelled' | 'shutdown'): void {
    this.cancels.push(reason);
  }

  /** Rotation is not part of what these tests drive. */
  rotate(): void {
    throw new Error('rotate is not used by the scheduler tests');
  }

  progress(): { packets: number; bytes: number; segment: number } {
    return { packets: this.packets, bytes: 0, segment: 0 };
  }
}

interface Settings {
  scheduler?: Partial<Config['scheduler']>;
  http?: Partial<Config['http']>;
}

/** A scheduler on a fake clock and fake captures; deliveries go to S3 only (no local copy). */
function harness(settings: Settings = {}) {
  let nowMs = Date.parse('2024-05-06T07:08:09.000Z');
  const config = ConfigSchema.parse({ scheduler: settings.scheduler ?? {}, http: settings.http ?? {} });
  const started: FakeCapture[] = [];
  const delivered: FinishedCapture[] = [];
  const held = new Map<string, () => void>();
  const holding = new Set<string>();
  const scheduler = new Scheduler({
    config: () => config,
    log,
    metrics: new Metrics({ version: 'test', libpcap: 'test', defaults: false }),
    clock: { nowMs: () => nowMs, monotonicMs: () => nowMs },
    startCapture: (spec) => {
      const capture = new FakeCapture(spec, () => BigInt(nowMs) * 1_000_000n);
      started.push(capture);
      return capture;
    },
    deliver: async (capture): Promise<DeliveryReport> => {
      const id = capture.job.id;
      if (holding.has(id)) await new Promise<void>((resolve) => held.set(id, resolve));
      delivered.push(capture);
      return { deliveries: [{ sink: 's3', locations: capture.files.map((file) => `s3://bucket/${file.name}`) }], failures: [], pending: [] };
    },
  });
  return {
    scheduler,
    started,
    delivered,
    /** The ids of the captures started so far, in order. */
    startedIds: () => started.map((capture) => capture.id),
    capture(id: string): FakeCapture {
      const found = started.find((capture) => capture.id === id);
      if (found === undefined) throw new Error(`capture ${id} was not started (started: ${started.map((c) => c.id).join(', ')})`);
      return found;
    },
    advanceMs(ms: number): void {
      nowMs += ms;
    },
    /** Deliveries of `id` wait until released. */
    holdDelivery(id: string): void {
      holding.add(id);
    },
    releaseDelivery(id: string): void {
      holding.delete(id);
      held.get(id)?.();
    },
    /** Resolves once the delivery of `id` has begun and is being held. */
    async deliveryHeld(id: string): Promise<void> {
      await waitFor(`the delivery of ${id} to begin`, () => held.has(id), { timeoutMs: 2000, intervalMs: 0 });
    },
  };
}

function job(id: string, interfaces = ['eth0'], bytes = 1000): CaptureJob {
  const base = makeJob({ id });
  return { ...base, interfaces: interfaces.map((name) => ({ name })), limits: { ...base.limits, bytes } };
}

function accepted(result: SubmitResult): Extract<SubmitResult, { kind: 'accepted' }> {
  if (result.kind !== 'accepted') throw new Error(`expected the capture accepted, got ${JSON.stringify(result)}`);
  return result;
}

/** What the scheduler reserves for a capture of `bytes` (its byte limit plus the native chunk slack: capture-spec.ts). */
const reservation = (bytes: number): number => bytes + 8 * MIB;

describe('Scheduler queue', () => {
  it('makes a request wait while every slot is taken and starts the waiting ones first come, first served', async () => {
    const h = harness({ scheduler: { maxconcurrent: 1, queue: 2 } });
    const a = accepted(h.scheduler.submit(job('a')));
    const b = accepted(h.scheduler.submit(job('b')));
    const c = accepted(h.scheduler.submit(job('c')));
    expect([a.queued, b.queued, c.queued]).toEqual([false, true, true]);
    expect(h.startedIds()).toEqual(['a']);
    expect(h.scheduler.get('b')?.state).toBe('queued');
    expect(h.scheduler.stats()).toMatchObject({ running: 1, queued: 2 });
    // The queue is full: refused at once.
    expect(() => h.scheduler.submit(job('d'))).toThrow(
      expect.objectContaining({ code: 'PCAPD_ERR_ADMISSION_FULL', message: expect.stringMatching(/queue is full \(2\)/) }),
    );

    h.capture('a').finish('packets');
    expect(await a.outcome).toMatchObject({ state: 'done', reason: 'packets' });
    expect(h.startedIds()).toEqual(['a', 'b']);
    expect(h.scheduler.stats()).toMatchObject({ running: 1, queued: 1 });

    h.capture('b').finish('duration');
    await b.outcome;
    expect(h.startedIds()).toEqual(['a', 'b', 'c']);
    h.capture('c').finish('packets');
    expect(await c.outcome).toMatchObject({ state: 'done' });
    expect(h.scheduler.stats()).toMatchObject({ running: 0, queued: 0, reservedBytes: 0 });
  });

  it('refuses a queued request older than scheduler.queuetimeout when a slot frees, and starts a younger one', async () => {
    const h = harness({ scheduler: { maxconcurrent: 1, queue: 2, queuetimeout: 30 } });
    const running = accepted(h.scheduler.submit(job('running')));
    const old = accepted(h.scheduler.submit(job('old')));
    h.advanceMs(20_000);
    const young = accepted(h.scheduler.submit(job('young')));
    h.advanceMs(11_000); // old waited 31 s, young 11 s

    // Only a freed slot makes the scheduler look at the queue again.
    h.capture('running').finish('packets');
    await running.outcome;
    const refused = { state: 'failed', error: { code: 'PCAPD_ERR_ADMISSION_FULL', message: expect.stringMatching(/waited 31 s .*scheduler\.queuetimeout/) } };
    expect(h.scheduler.get('old')).toMatchObject(refused);
    expect(await old.outcome).toMatchObject(refused);
    expect(await old.armed).toMatchObject({ state: 'failed' });
    expect(h.startedIds()).toEqual(['running', 'young']);
    h.capture('young').finish('packets');
    expect(await young.outcome).toMatchObject({ state: 'done' });
  });
});

describe('Scheduler admission', () => {
  it('runs at most scheduler.perinterface captures on one interface, while other interfaces still take captures', async () => {
    const h = harness({ scheduler: { maxconcurrent: 8, perinterface: 1, queue: 0 } });
    const first = accepted(h.scheduler.submit(job('eth0-1', ['eth0'])));
    expect(() => h.scheduler.submit(job('eth0-2', ['eth0']))).toThrow(expect.objectContaining({ code: 'PCAPD_ERR_ADMISSION_FULL' }));
    // One busy interface among several is enough to wait.
    expect(() => h.scheduler.submit(job('eth2+eth0', ['eth2', 'eth0']))).toThrow(expect.objectContaining({ code: 'PCAPD_ERR_ADMISSION_FULL' }));
    accepted(h.scheduler.submit(job('eth1-1', ['eth1'])));
    expect(h.startedIds()).toEqual(['eth0-1', 'eth1-1']);

    h.capture('eth0-1').finish('packets');
    await first.outcome;
    expect(accepted(h.scheduler.submit(job('eth0-3', ['eth0']))).queued).toBe(false);
    expect(h.startedIds()).toEqual(['eth0-1', 'eth1-1', 'eth0-3']);
  });

  it('admits captures while their reserved bytes fit scheduler.memorybudget, holding the memory until delivery ends', async () => {
    const budget = 20 * MIB;
    const h = harness({ scheduler: { maxconcurrent: 8, perinterface: 8, queue: 1, memorybudget: budget } });
    // Larger than the whole budget: refused at once, though the queue has room.
    expect(() => h.scheduler.submit(job('huge', ['eth0'], budget))).toThrow(
      expect.objectContaining({ code: 'PCAPD_ERR_ADMISSION_FULL', message: expect.stringMatching(/scheduler\.memorybudget/) }),
    );

    const a = accepted(h.scheduler.submit(job('a', ['eth0'], MIB)));
    accepted(h.scheduler.submit(job('b', ['eth1'], MIB)));
    expect(h.scheduler.stats().reservedBytes).toBe(2 * reservation(MIB));
    // A third does not fit beside them (3 × 9 MiB > 20 MiB): it waits.
    const c = accepted(h.scheduler.submit(job('c', ['eth2'], MIB)));
    expect(c.queued).toBe(true);
    expect(h.startedIds()).toEqual(['a', 'b']);

    // a's capture ends, but its bytes are held until its delivery ends: c still waits.
    h.holdDelivery('a');
    h.capture('a').finish('packets');
    await h.deliveryHeld('a');
    expect(h.scheduler.stats()).toMatchObject({ running: 1, queued: 1, reservedBytes: 2 * reservation(MIB) });
    expect(h.startedIds()).toEqual(['a', 'b']);

    h.releaseDelivery('a');
    await a.outcome;
    expect(h.startedIds()).toEqual(['a', 'b', 'c']);
    expect(h.scheduler.stats()).toMatchObject({ running: 2, queued: 0, reservedBytes: 2 * reservation(MIB) });
  });
});

describe('Scheduler duplicates', () => {
  it('refuses a repeated request id within scheduler.dedupwindow and takes it again once the window has passed', async () => {
    const h = harness({ scheduler: { dedupwindow: 60 } });
    const first = accepted(h.scheduler.submit(job('same')));
    expect(h.scheduler.submit(job('same'))).toEqual({ kind: 'duplicate', id: 'same' });
    h.capture('same').finish('packets');
    await first.outcome;

    h.advanceMs(59_999);
    expect(h.scheduler.submit(job('same'))).toEqual({ kind: 'duplicate', id: 'same' });
    expect(h.started).toHaveLength(1);

    h.advanceMs(1);
    const again = accepted(h.scheduler.submit(job('same')));
    expect(again.queued).toBe(false);
    expect(h.started).toHaveLength(2);
    // And it is remembered anew from now.
    h.advanceMs(30_000);
    expect(h.scheduler.submit(job('same'))).toEqual({ kind: 'duplicate', id: 'same' });
    h.started[1]?.finish('packets');
    await again.outcome;
  });
});

describe('Scheduler downloads of captures with no local copy', () => {
  async function finished(h: ReturnType<typeof harness>, id: string, fileBytes: number): Promise<CaptureOutcome> {
    const submitted = accepted(h.scheduler.submit(job(id)));
    h.capture(id).finish('packets', 3, fileBytes);
    return submitted.outcome;
  }

  it('keeps a delivered capture downloadable for http.retainseconds, byte for byte', async () => {
    const h = harness({ http: { retainseconds: 60, retainbytes: 10_000 } });
    const outcome = await finished(h, 'kept', 1000);
    expect(outcome.deliveries).toEqual([{ sink: 's3', locations: [expect.stringMatching(/^s3:\/\/bucket\/.*kept.*\.pcapng$/)] }]);
    const files = h.scheduler.retainedFiles('kept');
    expect(files).toHaveLength(1);
    expect(Buffer.concat(files?.[0]?.chunks ?? []).equals(Buffer.alloc(1000, 'kept'))).toBe(true);
    expect(h.scheduler.stats().retainedBytes).toBe(1000);

    h.advanceMs(59_000);
    expect(h.scheduler.retainedFiles('kept')).toHaveLength(1);
    h.advanceMs(1_000);
    expect(h.scheduler.retainedFiles('kept')).toBeUndefined();
    expect(h.scheduler.stats().retainedBytes).toBe(0);
    // Still listed: only the bytes are let go.
    expect(h.scheduler.get('kept')).toMatchObject({ state: 'done' });
  });

  it('holds at most http.retainbytes, dropping the oldest first, and never a capture larger than that', async () => {
    const h = harness({ http: { retainseconds: 3600, retainbytes: 3000 } });
    await finished(h, 'one', 1000);
    await finished(h, 'two', 1000);
    await finished(h, 'three', 1500);
    expect(h.scheduler.retainedFiles('one')).toBeUndefined();
    expect(h.scheduler.retainedFiles('two')).toHaveLength(1);
    expect(h.scheduler.retainedFiles('three')).toHaveLength(1);
    expect(h.scheduler.stats().retainedBytes).toBe(2500);

    await finished(h, 'too-big', 3001);
    expect(h.scheduler.retainedFiles('too-big')).toBeUndefined();
    expect(h.scheduler.retainedFiles('two')).toHaveLength(1);
    expect(h.scheduler.stats().retainedBytes).toBe(2500);
    expect(h.delivered.map((capture) => capture.job.id)).toEqual(['one', 'two', 'three', 'too-big']);
  });
});

describe('Scheduler cancellation', () => {
  it("gives a running capture's slot back at once, before the capture has closed, and counts it once", async () => {
    const h = harness({ scheduler: { maxconcurrent: 1, queue: 0 } });
    const a = accepted(h.scheduler.submit(job('a')));
    h.capture('a').arm();
    await a.armed;
    expect(() => h.scheduler.submit(job('refused'))).toThrow(expect.objectContaining({ code: 'PCAPD_ERR_ADMISSION_FULL' }));

    expect(h.scheduler.cancel('a')).toBe(true);
    expect(h.capture('a').cancels).toEqual(['cancelled']);
    expect(h.scheduler.stats().running).toBe(0);
    const b = accepted(h.scheduler.submit(job('b')));
    expect(b.queued).toBe(false);
    expect(h.startedIds()).toEqual(['a', 'b']);

    // The cancelled capture closes later: its slot is not given back a second time.
    h.capture('a').finish('cancelled');
    expect(await a.outcome).toMatchObject({ state: 'done', reason: 'cancelled' });
    expect(h.scheduler.stats().running).toBe(1);
    expect(() => h.scheduler.submit(job('still-refused'))).toThrow(expect.objectContaining({ code: 'PCAPD_ERR_ADMISSION_FULL' }));
    h.capture('b').finish('packets');
    await b.outcome;
  });

  it('takes a queued capture out of the queue without starting it', async () => {
    const h = harness({ scheduler: { maxconcurrent: 1, queue: 1 } });
    const a = accepted(h.scheduler.submit(job('a')));
    const queued = accepted(h.scheduler.submit(job('queued')));
    expect(h.scheduler.cancel('queued')).toBe(true);
    expect(await queued.outcome).toMatchObject({ state: 'done', reason: 'cancelled' });
    expect(h.scheduler.stats().queued).toBe(0);
    expect(h.scheduler.cancel('queued')).toBe(false);

    h.capture('a').finish('packets');
    await a.outcome;
    expect(h.startedIds()).toEqual(['a']);
  });
});

describe('isoFromNs', () => {
  it('writes a realtime nanosecond timestamp as ISO 8601 with nine fraction digits', () => {
    expect(isoFromNs(1_714_979_289_010_000_007n)).toBe('2024-05-06T07:08:09.010000007Z');
    expect(isoFromNs(1_714_979_289_000_000_000n)).toBe('2024-05-06T07:08:09.000000000Z');
    expect(isoFromNs(999_999_999n)).toBe('1970-01-01T00:00:00.999999999Z');
  });
});
