/**
 * What the local sink holds under general.localdir, as GET /files, the
 * download route and the retention pass see it: capture files (.pcap,
 * .pcapng) in non-hidden folders, never hidden entries (temp files being
 * written, sidecars) and never symlinks (a listing does not follow them).
 *
 * The walk goes in a fixed order (components compared as strings) and can
 * start after any path, so a listing is paged by the last path it returned:
 * no page holds more than one folder's names in memory, however many files
 * the root has.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

import type { CaptureFormat } from '../config/schema.js';
import { errnoCode, PcapdError } from '../errors.js';
import { readSidecar, type LocalFileMeta } from './local-meta.js';

/** A capture file found by the walk; `path` is relative to the root, '/'-separated. */
export interface FoundFile {
  path: string;
  absolutePath: string;
}

/** The format a capture file's name says; undefined for anything else. */
export function captureFormatOf(name: string): CaptureFormat | undefined {
  if (name.endsWith('.pcapng')) return 'pcapng';
  if (name.endsWith('.pcap')) return 'pcap';
  return undefined;
}

function isCaptureFileName(name: string): boolean {
  return !name.startsWith('.') && captureFormatOf(name) !== undefined;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function sortedEntries(dir: string): Promise<{ name: string; directory: boolean; file: boolean }[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => !entry.name.startsWith('.'))
      .map((entry) => ({ name: entry.name, directory: entry.isDirectory(), file: entry.isFile() }))
      .sort((a, b) => byName(a.name, b.name));
  } catch (err: unknown) {
    // A folder removed meanwhile, or a root not created yet, holds nothing.
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
}

/**
 * Every capture file under `root` in walk order, starting after the path
 * whose components are `after` (that path itself excluded).
 */
export async function* walkCaptureFiles(root: string, after?: readonly string[]): AsyncGenerator<FoundFile> {
  yield* walkDir(root, [], after);
}

async function* walkDir(dir: string, parts: readonly string[], after: readonly string[] | undefined): AsyncGenerator<FoundFile> {
  let bound = after?.[parts.length];
  for (const entry of await sortedEntries(dir)) {
    if (bound !== undefined && entry.name < bound) continue;
    const here = [...parts, entry.name];
    if (bound !== undefined && entry.name === bound) {
      // The cursor's own file was returned already; in its folder, go on after it.
      if (entry.directory) yield* walkDir(join(dir, entry.name), here, after);
      bound = undefined;
      continue;
    }
    bound = undefined;
    if (entry.directory) yield* walkDir(join(dir, entry.name), here, undefined);
    else if (entry.file && isCaptureFileName(entry.name)) yield { path: here.join('/'), absolutePath: join(dir, entry.name) };
  }
}

/** One capture file as GET /files and `pcapd files list` show it: what the file system says, and its sidecar's fields where it has one. */
export type LocalFile = { path: string; bytes: number; modifiedAt: string; format: CaptureFormat } & Partial<Omit<LocalFileMeta, 'format'>>;

export interface FileQuery {
  id?: string;
  name?: string;
  iface?: string;
  /** Files holding time at or after this (their end: modification time). */
  fromMs?: number;
  /** Files holding time at or before this (their start: the capture's start, else modification time). */
  toMs?: number;
  limit: number;
  /** Start after this relative path (the previous page's last one). */
  after?: string;
}

export interface FilePage {
  files: LocalFile[];
  /** The path to continue after; absent once the walk reached the end. */
  next?: string;
}

/**
 * Files a page looks at, listed or not: with filters that match few files a
 * page ends here with fewer than `limit` and a `next`, so no request walks
 * the whole of a large root.
 */
export const MAX_EXAMINED_PER_PAGE = 5_000;

/** The name's format wins over the sidecar's: it is what the download is labelled with. */
function describe(found: FoundFile, bytes: number, mtimeMs: number, meta: LocalFileMeta | undefined): LocalFile {
  return { ...meta, path: found.path, bytes, modifiedAt: new Date(mtimeMs).toISOString(), format: captureFormatOf(found.path) ?? 'pcap' };
}

/** The filters judged on the sidecar (and `to`, on the capture's start). */
function matches(query: FileQuery, meta: LocalFileMeta | undefined, mtimeMs: number): boolean {
  if (query.id !== undefined && meta?.id !== query.id) return false;
  if (query.name !== undefined && meta?.name !== query.name) return false;
  if (query.iface !== undefined && !(meta?.interfaces.includes(query.iface) ?? false)) return false;
  const startMs = meta === undefined ? mtimeMs : Date.parse(meta.startedAt);
  return query.toMs === undefined || startMs <= query.toMs;
}

/**
 * Files examined at once: lstat and the sidecar read go to libuv's thread
 * pool, so a batch overlaps their waits. Measured on 100,000 files (a busy
 * 2-CPU machine): one at a time, a page whose filter matched nothing took
 * about 1.8 s.
 */
export const EXAMINE_BATCH = 32;

/** The walk's files, `size` at a time. */
export async function* inBatches<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of source) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function page(files: LocalFile[], next: string | undefined): FilePage {
  return next === undefined ? { files } : { files, next };
}

/** One page of the capture files under `root` that match `query`, in walk order. */
export async function listLocalFiles(root: string, query: FileQuery): Promise<FilePage> {
  const files: LocalFile[] = [];
  let examined = 0;
  // Everything up to here was looked at: where the next page starts.
  let lastPath: string | undefined;
  for await (const batch of inBatches(walkCaptureFiles(root, query.after?.split('/')), EXAMINE_BATCH)) {
    if (files.length >= query.limit || examined >= MAX_EXAMINED_PER_PAGE) return page(files, lastPath);
    const slice = batch.slice(0, MAX_EXAMINED_PER_PAGE - examined);
    const results = await Promise.all(slice.map((found) => examine(found, query)));
    for (const [i, found] of slice.entries()) {
      if (files.length >= query.limit) return page(files, lastPath);
      examined++;
      lastPath = found.path;
      const listed = results[i];
      if (listed !== undefined) files.push(listed);
    }
    if (slice.length < batch.length) return page(files, lastPath);
  }
  return { files };
}

async function examine(found: FoundFile, query: FileQuery): Promise<LocalFile | undefined> {
  const [stats, meta] = await Promise.all([lstatIfThere(found.absolutePath), readSidecar(found.absolutePath)]);
  // Removed since its folder was read (retention, a ring of files).
  if (stats === undefined) return undefined;
  if (query.fromMs !== undefined && stats.mtimeMs < query.fromMs) return undefined;
  if (!matches(query, meta, stats.mtimeMs)) return undefined;
  return describe(found, stats.size, stats.mtimeMs, meta);
}

/** lstat, or undefined for a file removed meanwhile. */
export async function lstatIfThere(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err: unknown) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function pathInvalid(path: string, why: string): PcapdError {
  return new PcapdError('PCAPD_ERR_PATH_INVALID', `${JSON.stringify(path.slice(0, 256))} ${why}`);
}

/**
 * Why `path` cannot name a capture file under the root, judged on its text
 * alone; undefined when it can. Hidden components are refused too: they are
 * temp files being written and sidecars, never captures.
 */
export function capturePathProblem(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.includes('\0')) return 'contains a NUL';
  if (path.includes('\\')) return 'contains a backslash; separate folders with /';
  if (path.startsWith('/') || isAbsolute(path)) return 'is absolute; give a path relative to general.localdir, as GET /files lists it';
  for (const part of path.split('/')) {
    if (part === '') return 'has an empty component (//, or a trailing /)';
    if (part === '.' || part === '..') return `contains "${part}"; paths stay under general.localdir`;
    if (part.startsWith('.')) return 'names a hidden entry (a temp file or a sidecar), not a capture file';
  }
  if (captureFormatOf(path) === undefined) return 'is not a capture file (.pcap or .pcapng)';
  return undefined;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** An open capture file under the root, for streaming. */
export interface OpenedCaptureFile {
  handle: FileHandle;
  path: string;
  bytes: number;
  mtimeMs: number;
  format: CaptureFormat;
}

/**
 * Opens the capture file at `path` (relative to `root`) for reading, after
 * checking the text of the path and then where it really leads: a symlink
 * anywhere on the way that ends outside the real root is refused with
 * PCAPD_ERR_PATH_INVALID; a path that names nothing with
 * PCAPD_ERR_FILE_NOT_FOUND.
 */
export async function openCaptureFile(root: string, path: string): Promise<OpenedCaptureFile> {
  const problem = capturePathProblem(path);
  if (problem !== undefined) throw pathInvalid(path, problem);
  const notFound = new PcapdError('PCAPD_ERR_FILE_NOT_FOUND', `no capture file ${JSON.stringify(path)} under general.localdir`);
  let real: string;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(join(realRoot, ...path.split('/')));
  } catch (err: unknown) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') throw notFound;
    throw err;
  }
  if (!isInside(realRoot, real)) throw pathInvalid(path, 'leads outside general.localdir through a symlink');
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symlink put in place of the checked file since realpath is refused, not followed.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err: unknown) {
    if (errnoCode(err) === 'ENOENT') throw notFound;
    if (errnoCode(err) === 'ELOOP') throw pathInvalid(path, 'was replaced by a symlink');
    throw err;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notFound;
    return { handle, path, bytes: stats.size, mtimeMs: stats.mtimeMs, format: captureFormatOf(path) ?? 'pcap' };
  } catch (err: unknown) {
    await handle.close();
    throw err;
  }
}
