/**
 * The sidecar the local sink writes beside each capture file: a hidden
 * `.<file name>.json` with what the file's name may not carry (the general.filename
 * pattern decides that, and an operator may drop {id} or {iface} from it):
 * the request id, the capture's name, node, interfaces, start time, segment.
 * GET /files filters and describes files by it; a file without one (written
 * before sidecars existed, or its sidecar lost) is still listed and served,
 * with only what the file system says.
 */
import { readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { z } from 'zod';

import { errnoCode } from '../errors.js';
import { CAPTURE_FORMATS } from '../config/schema.js';
import type { DeliverableFile, FinishedCapture } from '../model/finished-capture.js';

const LocalFileMetaSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  node: z.string(),
  interfaces: z.array(z.string()),
  format: z.enum(CAPTURE_FORMATS),
  /** When the capture started (ISO 8601). */
  startedAt: z.string(),
  segment: z.number().int().nonnegative(),
  packets: z.number().int().nonnegative(),
  alertid: z.union([z.string(), z.number()]).optional(),
});

export type LocalFileMeta = z.output<typeof LocalFileMetaSchema>;

/** A sidecar is far smaller than this; a larger one is not pcapd's and is not read. */
const MAX_SIDECAR_BYTES = 64 * 1024;

/** ".<name>.json" beside the file: hidden, so listings and retention never take it for a capture. */
export function sidecarPath(filePath: string): string {
  return join(dirname(filePath), `.${basename(filePath)}.json`);
}

export function sidecarText(capture: FinishedCapture, file: DeliverableFile): string {
  const meta: LocalFileMeta = {
    id: capture.job.id,
    ...(capture.job.name === undefined ? {} : { name: capture.job.name }),
    node: capture.job.node,
    interfaces: [...file.interfaces],
    format: file.format,
    startedAt: capture.startedAt.toISOString(),
    segment: capture.segment,
    packets: file.packets,
    ...(capture.job.alertid === undefined ? {} : { alertid: capture.job.alertid }),
  };
  return `${JSON.stringify(meta)}\n`;
}

/** The sidecar of the capture file at `filePath`; undefined when there is none or it is not one pcapd wrote. */
export async function readSidecar(filePath: string): Promise<LocalFileMeta | undefined> {
  let text: string;
  try {
    text = await readFile(sidecarPath(filePath), 'utf8');
  } catch (err: unknown) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return undefined;
    throw err;
  }
  if (text.length > MAX_SIDECAR_BYTES) return undefined;
  try {
    const parsed = LocalFileMetaSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes a capture file and its sidecar; false when the file was gone
 * already. Whatever deletes capture files under general.localdir goes
 * through here so no sidecar outlives its file.
 */
export async function removeLocalFile(filePath: string): Promise<boolean> {
  let removed = true;
  try {
    await unlink(filePath);
  } catch (err: unknown) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    removed = false;
  }
  try {
    await unlink(sidecarPath(filePath));
  } catch (err: unknown) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  return removed;
}
