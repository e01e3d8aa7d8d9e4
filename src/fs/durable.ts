/**
 * File-system steps for durable writes, shared by the spool and the local
 * sink. Each durable write is: a new file, fsync, rename (or link) into
 * place, fsync of the folder, so that after a crash or power cut a name
 * either holds the complete old content or the complete new one, never a
 * torn file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { errnoCode } from '../errors.js';

export const FILE_MODE = 0o640;
/** Control files carry no capture data and must be readable by whichever of root or pcapd reads them. */
export const CONTROL_FILE_MODE = 0o644;
export const DIR_MODE = 0o750;

/** ENOSPC or EDQUOT: the disk (or the quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes the chunks in order with writev, never concatenating them (a capture
 * can be hundreds of MiB). writev may write less than asked on a nearly full
 * disk: the rest goes in the next call, which then reports ENOSPC.
 */
export async function writeChunks(handle: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let pending = chunks.filter((chunk) => chunk.length > 0);
  // IOV_MAX is 1024 on Linux; Node splits larger vectors itself, but one call per batch keeps errors prompt.
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending.slice(0, 1024));
    if (bytesWritten === 0) throw new Error('writev wrote nothing');
    pending = dropWritten(pending, bytesWritten);
  }
}

function dropWritten(chunks: readonly Buffer[], bytes: number): Buffer[] {
  let left = bytes;
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    rest.push(left > 0 ? chunk.subarray(left) : chunk);
    left = 0;
  }
  return rest;
}

/** Creates `path` (never replacing one), writes the chunks, fsyncs. */
export async function writeNewFile(path: string, chunks: readonly Buffer[], mode = FILE_MODE): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    // open's mode is masked by the umask.
    await handle.chmod(mode);
    await writeChunks(handle, chunks);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` atomically with `data`: a hidden temp file beside it,
 * fsync, rename, fsync of the folder. Readers see the old or the new
 * content, never part of either.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, options: { mode?: number; uid?: number; gid?: number } = {}): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', options.mode ?? FILE_MODE);
    try {
      await handle.chmod(options.mode ?? FILE_MODE);
      if (options.uid !== undefined && options.gid !== undefined) await handle.chown(options.uid, options.gid);
      await writeChunks(handle, [typeof data === 'string' ? Buffer.from(data) : data]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err: unknown) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(path));
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Reads a file as chunks of at most `chunkBytes`, so a large capture is never one huge Buffer. */
export async function readChunks(path: string, expectedBytes: number, chunkBytes = 4 * 1024 * 1024): Promise<Buffer[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size !== expectedBytes) throw new Error(`${path} has ${size} bytes, the spool recorded ${expectedBytes}`);
    const chunks: Buffer[] = [];
    let position = 0;
    while (position < size) {
      const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, size - position));
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
        if (bytesRead === 0) throw new Error(`${path} ended after ${position + filled} of ${size} bytes`);
        filled += bytesRead;
      }
      chunks.push(buffer);
      position += buffer.length;
    }
    return chunks;
  } finally {
    await handle.close();
  }
}
