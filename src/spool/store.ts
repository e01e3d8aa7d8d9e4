/**
 * The spool's entries on disk. Used by the daemon (src/spool/spool.ts) and by
 * the `pcapd spool` commands; it holds no timers and no state of its own. Its
 * lock is src/spool/lock.ts, its control channel src/spool/control.ts.
 *
 *   <dir>/lock                       who holds the spool: {pid, role, startTicks}
 *   <dir>/entries/<key>/             one spooled capture (or segment); complete once it has this name
 *       capture.json                 what it is and which sinks need it (written once)
 *       file-<n>.<pcap|pcapng>       the capture files
 *       state.json                   retry state per sink (replaced atomically after each try)
 *       delivered-<sink>.json        marker: the sink has it (written once, never changed)
 *   <dir>/tmp/                       entries being written; whatever is here at startup was never complete
 *   <dir>/trash/                     entries being removed
 *   <dir>/control/                   requests from `pcapd spool retry|cull` to the running daemon, and answers
 *
 * An entry is written whole under tmp/ (each file fsynced, then the folder)
 * and renamed into entries/, so a crash leaves either no entry or a complete
 * one. A delivered marker is its own file, written atomically before the
 * delivery is reported anywhere, so a restart never re-sends what arrived,
 * and no rewrite of state.json can lose it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import type { CaptureFormat } from '../config/schema.js';
import { errnoCode, errorMessage, knownCode, PcapdError, type ErrorCode } from '../errors.js';
import type { CaptureJob } from '../model/job.js';
import type { FinalOutcome } from '../model/outcome.js';
import { totalBytes, type DeliverableFile, type Delivery, type FinishedCapture } from '../model/finished-capture.js';
import { DIR_MODE, isDiskFull, readChunks, removeTree, syncDir, writeFileAtomic, writeNewFile } from '../fs/durable.js';
import { SpoolControl } from './control.js';
import { readJsonFile } from './json-file.js';
import { SpoolLock } from './lock.js';

export const SPOOL_FORMAT_VERSION = 1;
const RECORD_FILE = 'capture.json';
const STATE_FILE = 'state.json';
const MARKER_PREFIX = 'delivered-';
/** Sink names become file names: keep them plain. */
const SINK_NAME = /^[a-z][a-z0-9-]{0,31}$/;

// ---------------------------------------------------------------------------
// Types

export interface SpooledFile {
  /** File name inside the entry folder. */
  path: string;
  /** The capture file's own name (naming pattern). */
  name: string;
  format: CaptureFormat;
  bytes: number;
  packets: number;
  interfaces: string[];
}

/** capture.json: everything needed to deliver the capture again and to report on it, after a restart too. */
export interface SpoolRecord {
  version: typeof SPOOL_FORMAT_VERSION;
  key: string;
  /** The capture's (request's) id. */
  id: string;
  spooledAt: string;
  /** Sinks that did not have the capture when it was spooled. */
  sinks: string[];
  segment: number;
  final: boolean;
  reason: FinishedCapture['reason'];
  startedAt: string;
  job: CaptureJob;
  files: SpooledFile[];
  /** The capture's outcome when it was spooled (this segment's deliveries included). */
  outcome: FinalOutcome;
}

export interface SinkRetryState {
  /** Failed tries so far. */
  failures: number;
  nextAttemptAt: string;
  /** True after a non-retriable error: no more tries until a reload or `pcapd spool retry`. */
  failed: boolean;
  code: ErrorCode;
  message: string;
  lastAttemptAt: string;
}

export interface SpoolState {
  sinks: Record<string, SinkRetryState>;
}

export interface DeliveredMarker {
  deliveredAt: string;
  delivery: Delivery;
}

interface EntryBase {
  key: string;
  dir: string;
  /** Bytes of every file in the entry folder. */
  bytes: number;
  /** Capture files in the entry. */
  files: number;
  mtimeMs: number;
}

export type SpoolEntry =
  | (EntryBase & { kind: 'valid'; record: SpoolRecord; state: SpoolState; delivered: Map<string, DeliveredMarker> })
  | (EntryBase & { kind: 'invalid'; problem: string });

export type ValidEntry = Extract<SpoolEntry, { kind: 'valid' }>;

/** Sinks of a valid entry that have no delivered marker yet. */
export function undeliveredSinks(entry: ValidEntry): string[] {
  return entry.record.sinks.filter((sink) => !entry.delivered.has(sink));
}

// ---------------------------------------------------------------------------
// Validation of what is read back

const FileSchema = z.object({
  path: z.string().regex(/^file-\d+\.(pcap|pcapng)$/),
  name: z.string().min(1),
  format: z.enum(['pcap', 'pcapng']),
  bytes: z.number().int().nonnegative(),
  packets: z.number().int().nonnegative(),
  interfaces: z.array(z.string()),
});

const RecordSchema = z.object({
  version: z.literal(SPOOL_FORMAT_VERSION),
  key: z.string().min(1),
  id: z.string().min(1),
  spooledAt: z.iso.datetime(),
  sinks: z.array(z.string().regex(SINK_NAME)).min(1),
  segment: z.number().int().nonnegative(),
  final: z.boolean(),
  reason: z.string(),
  startedAt: z.iso.datetime(),
  job: z.looseObject({ id: z.string(), receivedAt: z.iso.datetime(), request: z.looseObject({}), interfaces: z.array(z.looseObject({})) }),
  files: z.array(FileSchema).min(1),
  outcome: z.looseObject({ id: z.string(), deliveries: z.array(z.looseObject({})) }),
});

const StateSchema = z.object({
  sinks: z.record(
    z.string(),
    z.object({
      failures: z.number().int().nonnegative(),
      nextAttemptAt: z.iso.datetime(),
      failed: z.boolean(),
      code: z.string().transform((code) => knownCode(code, 'PCAPD_ERR_SINK_FAILED')),
      message: z.string(),
      lastAttemptAt: z.iso.datetime(),
    }),
  ),
});

const MarkerSchema = z.object({
  deliveredAt: z.iso.datetime(),
  delivery: z.object({ sink: z.string(), locations: z.array(z.string()), ids: z.array(z.string()).optional() }),
});

/**
 * capture.json after validation. The job and outcome were written by this
 * code from a CaptureJob and a FinalOutcome (done or failed); their key fields are checked
 * and the dates restored, the rest is taken as written.
 */
function toRecord(value: z.output<typeof RecordSchema>): SpoolRecord {
  const job = { ...value.job, receivedAt: new Date(value.job.receivedAt) } as unknown as CaptureJob;
  return {
    ...value,
    version: SPOOL_FORMAT_VERSION,
    reason: value.reason as FinishedCapture['reason'],
    job,
    outcome: value.outcome as unknown as FinalOutcome,
  };
}

// ---------------------------------------------------------------------------
// Errors

function writeError(key: string, err: unknown): PcapdError {
  const code = errnoCode(err) ?? 'error';
  if (isDiskFull(err)) {
    return new PcapdError('PCAPD_ERR_SPOOL_FULL', `spool disk full (${code}) while writing ${key}: ${errorMessage(err)}`, { cause: err });
  }
  return new PcapdError('PCAPD_ERR_SPOOL_WRITE', `writing ${key} to the spool failed (${code}): ${errorMessage(err)}`, { cause: err });
}

// ---------------------------------------------------------------------------

/** A key that sorts by spool time and names the capture: 20240506T070809123Z-<id>-s0000-1a2b3c. */
export function entryKey(id: string, segment: number, at: Date): string {
  const time = at.toISOString().replace(/[-:]/g, '').replace('.', '');
  const safeId =
    id
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[.]+/, '')
      .slice(0, 100) || 'capture';
  return `${time}-${safeId}-s${String(segment).padStart(4, '0')}-${randomBytes(3).toString('hex')}`;
}

export function isSinkName(name: string): boolean {
  return SINK_NAME.test(name);
}

export class SpoolStore {
  readonly dir: string;
  readonly entriesDir: string;
  readonly tmpDir: string;
  readonly trashDir: string;
  readonly lock: SpoolLock;
  readonly control: SpoolControl;

  constructor(dir: string) {
    this.dir = dir;
    this.entriesDir = join(dir, 'entries');
    this.tmpDir = join(dir, 'tmp');
    this.trashDir = join(dir, 'trash');
    this.lock = new SpoolLock(dir);
    this.control = new SpoolControl(join(dir, 'control'));
  }

  /** Creates the folders; removes what an earlier crash left in tmp/ and trash/ (returned, for the log). */
  async init(): Promise<string[]> {
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    for (const sub of [this.entriesDir, this.tmpDir, this.trashDir, this.control.dir]) await mkdir(sub, { recursive: true, mode: DIR_MODE });
    const leftovers: string[] = [];
    for (const sub of [this.tmpDir, this.trashDir]) {
      for (const name of await readdir(sub)) {
        leftovers.push(join(sub, name));
        await removeTree(join(sub, name));
      }
    }
    return leftovers;
  }

  // ---- entries ----

  /**
   * Writes a capture to the spool for `sinks`: files, capture.json and
   * state.json under tmp/, each fsynced, then the folder renamed into
   * entries/. Throws PCAPD_ERR_SPOOL_FULL (ENOSPC/EDQUOT) or
   * PCAPD_ERR_SPOOL_WRITE, leaving nothing behind.
   */
  async add(capture: FinishedCapture, sinks: readonly string[], outcome: FinalOutcome, state: SpoolState, at: Date): Promise<ValidEntry> {
    for (const sink of sinks) if (!isSinkName(sink)) throw new Error(`sink name ${JSON.stringify(sink)} cannot be spooled`);
    const key = entryKey(capture.job.id, capture.segment, at);
    const temp = join(this.tmpDir, key);
    const record = recordOf(key, capture, sinks, outcome, at);
    try {
      await mkdir(temp, { mode: DIR_MODE });
      for (const [index, file] of capture.files.entries()) {
        await writeNewFile(join(temp, record.files[index]?.path ?? `file-${index}.${file.format}`), file.chunks);
      }
      await writeNewFile(join(temp, STATE_FILE), [Buffer.from(JSON.stringify(state))]);
      await writeNewFile(join(temp, RECORD_FILE), [Buffer.from(JSON.stringify(record))]);
      await syncDir(temp);
      await rename(temp, join(this.entriesDir, key));
      await syncDir(this.entriesDir);
    } catch (err: unknown) {
      await removeTree(temp).catch(() => undefined);
      throw writeError(key, err);
    }
    const bytes = totalBytes(capture.files);
    return {
      kind: 'valid',
      key,
      dir: join(this.entriesDir, key),
      bytes,
      files: capture.files.length,
      mtimeMs: at.getTime(),
      record,
      state,
      delivered: new Map(),
    };
  }

  /** Every entry, oldest first; damaged ones as `invalid` with the reason. */
  async list(): Promise<SpoolEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.entriesDir);
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const entries: SpoolEntry[] = [];
    for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
      const entry = await this.readEntry(name);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  /** One entry; undefined when it is gone (removed meanwhile). */
  async readEntry(key: string): Promise<SpoolEntry | undefined> {
    const dir = join(this.entriesDir, key);
    let names: string[];
    let mtimeMs: number;
    try {
      names = await readdir(dir);
      mtimeMs = (await stat(dir)).mtimeMs;
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    let bytes = 0;
    let files = 0;
    for (const name of names) {
      const size = await stat(join(dir, name)).then(
        (s) => s.size,
        () => 0,
      );
      bytes += size;
      if (name.startsWith('file-')) files += 1;
    }
    const base = { key, dir, bytes, files, mtimeMs };
    const record = await readJsonFile(join(dir, RECORD_FILE), RecordSchema);
    if (!record.ok) return { ...base, kind: 'invalid', problem: `${RECORD_FILE}: ${record.problem}` };
    if (record.value.key !== key) return { ...base, kind: 'invalid', problem: `${RECORD_FILE} names ${record.value.key}` };
    const state = await readJsonFile(join(dir, STATE_FILE), StateSchema);
    const delivered = new Map<string, DeliveredMarker>();
    for (const name of names) {
      const sink = markerSink(name);
      if (sink === undefined) continue;
      const marker = await readJsonFile(join(dir, name), MarkerSchema);
      // A marker is written atomically; one that does not parse was tampered with. It still says "delivered":
      // re-sending is the worse mistake, and the cull keeps the entry's capture until its age is up anyway.
      const delivery: Delivery = marker.ok ? toDelivery(marker.value.delivery) : { sink, locations: [] };
      delivered.set(sink, { deliveredAt: marker.ok ? marker.value.deliveredAt : new Date(mtimeMs).toISOString(), delivery });
    }
    return {
      ...base,
      kind: 'valid',
      record: toRecord(record.value),
      state: state.ok ? state.value : { sinks: {} },
      delivered,
    };
  }

  /** The capture of an entry, read back into memory in chunks, as sinks take it. */
  async loadCapture(entry: ValidEntry, attempt: number): Promise<FinishedCapture> {
    const { record } = entry;
    const files: DeliverableFile[] = [];
    for (const file of record.files) {
      let chunks: Buffer[];
      try {
        chunks = await readChunks(join(entry.dir, file.path), file.bytes);
      } catch (err: unknown) {
        throw new PcapdError('PCAPD_ERR_SPOOL_READ', `reading ${entry.key}/${file.path} back failed: ${errorMessage(err)}`, { cause: err });
      }
      files.push({ name: file.name, format: file.format, chunks, bytes: file.bytes, packets: file.packets, interfaces: file.interfaces });
    }
    return {
      job: record.job,
      segment: record.segment,
      final: record.final,
      reason: record.reason,
      startedAt: new Date(record.startedAt),
      files,
      attempt,
    };
  }

  /** Records that `delivery.sink` has the entry's capture. Must succeed before the delivery is reported. */
  async markDelivered(key: string, delivery: Delivery, at: Date): Promise<void> {
    if (!isSinkName(delivery.sink)) throw new Error(`sink name ${JSON.stringify(delivery.sink)} cannot be marked`);
    const marker: DeliveredMarker = { deliveredAt: at.toISOString(), delivery };
    await writeFileAtomic(join(this.entriesDir, key, `${MARKER_PREFIX}${delivery.sink}.json`), JSON.stringify(marker));
  }

  async writeState(key: string, state: SpoolState): Promise<void> {
    const dir = join(this.entriesDir, key);
    // Run as root (a `pcapd spool` command), keep the file owned like its folder so the daemon can read it.
    const owner =
      process.getuid?.() === 0
        ? await stat(dir).then(
            (s) => ({ uid: s.uid, gid: s.gid }),
            () => ({}),
          )
        : {};
    await writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(state), owner);
  }

  /** Removes an entry: renamed into trash/ (atomic), then deleted. False when it was gone already. */
  async remove(key: string): Promise<boolean> {
    const trashed = join(this.trashDir, `${key}.${randomBytes(3).toString('hex')}`);
    try {
      await rename(join(this.entriesDir, key), trashed);
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
    await syncDir(this.entriesDir).catch(() => undefined);
    await removeTree(trashed);
    return true;
  }
}

function markerSink(name: string): string | undefined {
  if (!name.startsWith(MARKER_PREFIX) || !name.endsWith('.json')) return undefined;
  const sink = name.slice(MARKER_PREFIX.length, -'.json'.length);
  return isSinkName(sink) ? sink : undefined;
}

function recordOf(key: string, capture: FinishedCapture, sinks: readonly string[], outcome: FinalOutcome, at: Date): SpoolRecord {
  return {
    version: SPOOL_FORMAT_VERSION,
    key,
    id: capture.job.id,
    spooledAt: at.toISOString(),
    sinks: [...sinks],
    segment: capture.segment,
    final: capture.final,
    reason: capture.reason,
    startedAt: capture.startedAt.toISOString(),
    job: capture.job,
    files: capture.files.map((file, index) => ({
      path: `file-${index}.${file.format}`,
      name: file.name,
      format: file.format,
      bytes: file.bytes,
      packets: file.packets,
      interfaces: [...file.interfaces],
    })),
    outcome,
  };
}

function toDelivery(value: { sink: string; locations: string[]; ids?: string[] | undefined }): Delivery {
  return { sink: value.sink, locations: value.locations, ...(value.ids === undefined ? {} : { ids: value.ids }) };
}
