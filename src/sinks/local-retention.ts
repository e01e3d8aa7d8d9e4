/**
 * Retention for general.localdir as a whole ([retention]): capture files
 * older than maxage go ("maxage"), then the oldest until the rest fit in
 * maxbytes ("maxbytes"). Age and order come from the modification time,
 * which is when the local sink wrote the file.
 *
 * Only what walkCaptureFiles finds is considered: .pcap/.pcapng files in
 * non-hidden folders under the root, never a symlink, never a hidden temp
 * file the sink is still writing. A file written in the last few seconds is
 * left alone even past the limits: its sidecar may still be on its way.
 *
 * The daemon runs a pass every retention.interval seconds; `pcapd files
 * prune [--dry-run]` runs the same plan once.
 */
import { join } from 'node:path';

import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errnoCode, errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { EXAMINE_BATCH, inBatches, lstatIfThere, walkCaptureFiles } from './local-files.js';
import { removeLocalFile } from './local-meta.js';

export type RetentionReason = 'maxage' | 'maxbytes';

export interface RetentionLimits {
  /** 0: no size limit. */
  maxBytes: number;
  /** 0: no age limit. */
  maxAgeMs: number;
}

/** A capture file as retention judges it; `path` is relative to the root (the absolute one is not kept: 100,000 of them add up). */
export interface StoredFile {
  path: string;
  bytes: number;
  mtimeMs: number;
}

export interface RetentionItem extends StoredFile {
  reason: RetentionReason;
}

export interface RetentionPlan {
  remove: RetentionItem[];
  /** Capture files and their bytes before the removals. */
  files: number;
  bytes: number;
}

/** Files this young are never removed: the local sink writes a file's sidecar just after the file. */
export const RECENT_FILE_MS = 5_000;

export function retentionLimits(config: Config): RetentionLimits {
  return { maxBytes: config.retention.maxbytes, maxAgeMs: config.retention.maxage * 1000 };
}

export function retentionEnabled(limits: RetentionLimits): boolean {
  return limits.maxBytes > 0 || limits.maxAgeMs > 0;
}

/**
 * Every capture file under `root` with its size and modification time. One
 * small record per file for the length of a pass, which is what ordering
 * them by age needs (bench/local-files.ts measures it).
 */
export async function storedFiles(root: string): Promise<StoredFile[]> {
  const files: StoredFile[] = [];
  for await (const batch of inBatches(walkCaptureFiles(root), EXAMINE_BATCH)) {
    const stats = await Promise.all(batch.map((found) => lstatIfThere(found.absolutePath)));
    for (const [i, found] of batch.entries()) {
      const stat = stats[i];
      if (stat !== undefined) files.push({ path: found.path, bytes: stat.size, mtimeMs: stat.mtimeMs });
    }
  }
  return files;
}

/** What to remove, oldest first. Pure: the daemon's pass and `pcapd files prune --dry-run` plan alike. */
export function planRetention(files: readonly StoredFile[], nowMs: number, limits: RetentionLimits): RetentionPlan {
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  const plan: RetentionPlan = { remove: [], files: files.length, bytes: total };
  if (!retentionEnabled(limits)) return plan;
  const oldestFirst = [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : 1));
  let kept = total;
  for (const file of oldestFirst) {
    if (nowMs - file.mtimeMs < RECENT_FILE_MS) break;
    const tooOld = limits.maxAgeMs > 0 && nowMs - file.mtimeMs > limits.maxAgeMs;
    const tooMuch = limits.maxBytes > 0 && kept > limits.maxBytes;
    if (!tooOld && !tooMuch) break;
    plan.remove.push({ ...file, reason: tooOld ? 'maxage' : 'maxbytes' });
    kept -= file.bytes;
  }
  return plan;
}

/** Removes the planned files under `root` (and their sidecars); the ones actually removed, in order. */
export async function applyRetention(root: string, plan: RetentionPlan, log: Log): Promise<RetentionItem[]> {
  const removed: RetentionItem[] = [];
  for (const item of plan.remove) {
    const path = join(root, ...item.path.split('/'));
    try {
      if (await removeLocalFile(path)) removed.push(item);
    } catch (err: unknown) {
      log.error({ path, code: errnoCode(err), err: errorMessage(err) }, 'retention could not remove a capture file');
    }
  }
  return removed;
}

export interface LocalRetentionDeps {
  config(): Config;
  log: Log;
  metrics: Metrics;
  clock: Clock;
}

/** The daemon's periodic pass; settings are read at each pass, so SIGHUP applies to the next one. */
export class LocalRetention {
  readonly #deps: LocalRetentionDeps;
  readonly #log: Log;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(deps: LocalRetentionDeps) {
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'retention' });
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#deps.config().retention.interval * 1000);
      });
    }, delayMs);
    // A pending pass never keeps a stopping pcapd alive.
    this.#timer.unref();
  }

  /** One pass: nothing while retention is off. */
  async runOnce(): Promise<RetentionItem[]> {
    const config = this.#deps.config();
    const limits = retentionLimits(config);
    if (!retentionEnabled(limits)) return [];
    try {
      const root = config.general.localdir;
      const plan = planRetention(await storedFiles(root), this.#deps.clock.nowMs(), limits);
      const removed = await applyRetention(root, plan, this.#log);
      this.#count(plan, removed);
      return removed;
    } catch (err: unknown) {
      this.#log.error({ code: errnoCode(err), err: errorMessage(err) }, 'retention pass failed');
      return [];
    }
  }

  #count(plan: RetentionPlan, removed: readonly RetentionItem[]): void {
    const { metrics } = this.#deps;
    let bytes = plan.bytes;
    for (const item of removed) {
      metrics.localFilesRemoved.inc({ reason: item.reason });
      metrics.localFilesRemovedBytes.inc({ reason: item.reason }, item.bytes);
      bytes -= item.bytes;
      this.#log.info(
        { path: item.path, reason: item.reason, bytes: item.bytes, modifiedAt: new Date(item.mtimeMs).toISOString() },
        'retention removed a capture file',
      );
    }
    metrics.localFiles.set(plan.files - removed.length);
    metrics.localBytes.set(bytes);
    if (removed.length > 0) this.#log.info({ removed: removed.length, files: plan.files - removed.length, bytes }, 'retention pass done');
  }
}
