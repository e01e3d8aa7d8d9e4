/**
 * GET /files and GET /files/<path>: browse and download what the local sink
 * wrote under general.localdir and still holds, after a capture has left
 * memory. Listings are paged (limit, cursor) and each page looks at a bounded
 * number of files; downloads stream from disk with single-range support, so a
 * client can resume or fetch a slice of a large capture.
 *
 * A download path is judged on the raw URL, before any decoding could turn
 * "%2e%2e" or "%2f" into "..", "/" (local-files.ts then checks the decoded
 * text and where the path really leads).
 */
import { basename } from 'node:path';

import type { FastifyReply } from 'fastify';

import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import { CONTENT_TYPES } from '../model/finished-capture.js';
import { capturePathProblem, listLocalFiles, openCaptureFile, type FileQuery, type LocalFile, type OpenedCaptureFile } from '../sinks/local-files.js';
import { sendError } from './reply.js';

export const FILES_DEFAULT_LIMIT = 100;
export const FILES_MAX_LIMIT = 1000;

/** The query parameters GET /files takes; any other is refused, so a typo is not a silently ignored filter. */
const LIST_PARAMETERS = ['id', 'name', 'interface', 'from', 'to', 'limit', 'cursor'] as const;
type ListParameter = (typeof LIST_PARAMETERS)[number];

const FILES_PREFIX = '/files/';

function invalid(message: string): PcapdError {
  return new PcapdError('PCAPD_ERR_REQUEST_INVALID', message);
}

function oneValue(query: Record<string, unknown>, key: ListParameter): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`?${key} is given more than once`);
  return value;
}

function timeMs(query: Record<string, unknown>, key: 'from' | 'to'): number | undefined {
  const text = oneValue(query, key);
  if (text === undefined) return undefined;
  // ISO 8601 with a date; Date.parse alone would take "1" or "May 5".
  const ms = /^\d{4}-\d{2}-\d{2}/u.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw invalid(`?${key} is not an ISO 8601 time (such as 2026-05-04T12:00:00Z): ${JSON.stringify(text.slice(0, 64))}`);
  return ms;
}

function limitOf(query: Record<string, unknown>): number {
  const text = oneValue(query, 'limit');
  if (text === undefined) return FILES_DEFAULT_LIMIT;
  const limit = /^\d{1,7}$/u.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= FILES_MAX_LIMIT)) throw invalid(`?limit must be 1 to ${FILES_MAX_LIMIT} (got ${JSON.stringify(text.slice(0, 32))})`);
  return limit;
}

/** A cursor is the last path a page looked at, base64url: opaque to clients, checked like any path when it comes back. */
export function encodeCursor(path: string): string {
  return Buffer.from(path, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const path = /^[A-Za-z0-9_-]{1,5600}$/u.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (capturePathProblem(path) !== undefined) throw invalid('?cursor is not one a GET /files page gave');
  return path;
}

export function fileQueryOf(query: Record<string, unknown>): FileQuery {
  const unknown = Object.keys(query).filter((key) => !(LIST_PARAMETERS as readonly string[]).includes(key));
  if (unknown.length > 0) throw invalid(`GET /files takes no ?${unknown[0]?.slice(0, 32)} (it takes ${LIST_PARAMETERS.join(', ')})`);
  const id = oneValue(query, 'id');
  const name = oneValue(query, 'name');
  const iface = oneValue(query, 'interface');
  const fromMs = timeMs(query, 'from');
  const toMs = timeMs(query, 'to');
  const cursor = oneValue(query, 'cursor');
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) throw invalid('?from is after ?to');
  return {
    limit: limitOf(query),
    ...(id === undefined ? {} : { id }),
    ...(name === undefined ? {} : { name }),
    ...(iface === undefined ? {} : { iface }),
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
    ...(cursor === undefined ? {} : { after: decodeCursor(cursor) }),
  };
}

/**
 * The relative path in a download URL, decoded. Encoded dots, slashes,
 * backslashes and NULs are refused outright: no capture file name needs
 * them, and they are how a ".." or an absolute path is smuggled past a check
 * made on the decoded text.
 */
export function downloadPathOf(url: string): string {
  const raw = url.slice(FILES_PREFIX.length).split('?')[0] ?? '';
  const encoded = /%(2e|2f|5c|00)/iu.exec(raw);
  if (encoded)
    throw new PcapdError(
      'PCAPD_ERR_PATH_INVALID',
      `the path carries an encoded "${decodeURIComponent(encoded[0]).replace('\0', '\\0')}" (${encoded[0]}); give it plain, as GET /files lists it`,
    );
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new PcapdError('PCAPD_ERR_PATH_INVALID', 'the path has a broken %-escape');
  }
}

export type ByteRange = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * A Range header against a file of `size` bytes (RFC 9110 §14). One range
 * is served; a header with several, or one that is not valid, is ignored and
 * the whole file sent, as the RFC allows.
 */
export function byteRange(header: string | undefined, size: number): ByteRange {
  const match = /^bytes=(\d*)-(\d*)$/u.exec(header?.trim() ?? '');
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '') {
    if (last === '') return { kind: 'full' };
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/** Streams an opened capture file, whole or the one range asked; the stream closes the handle. */
export async function sendCaptureFile(reply: FastifyReply, file: OpenedCaptureFile, rangeHeader: string | undefined): Promise<FastifyReply> {
  const range = byteRange(rangeHeader, file.bytes);
  reply.header('accept-ranges', 'bytes');
  if (range.kind === 'unsatisfiable') {
    await file.handle.close();
    reply.header('content-range', `bytes */${file.bytes}`);
    return sendError(
      reply,
      'PCAPD_ERR_RANGE_NOT_SATISFIABLE',
      `Range ${JSON.stringify(rangeHeader?.slice(0, 64))} asks for no byte of this ${file.bytes}-byte file`,
    );
  }
  try {
    reply
      .header('content-type', CONTENT_TYPES[file.format])
      .header('last-modified', new Date(file.mtimeMs).toUTCString())
      .header('content-disposition', `attachment; filename="${basename(file.path)}"`);
    if (range.kind === 'full') return await reply.header('content-length', file.bytes).send(file.handle.createReadStream({ autoClose: true }));
    return await reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${file.bytes}`)
      .header('content-length', range.end - range.start + 1)
      .send(file.handle.createReadStream({ start: range.start, end: range.end, autoClose: true }));
  } catch (err: unknown) {
    await file.handle.close().catch(() => undefined);
    throw err;
  }
}

/** GET /files: one page of the listing, with the cursor of the next. */
export async function listFiles(config: Config, query: Record<string, unknown>): Promise<{ files: LocalFile[]; next?: string }> {
  const page = await listLocalFiles(config.general.localdir, fileQueryOf(query));
  return page.next === undefined ? { files: page.files } : { files: page.files, next: encodeCursor(page.next) };
}

/** GET /files/<path>: the file, whole or the range asked. */
export async function downloadFile(config: Config, url: string, range: string | undefined, reply: FastifyReply): Promise<FastifyReply> {
  return sendCaptureFile(reply, await openCaptureFile(config.general.localdir, downloadPathOf(url)), range);
}
