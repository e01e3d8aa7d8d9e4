/**
 * The CaptureJob a validated request becomes on this node: its resolved
 * interfaces, filter and folder, the limits it runs with, and what pcapd
 * did not do as asked (notes).
 */
import type { CaptureJob, Clamp, JobFlow, JobInterface, JobRing } from '../model/job.js';
import type { CaptureRequest } from '../model/request.js';
import { limitsOf, lookbackOf } from './limits.js';
import type { Config } from '../config/schema.js';
import { shorten } from '../text.js';
import { ignoredS3Fields } from './s3-fields.js';

export const MAX_TAGS = 64;

function tagsOf(tags: string | undefined): string[] {
  if (tags === undefined) return [];
  return tags
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '')
    .slice(0, MAX_TAGS);
}

export interface JobParts {
  request: CaptureRequest;
  /** What the job takes from the node: its config and name, the listener, and a fresh id when the request has none. */
  ctx: { config: Config; node: string; source: string; newId(): string };
  nowMs: number;
  interfaces: JobInterface[];
  /** Named interfaces this host lacks (src/requests/interfaces.ts). */
  skipped: string[];
  filter: string;
  folder: string | undefined;
  flow: JobFlow | undefined;
  /** The validated name (src/requests/capture-name.ts). */
  name?: string | undefined;
}

export function buildJob(parts: JobParts): CaptureJob {
  const { request, ctx, nowMs, interfaces, filter, folder, flow } = parts;
  const { general } = ctx.config;
  const { limits, snaplenBytes, clamps } = limitsOf(request, general);
  limits.lookbackSeconds = lookbackOf(request, interfaces, flow, ctx.config, nowMs, clamps);
  // A flow capture ends with its flow (native: TCP close, the protocol's idle
  // timeout), so the generic idle timeout is off unless the request sets one.
  if (flow !== undefined && (request.timeout ?? 0) === 0) limits.timeoutSeconds = 0;
  const job: CaptureJob = {
    id: request.id ?? ctx.newId(),
    source: ctx.source,
    receivedAt: new Date(nowMs),
    node: ctx.node,
    request,
    interfaces,
    filter,
    snaplenBytes,
    format: request.format ?? general.format,
    limits,
    clamps,
    tags: tagsOf(request.tags),
    packetDebug: request.packetdebug ?? general.packetdebug,
    logRequest: request.logrequest ?? general.logrequests,
  };
  // exactOptionalPropertyTypes: absent stays absent, never `key: undefined`.
  if (parts.name !== undefined) {
    job.name = parts.name;
    const ring = ringOf(request, general, clamps);
    if (ring !== undefined) job.ring = ring;
  }
  if (request.alertid !== undefined) job.alertid = request.alertid;
  if (request.customer !== undefined) job.customer = request.customer;
  if (folder !== undefined) job.folder = folder;
  if (request.reply !== undefined) job.reply = request.reply;
  if (flow !== undefined) job.flow = flow;
  const notes = notesOf(parts);
  if (notes.length > 0) job.notes = notes;
  return job;
}

/** A named capture's ring: the request's bounds, its bytes clamped to general.maxnamedbytes (which applies alone when the request gives none). */
function ringOf(request: CaptureRequest, general: JobParts['ctx']['config']['general'], clamps: Clamp[]): JobRing | undefined {
  const files = request.ring?.files ?? 0;
  let bytes = request.ring?.bytes ?? 0;
  const max = general.maxnamedbytes;
  if (max > 0 && (bytes === 0 || bytes > max)) {
    if (bytes > max) clamps.push({ field: 'ringbytes', requested: bytes, applied: max });
    bytes = max;
  }
  return files === 0 && bytes === 0 ? undefined : { files, bytes };
}

/** What the request asked that this node does not do, said in the result and the log instead of refused. */
function notesOf({ request, ctx, skipped }: JobParts): string[] {
  const notes: string[] = [];
  if (skipped.length > 0) notes.push(`not on this host, skipped: ${skipped.map((name) => shorten(name)).join(', ')}`);
  const ignored = ignoredS3Fields(request, ctx.config);
  if (ignored.length > 0) notes.push(`S3 is not enabled here (s3.upload = false): ${ignored.join(', ')} ignored`);
  return notes;
}
