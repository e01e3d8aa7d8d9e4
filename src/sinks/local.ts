/**
 * The local sink: each capture file written under `general.localdir` (plus
 * the request's folder), mode 0640, atomically and without ever replacing a
 * file that is already there.
 *
 * A file is written to a hidden temp file in the target folder, fsynced, then
 * hard-linked to its name: link(2) fails with EEXIST where rename(2) would
 * silently replace, so two captures given one name both survive (the second
 * gets "-1"). The folder is then fsynced so the name survives a power cut.
 *
 * A delivery is all or nothing: if one file of it fails, the files already
 * written by it are removed again, so the caller's retry from the spool does
 * not leave "-1" duplicates.
 *
 * Beside each file goes a hidden sidecar (local-meta.ts) with the request id,
 * name, interfaces and start time, which GET /files lists and filters by.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, open, realpath, unlink } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { systemClock, type Clock } from '../clock.js';
import { errnoCode, errorMessage, PcapdError, SinkError } from '../errors.js';
import { DIR_MODE, FILE_MODE, syncDir as syncDirNow, writeFileAtomic, writeNewFile } from '../fs/durable.js';
import type { Log } from '../log/logger.js';
import { removeLocalFile, sidecarPath, sidecarText } from './local-meta.js';
import type { Sink } from './sink.js';
import type { DeliverableFile, Delivery, FinishedCapture } from '../model/finished-capture.js';

export interface LocalSinkOptions {
  /** `general.localdir`: nothing is ever written outside it. */
  rootDir: string;
  log: Log;
  clock?: Clock;
}

/** "-1" … "-100" before the extension, then give up: that many equal names means a broken pattern. */
const MAX_NAME_SUFFIX = 100;
/** NAME_MAX (255) less the temp name's extras (".", ".<12 hex>.tmp") and a "-100" suffix. */
const MAX_FILE_NAME_BYTES = 233;

/**
 * `retriable`: a file-system failure (ENOSPC, EACCES, EIO…) may clear up, so
 * the spool tries again; a refused folder or file name never will.
 */
function sinkError(message: string, cause?: unknown, retriable = false): SinkError {
  return new SinkError('PCAPD_ERR_SINK_LOCAL', 'local', `local sink: ${message}`, { retriable, ...(cause === undefined ? {} : { cause }) });
}

/** Wraps a failed file-system step as PCAPD_ERR_SINK_LOCAL naming the path and errno code (ENOSPC, EACCES…). */
async function step<T>(action: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err: unknown) {
    if (err instanceof PcapdError) throw err;
    const code = errnoCode(err);
    // The usual cause under systemd: the unit's ProtectSystem=strict, with localdir not in ReadWritePaths.
    const hint =
      code === 'EROFS' ? '; the directory is read-only for pcapd: under systemd add general.localdir to ReadWritePaths (pcapd check-config names the fix)' : '';
    throw sinkError(`${action} ${path} failed (${code ?? 'error'}): ${errorMessage(err)}${hint}`, err, true);
  }
}

/**
 * Creates general.localdir at start, with an error that names what stopped
 * it: Node's recursive mkdir reports ENOENT where the parent exists but is
 * read-only (EROFS, the systemd unit's ProtectSystem=strict) or not writable.
 */
export async function createLocalRoot(rootDir: string): Promise<void> {
  await step('creating general.localdir', rootDir, async () => {
    try {
      await mkdir(rootDir, { recursive: true, mode: DIR_MODE });
    } catch (err: unknown) {
      if (errnoCode(err) !== 'ENOENT' || !existsSync(dirname(rootDir))) throw err;
      await mkdir(rootDir, { mode: DIR_MODE });
    }
  });
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The folder's components below the root, checked lexically. The job's folder
 * was validated already; this is the second line, because a path that leaves
 * the root here would be a write anywhere pcapd's user can write.
 */
function folderComponents(root: string, folder: string | undefined): string[] {
  if (folder === undefined || folder === '') return [];
  if (folder.includes('\0') || isAbsolute(folder)) throw sinkError(`folder ${JSON.stringify(folder)} is not a relative path`);
  const target = resolve(root, folder);
  if (!isInside(root, target)) throw sinkError(`folder ${JSON.stringify(folder)} leaves ${root}`);
  return relative(root, target)
    .split(sep)
    .filter((part) => part !== '');
}

/** The file name must be one plain component: the pattern sanitised it, but a sink trusts no caller. */
function checkFileName(name: string): void {
  const plain = name !== '' && !name.startsWith('.') && !/[/\\\0]/u.test(name);
  if (!plain) throw sinkError(`file name ${JSON.stringify(name)} is not a plain file name`);
  if (Buffer.byteLength(name) > MAX_FILE_NAME_BYTES) throw sinkError(`file name is longer than ${MAX_FILE_NAME_BYTES} bytes: ${name}`);
}

async function syncDir(dir: string): Promise<void> {
  await step('fsync of folder', dir, () => syncDirNow(dir));
}

/** Creates one folder level with mode 0750; false when it was there already. */
async function makeDir(path: string): Promise<boolean> {
  return step('creating folder', path, async () => {
    try {
      await mkdir(path, { mode: DIR_MODE });
    } catch (err: unknown) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    }
    return true;
  });
}

async function chmodDir(path: string): Promise<void> {
  await step('chmod of folder', path, async () => {
    const handle = await open(path, 'r');
    try {
      // mkdir's mode is masked by the umask; group members who may read the files need r-x here.
      await handle.chmod(DIR_MODE);
    } finally {
      await handle.close();
    }
  });
}

/**
 * Creates the target folder one level at a time below the real root and
 * resolves each level before going deeper, so a symlink inside the root
 * that points outside is refused before anything is created through it.
 */
async function ensureTargetDir(rootDir: string, folder: string | undefined): Promise<string> {
  const parts = folderComponents(resolve(rootDir), folder);
  await step('creating folder', rootDir, () => mkdir(rootDir, { recursive: true, mode: DIR_MODE }));
  const realRoot = await step('resolving folder', rootDir, () => realpath(rootDir));
  let current = realRoot;
  for (const part of parts) {
    const next = join(current, part);
    if (await makeDir(next)) {
      await chmodDir(next);
      await syncDir(current);
    }
    const real = await step('resolving folder', next, () => realpath(next));
    if (!isInside(realRoot, real)) throw sinkError(`folder ${JSON.stringify(folder)} leads outside ${realRoot} (to ${real})`);
    current = real;
  }
  return current;
}

function candidateName(name: string, attempt: number): string {
  if (attempt === 0) return name;
  const extension = extname(name);
  return `${name.slice(0, name.length - extension.length)}-${attempt}${extension}`;
}

/** Links the temp file to the first free name: name, name-1, name-2 … */
async function linkToFreeName(tempPath: string, dir: string, name: string, log: Log): Promise<string> {
  for (let attempt = 0; attempt <= MAX_NAME_SUFFIX; attempt++) {
    const path = join(dir, candidateName(name, attempt));
    try {
      await link(tempPath, path);
    } catch (err: unknown) {
      if (errnoCode(err) === 'EEXIST') continue;
      throw sinkError(`linking ${path} failed (${errnoCode(err) ?? 'error'}): ${errorMessage(err)}`, err, true);
    }
    if (attempt > 0) log.warn({ taken: name, path }, 'file name already taken; written beside it');
    return path;
  }
  throw sinkError(`${join(dir, name)} and its -1 … -${MAX_NAME_SUFFIX} variants all exist`);
}

async function removeQuietly(path: string, log: Log): Promise<void> {
  try {
    await unlink(path);
  } catch (err: unknown) {
    if (errnoCode(err) !== 'ENOENT') log.error({ path, err }, 'could not remove a temp or partly delivered file');
  }
}

async function removeDeliveredQuietly(path: string, log: Log): Promise<void> {
  try {
    await removeLocalFile(path);
  } catch (err: unknown) {
    log.error({ path, err }, 'could not remove a partly delivered file');
  }
}

/**
 * Replaces rather than refuses an existing sidecar: the file it describes was
 * just created by link(2), so one already there is a leftover whose file was
 * deleted by hand.
 */
async function writeSidecar(path: string, capture: FinishedCapture, file: DeliverableFile): Promise<void> {
  await step('writing', sidecarPath(path), () => writeFileAtomic(sidecarPath(path), sidecarText(capture, file), { mode: FILE_MODE }));
}

async function writeFileAtomically(dir: string, file: DeliverableFile, log: Log): Promise<string> {
  checkFileName(file.name);
  const tempPath = join(dir, `.${file.name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx' (O_CREAT|O_EXCL) also refuses to follow a symlink planted at this name; 0640 whatever the umask.
    await step('writing', join(dir, file.name), () => writeNewFile(tempPath, file.chunks, FILE_MODE));
    return await linkToFreeName(tempPath, dir, file.name, log);
  } finally {
    await removeQuietly(tempPath, log);
  }
}

/** The local sink's name in outcomes: its deliveries' locations are files on this host. */
export const LOCAL_SINK_NAME = 'local';

export class LocalSink implements Sink {
  readonly name = LOCAL_SINK_NAME;
  readonly writesLocally = true;
  readonly #rootDir: string;
  readonly #log: Log;
  readonly #clock: Clock;

  constructor(options: LocalSinkOptions) {
    this.#rootDir = options.rootDir;
    this.#log = options.log.child({ component: 'sink', sink: 'local' });
    this.#clock = options.clock ?? systemClock;
  }

  async deliver(capture: FinishedCapture): Promise<Delivery> {
    const log = this.#log.child({ reqId: capture.job.id });
    const startMs = this.#clock.nowMs();
    const dir = await ensureTargetDir(this.#rootDir, capture.job.folder);
    const locations = await this.#writeAll(dir, capture, log);
    log.info({ segment: capture.segment, locations, durationMs: this.#clock.nowMs() - startMs }, 'capture written');
    return { sink: this.name, locations };
  }

  async #writeAll(dir: string, capture: FinishedCapture, log: Log): Promise<string[]> {
    const locations: string[] = [];
    try {
      for (const file of capture.files) {
        const path = await writeFileAtomically(dir, file, log);
        locations.push(path);
        await writeSidecar(path, capture, file);
      }
      await syncDir(dir);
      return locations;
    } catch (err: unknown) {
      // All or nothing: the spool retries the whole capture.
      await Promise.all(locations.map((path) => removeDeliveredQuietly(path, log)));
      throw err;
    }
  }
}
