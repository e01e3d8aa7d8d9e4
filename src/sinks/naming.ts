/**
 * Capture file names from the `general.filename` pattern: strftime fields
 * (always UTC) and {placeholders}, the extension added. Every sink names its
 * files (and S3 its object keys) through captureFileName(), so a name is one
 * safe path component whatever a request carried: nothing a requester sends
 * (node, customer, alert id) can add a directory, a "..", or a leading dot.
 */
import type { CaptureFormat } from '../config/schema.js';
import { tokenize, type Directive, type Placeholder, type Token } from '../config/file-name-pattern.js';

export interface FileNameFields {
  node: string;
  /** The request id: what makes two captures' names differ. */
  id: string;
  alertid?: string | number;
  customer?: string;
  /** The interface name; for a multi-interface pcapng, the names joined with '+'. */
  iface: string;
  segment: number;
  /** True when the capture is cut into segments (so segment 0 is marked too). */
  segmented: boolean;
  time: Date;
}

/** Longest name before the extension; leaves room under NAME_MAX (255) for sinks' suffixes. */
export const MAX_NAME_BYTES = 200;

/** Stands in for an empty optional value until the separators around it are collapsed. */
const EMPTY = '\u0000';

// ---------------------------------------------------------------------------
// Rendering

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

function dayOfYear(time: Date): number {
  const startOfYear = Date.UTC(time.getUTCFullYear(), 0, 1);
  return Math.floor((time.getTime() - startOfYear) / 86_400_000) + 1;
}

function strftime(directive: Directive, time: Date): string {
  switch (directive) {
    case 'Y':
      return pad(time.getUTCFullYear(), 4);
    case 'm':
      return pad(time.getUTCMonth() + 1);
    case 'd':
      return pad(time.getUTCDate());
    case 'H':
      return pad(time.getUTCHours());
    case 'M':
      return pad(time.getUTCMinutes());
    case 'S':
      return pad(time.getUTCSeconds());
    case 'j':
      return pad(dayOfYear(time), 3);
    case 's':
      return String(Math.floor(time.getTime() / 1000));
    case 'F':
      return `${strftime('Y', time)}-${strftime('m', time)}-${strftime('d', time)}`;
    // ':' is outside the safe set (and breaks names on SMB/Windows shares); it becomes '_' when sanitised.
    case 'T':
      return `${strftime('H', time)}:${strftime('M', time)}:${strftime('S', time)}`;
    case '%':
      return '%';
    default: {
      const unreachable: never = directive;
      return unreachable;
    }
  }
}

/** Keeps [A-Za-z0-9._+-]; anything else (a '/', a space, a non-ASCII letter) becomes '_'. */
function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9._+-]/gu, '_');
}

function removeDotRuns(text: string): string {
  return text.replace(/\.{2,}/gu, '');
}

function sanitizeValue(value: string): string {
  return removeDotRuns(sanitize(value));
}

function segmentText(fields: FileNameFields): string {
  return isSegmented(fields) ? pad(fields.segment, 4) : '';
}

function isSegmented(fields: FileNameFields): boolean {
  return fields.segmented || fields.segment > 0;
}

function fieldValue(field: Placeholder, fields: FileNameFields): string {
  switch (field) {
    case 'node':
      return fields.node;
    case 'alertid':
      return fields.alertid === undefined ? '' : String(fields.alertid);
    case 'id':
      return fields.id;
    case 'customer':
      return fields.customer ?? '';
    case 'iface':
      return fields.iface;
    case 'segment':
      return segmentText(fields);
    default: {
      const unreachable: never = field;
      return unreachable;
    }
  }
}

/** One rendered piece of the name; `isId` marks the text that must survive truncation. */
interface Piece {
  text: string;
  isId: boolean;
}

function renderToken(token: Token, fields: FileNameFields): Piece {
  switch (token.kind) {
    // Config validation rejects unknown tokens; should one get through, it stays as (sanitised) text.
    case 'text':
    case 'unknown':
      return { text: sanitize(token.text), isId: false };
    case 'time':
      return { text: sanitize(strftime(token.directive, fields.time)), isId: false };
    case 'field': {
      const value = sanitizeValue(fieldValue(token.field, fields));
      return { text: value === '' ? EMPTY : value, isId: token.field === 'id' };
    }
    default: {
      const unreachable: never = token;
      return unreachable;
    }
  }
}

/**
 * Removes the separators an empty value leaves behind: "a-{alertid}-b" with
 * no alert id gives "a-b", not "a--b"; a leading or trailing one goes.
 * Repeated because "{customer}-{alertid}-x" leaves two empties in a row.
 */
function collapseEmpty(text: string): string {
  let current = text;
  for (;;) {
    const next = current
      .replace(/([-_.])\0+[-_.]/gu, '$1')
      .replace(/^\0+[-_.]/u, '')
      .replace(/[-_.]\0+$/u, '');
    if (next === current) return next.replaceAll(EMPTY, '');
    current = next;
  }
}

/**
 * Cuts a name to `maxBytes` from the middle: the text just before the id goes
 * first, then the end, so the id (the unique part) and the start (node,
 * interface) survive. All characters are ASCII here, so length is bytes.
 */
function truncateKeepingId(name: string, id: string, maxBytes: number): string {
  if (name.length <= maxBytes) return name;
  const idAt = id === '' ? -1 : name.lastIndexOf(id);
  if (idAt < 0 || id.length >= maxBytes) return name.slice(0, maxBytes);
  const after = name.slice(idAt + id.length).slice(0, Math.max(0, maxBytes - id.length));
  const before = name.slice(0, idAt);
  // Keep the separator that sat before the id ("…-r42", not "…nr42").
  const joint = /[-_.+]$/u.test(before) ? before.slice(-1) : '';
  const headBytes = Math.max(0, maxBytes - id.length - after.length - joint.length);
  return before.slice(0, headBytes) + joint + id + after;
}

/** A name that is never empty and never hidden (leading '.') or option-like (leading '-'). */
function finish(name: string, fallback: string): string {
  const trimmed = removeDotRuns(name).replace(/^[.\-_+]+/u, '');
  if (trimmed !== '') return trimmed;
  const id = removeDotRuns(fallback).replace(/^[.\-_+]+/u, '');
  return id === '' ? 'capture' : id;
}

/**
 * The file name for one capture file: the pattern rendered with every value
 * sanitised, at most MAX_NAME_BYTES before the extension, "-s<segment>" added
 * for a segmented capture whose pattern has no {segment}, then ".pcap" or
 * ".pcapng".
 */
export function captureFileName(pattern: string, fields: FileNameFields, format: CaptureFormat): string {
  const tokens = tokenize(pattern);
  const pieces = tokens.map((token) => renderToken(token, fields));
  const hasSegment = tokens.some((token) => token.kind === 'field' && token.field === 'segment');
  const suffix = isSegmented(fields) && !hasSegment ? `-s${pad(fields.segment, 4)}` : '';
  const id = pieces.find((piece) => piece.isId)?.text ?? '';
  const rendered = collapseEmpty(pieces.map((piece) => piece.text).join(''));
  const stem = finish(truncateKeepingId(rendered, id === EMPTY ? '' : id, MAX_NAME_BYTES - suffix.length), sanitizeValue(fields.id));
  return `${stem.slice(0, MAX_NAME_BYTES - suffix.length)}${suffix}.${format}`;
}
