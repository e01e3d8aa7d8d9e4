/**
 * The spool on disk. Used by the daemon (src/spool/spool.ts) and by the
 * `pcapd spool` commands; it holds no timers and no state of its own.
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
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import type { CaptureFormat } from '../capture/capture.js';
import { errnoCode, errorMessage, PcapdError } from '../errors.js';
import type { CaptureJob } from '../model/job.js';
import type { CaptureOutcome } from '../model/outcome.js';
import { totalBytes, type DeliverableFile, type Delivery, type FinishedCapture } from '../model/finished-capture.js';
import {
  CONTROL_FILE_MODE,
  DIR_MODE,
  isDiskFull,
  readChunks,
  removeTree,
  syncDir,
  writeFileAtomic,
  writeNewFile,
} from '../fs/durable.js';

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
  outcome: CaptureOutcome;
}

export interface SinkRetryState {
  /** Failed tries so far. */
  failures: number;
  nextAttemptAt: string;
  /** True after a non-retriable error: no more tries until a reload or `pcapd spool retry`. */
  failed: boolean;
  code: string;
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

export interface LockInfo {
  pid: number;
  role: 'daemon' | 'cli';
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22): a reused pid does not match. */
  startTicks: string;
  acquiredAt: string;
}

export type ControlAction = 'retry' | 'cull';

export interface ControlRequest {
  action: ControlAction;
  /** Entry keys or capture ids; empty: all. */
  targets: string[];
  requestedAt: string;
}

export interface ControlResult {
  ok: boolean;
  message: string;
  rearmed?: string[];
  removed?: Array<{ key: string; reason: string }>;
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
      code: z.string(),
      message: z.string(),
      lastAttemptAt: z.iso.datetime(),
    }),
  ),
});

const MarkerSchema = z.object({
  deliveredAt: z.iso.datetime(),
  delivery: z.object({ sink: z.string(), locations: z.array(z.string()), ids: z.array(z.string()).optional() }),
});

const LockSchema = z.object({
  pid: z.number().int().positive(),
  role: z.enum(['daemon', 'cli']),
  startTicks: z.string(),
  acquiredAt: z.string(),
});

const ControlRequestSchema = z.object({
  action: z.enum(['retry', 'cull']),
  targets: z.array(z.string()),
  requestedAt: z.string(),
});

const ControlResultSchema = z.object({
  ok: z.boolean(),
  message: z.string(),
  rearmed: z.array(z.string()).optional(),
  removed: z.array(z.object({ key: z.string(), reason: z.string() })).optional(),
});

function parseJson(text: string): unknown {
  return JSON.parse(text) as unknown;
}

/**
 * capture.json after validation. The job and outcome were written by this
 * code from a CaptureJob and a CaptureOutcome; their key fields are checked
 * and the dates restored, the rest is taken as written.
 */
function toRecord(value: z.output<typeof RecordSchema>): SpoolRecord {
  const job = { ...value.job, receivedAt: new Date(value.job.receivedAt) } as unknown as CaptureJob;
  return {
    ...value,
    version: SPOOL_FORMAT_VERSION,
    reason: value.reason as FinishedCapture['reason'],
    job,
    outcome: value.outcome as unknown as CaptureOutcome,
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
// Process identity (for the lock)

async function processStartTicks(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

async function isAlive(lock: LockInfo): Promise<boolean> {
  const ticks = await processStartTicks(lock.pid);
  return ticks !== undefined && ticks === lock.startTicks;
}

// ---------------------------------------------------------------------------

/** A key that sorts by spool time and names the capture: 20240506T070809123Z-<id>-s0000-1a2b3c. */
export function entryKey(id: string, segment: number, at: Date): string {
  const time = at.toISOString().replace(/[-:]/g, '').replace('.', '');
  const safeId = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.]+/, '').slice(0, 100) || 'capture';
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
  readonly controlDir: string;
  readonly lockPath: string;

  constructor(dir: string) {
    this.dir = dir;
    this.entriesDir = join(dir, 'entries');
    this.tmpDir = join(dir, 'tmp');
    this.trashDir = join(dir, 'trash');
    this.controlDir = join(dir, 'control');
    this.lockPath = join(dir, 'lock');
  }

  /** Creates the folders; removes what an earlier crash left in tmp/ and trash/ (returned, for the log). */
  async init(): Promise<string[]> {
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    for (const sub of [this.entriesDir, this.tmpDir, this.trashDir, this.controlDir]) await mkdir(sub, { recursive: true, mode: DIR_MODE });
    const leftovers: string[] = [];
    for (const sub of [this.tmpDir, this.trashDir]) {
      for (const name of await readdir(sub)) {
        leftovers.push(join(sub, name));
        await removeTree(join(sub, name));
      }
    }
    return leftovers;
  }

  // ---- lock ----

  /** The live process holding the spool, if any; a lock left by a dead process counts as none. */
  async lockHolder(): Promise<LockInfo | undefined> {
    let text: string;
    try {
      text = await readFile(this.lockPath, 'utf8');
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = LockSchema.safeParse(safeJson(text));
    if (!parsed.success) return undefined;
    return (await isAlive(parsed.data)) ? parsed.data : undefined;
  }

  /**
   * Takes the spool for this process. Waits up to `waitMs` for a holder to
   * let go (a `pcapd spool cull` finishing); a lock whose process is gone is
   * taken over. Two daemons on one spool would deliver everything twice, so
   * a live holder is an error (PCAPD_ERR_SPOOL_LOCKED).
   */
  async acquireLock(role: LockInfo['role'], waitMs = 0): Promise<void> {
    const deadline = Date.now() + waitMs;
    const startTicks = (await processStartTicks(process.pid)) ?? '';
    const info: LockInfo = { pid: process.pid, role, startTicks, acquiredAt: new Date().toISOString() };
    for (;;) {
      try {
        const handle = await open(this.lockPath, 'wx', CONTROL_FILE_MODE);
        try {
          await handle.writeFile(JSON.stringify(info));
          await handle.sync();
        } finally {
          await handle.close();
        }
        return;
      } catch (err: unknown) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const holder = await this.lockHolder();
      if (holder === undefined) {
        // Stale: its process is gone. unlink then retry the exclusive create, so two takers cannot both win.
        await unlink(this.lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new PcapdError(
          'PCAPD_ERR_SPOOL_LOCKED',
          `the spool ${this.dir} is held by ${holder.role === 'daemon' ? 'a running pcapd' : 'a pcapd spool command'} (pid ${holder.pid})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async releaseLock(): Promise<void> {
    const holder = await this.lockHolder();
    if (holder?.pid === process.pid) await unlink(this.lockPath).catch(() => undefined);
  }

  // ---- entries ----

  /**
   * Writes a capture to the spool for `sinks`: files, capture.json and
   * state.json under tmp/, each fsynced, then the folder renamed into
   * entries/. Throws PCAPD_ERR_SPOOL_FULL (ENOSPC/EDQUOT) or
   * PCAPD_ERR_SPOOL_WRITE, leaving nothing behind.
   */
  async add(capture: FinishedCapture, sinks: readonly string[], outcome: CaptureOutcome, state: SpoolState, at: Date): Promise<ValidEntry> {
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
      const size = await stat(join(dir, name)).then((s) => s.size, () => 0);
      bytes += size;
      if (name.startsWith('file-')) files += 1;
    }
    const base = { key, dir, bytes, files, mtimeMs };
    const record = await readJson(join(dir, RECORD_FILE), RecordSchema);
    if (!record.ok) return { ...base, kind: 'invalid', problem: `${RECORD_FILE}: ${record.problem}` };
    if (record.value.key !== key) return { ...base, kind: 'invalid', problem: `${RECORD_FILE} names ${record.value.key}` };
    const state = await readJson(join(dir, STATE_FILE), StateSchema);
    const delivered = new Map<string, DeliveredMarker>();
    for (const name of names) {
      const sink = markerSink(name);
      if (sink === undefined) continue;
      const marker = await readJson(join(dir, name), MarkerSchema);
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
    const owner = process.getuid?.() === 0 ? await stat(dir).then((s) => ({ uid: s.uid, gid: s.gid }), () => ({})) : {};
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

  // ---- control requests (`pcapd spool retry|cull` while the daemon runs) ----

  async writeControlRequest(request: ControlRequest): Promise<string> {
    const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
    await writeFileAtomic(join(this.controlDir, `${id}.request.json`), JSON.stringify(request), { mode: CONTROL_FILE_MODE });
    return id;
  }

  /** Pending requests, oldest first; an unreadable one is answered as refused and dropped. */
  async takeControlRequests(): Promise<Array<{ id: string; request: ControlRequest }>> {
    let names: string[];
    try {
      names = await readdir(this.controlDir);
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const requests: Array<{ id: string; request: ControlRequest }> = [];
    for (const name of names.filter((n) => n.endsWith('.request.json')).sort()) {
      const id = name.slice(0, -'.request.json'.length);
      const parsed = await readJson(join(this.controlDir, name), ControlRequestSchema);
      await unlink(join(this.controlDir, name)).catch(() => undefined);
      if (parsed.ok) requests.push({ id, request: parsed.value });
      else await this.writeControlResult(id, { ok: false, message: `unreadable request: ${parsed.problem}` });
    }
    return requests;
  }

  async writeControlResult(id: string, result: ControlResult): Promise<void> {
    await writeFileAtomic(join(this.controlDir, `${id}.result.json`), JSON.stringify(result), { mode: CONTROL_FILE_MODE });
  }

  /** The daemon's answer, once there; undefined while it is not. Removes it once read. */
  async takeControlResult(id: string): Promise<ControlResult | undefined> {
    const path = join(this.controlDir, `${id}.result.json`);
    const parsed = await readJson(path, ControlResultSchema);
    if (!parsed.ok) return undefined;
    await unlink(path).catch(() => undefined);
    const { ok, message, rearmed, removed } = parsed.value;
    return { ok, message, ...(rearmed === undefined ? {} : { rearmed }), ...(removed === undefined ? {} : { removed }) };
  }

  async withdrawControlRequest(id: string): Promise<void> {
    await unlink(join(this.controlDir, `${id}.request.json`)).catch(() => undefined);
  }
}

function markerSink(name: string): string | undefined {
  if (!name.startsWith(MARKER_PREFIX) || !name.endsWith('.json')) return undefined;
  const sink = name.slice(MARKER_PREFIX.length, -'.json'.length);
  return isSinkName(sink) ? sink : undefined;
}

function recordOf(key: string, capture: FinishedCapture, sinks: readonly string[], outcome: CaptureOutcome, at: Date): SpoolRecord {
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

function safeJson(text: string): unknown {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}

type ReadResult<T> = { ok: true; value: T } | { ok: false; problem: string };

async function readJson<S extends z.ZodType>(path: string, schema: S): Promise<ReadResult<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    return { ok: false, problem: errnoCode(err) === 'ENOENT' ? 'missing' : errorMessage(err) };
  }
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (err: unknown) {
    return { ok: false, problem: `not JSON: ${errorMessage(err)}` };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, problem: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
  return { ok: true, value: parsed.data };
}

function toDelivery(value: { sink: string; locations: string[]; ids?: string[] | undefined }): Delivery {
  return { sink: value.sink, locations: value.locations, ...(value.ids === undefined ? {} : { ids: value.ids }) };
}
