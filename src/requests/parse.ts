/**
 * parseRequest(): one raw message from any listener -> a CaptureJob for this
 * node, `ignored` when it targets another node, or a PcapdError with a stable
 * code. Everything is checked before anything is opened: pcapdaemon crashed
 * or leaked handles on requests it should have refused up front.
 */
import type { z } from 'zod';

import { validateFilter } from '../capture/devices.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { warmEntryOf } from '../config/warm.js';
import { PcapdError } from '../errors.js';
import { jsonPointer, valueAt } from '../json.js';
import { parseDestination, unreachableReason } from '../results/destination.js';
import { s3OverrideProblems } from '../sinks/s3-destination.js';
import { shorten } from '../text.js';
import { quoteFlowIds } from './eve-message.js';
import { checkFilterSize } from './filter-size.js';
import { checkFolder } from './folder.js';
import { flowInterfaceChoice, flowLookbackSeconds, flowNodeTarget, flowRequestOf } from './flow-request.js';
import { interfaceChoiceOf, resolveInterfaces } from './interfaces.js';
import type { CaptureJob, Clamp, JobFlow, JobInterface, JobLimits } from './job.js';
import { matchesNode, nodeTargetOf } from './node-match.js';
import { CaptureRequestSchema, requestJsonSchema, type CaptureRequest } from './schema.js';
import { checkSignedFreshness, openRequest } from './signature.js';

export interface ParseContext {
  config: Config;
  /** This node's name, matched by node / nodere. */
  node: string;
  /** The listener that delivered the message: "http", "redis", "kafka", "sqs". */
  source: string;
  clock: Clock;
  interfaceExists(name: string): boolean;
  newId(): string;
}

export type ParseResult = { kind: 'accepted'; job: CaptureJob } | { kind: 'ignored'; why: 'other-node' };

/** Clock skew tolerated for timestamps in the future. */
export const FUTURE_SKEW_SECONDS = 60;
export const MAX_TAGS = 64;

/** Throws PcapdError when the request is refused. */
export function parseRequest(body: string | Buffer, ctx: ParseContext): ParseResult {
  const { config } = ctx;
  const nowMs = ctx.clock.nowMs();
  const opened = openRequest(parseJsonObject(decodeBody(body, config.general.maxrequestbytes)), config.signing, parseJsonObject);
  const request = validateRequest(opened.raw);
  if (opened.signed) checkSignedFreshness(request, config.signing.window, nowMs);
  const flowRequest = flowRequestOf(request, config);
  const alert = flowRequest?.flow.alert;
  const target = alert === undefined ? nodeTargetOf(request) : flowNodeTarget(request, alert, config);
  const interfaceExists = ctx.interfaceExists.bind(ctx);
  // A request that names no interface is refused whichever node it targets.
  if (alert === undefined) interfaceChoiceOf(request);
  if (!matchesNode(target, ctx.node)) return { kind: 'ignored', why: 'other-node' };
  checkFreshness(request.timestamp, config.general.staleafter, nowMs);
  const choice = alert === undefined ? interfaceChoiceOf(request) : flowInterfaceChoice(request, alert, config, interfaceExists);
  const interfaces = resolveInterfaces(choice, config, interfaceExists);
  const filter = flowRequest?.filter ?? request.bpf ?? '';
  checkFilterSize(filter);
  validateFilter(filter);
  // pcapdaemon clients send "" for "no folder" (Go's zero value).
  const folder = request.folder === undefined || request.folder === '' ? undefined : checkFolder(request.folder);
  checkS3Overrides(request, config);
  if (request.reply !== undefined) checkReply(request.reply, config);
  else if (request.replyon !== undefined) {
    throw new PcapdError('PCAPD_ERR_REPLY_INVALID', '/replyon: says which events go to reply, and the request has no reply');
  }
  return { kind: 'accepted', job: buildJob({ request, ctx, nowMs, interfaces, filter, folder, flow: flowRequest?.flow }) };
}

// --- a, b: size and JSON ------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeBody(body: string | Buffer, maxBytes: number): string {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (bytes > maxBytes) {
    throw new PcapdError(
      'PCAPD_ERR_REQUEST_TOO_LARGE',
      `the request is ${bytes} bytes; general.maxrequestbytes allows ${maxBytes}`,
    );
  }
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch (err: unknown) {
    throw new PcapdError('PCAPD_ERR_REQUEST_JSON', 'the request is not valid UTF-8 (JSON must be UTF-8)', {
      cause: err,
    });
  }
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(quoteFlowIds(text));
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PcapdError('PCAPD_ERR_REQUEST_JSON', `the request is not valid JSON: ${reason}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PcapdError('PCAPD_ERR_REQUEST_JSON', `the request must be a JSON object, got ${jsonType(value)}`);
  }
  return value as Record<string, unknown>;
}

// --- c: schema ----------------------------------------------------------------

type Issue = z.core.$ZodIssue;

/**
 * pcapdaemon's clients are Go programs whose zero values ("" and []) mean
 * "not set" (its struct tags are omitempty), and null decodes to them; treat
 * them so here, before the schema, so `{"node": "", "nodere": "^s"}` is a
 * nodere request and `{"bucket": null}` names no bucket.
 */
const UNSET_WHEN_EMPTY = ['node', 'nodere', 'interface', 'alias', 'folder', 'bucket', 'acl', 'region', 'endpoint'] as const;

function withoutEmptyFields(raw: Record<string, unknown>): Record<string, unknown> {
  const out = { ...raw };
  // Go decodes JSON null into the zero value: pcapdaemon read a null field as absent.
  for (const [key, value] of Object.entries(out)) if (value === null) delete out[key];
  for (const key of UNSET_WHEN_EMPTY) {
    const value = out[key];
    if (value === '' || (Array.isArray(value) && value.length === 0)) delete out[key];
  }
  return out;
}

function validateRequest(raw: Record<string, unknown>): CaptureRequest {
  const result = CaptureRequestSchema.safeParse(withoutEmptyFields(raw));
  if (result.success) return result.data;
  throw issueError(firstIssue(result.error.issues), raw);
}

/**
 * One issue, chosen the same way whatever order the sender wrote its keys in:
 * unknown fields first (a typo is the likeliest cause of the rest), then the
 * schema's own field order.
 */
function firstIssue(issues: readonly Issue[]): Issue {
  return issues.find((issue) => issue.code === 'unrecognized_keys') ?? (issues[0] as Issue);
}

function issueError(issue: Issue, raw: unknown): PcapdError {
  if (issue.code === 'unrecognized_keys') {
    const key = [...issue.keys].sort()[0] ?? '';
    return new PcapdError('PCAPD_ERR_REQUEST_UNKNOWN_FIELD', `${jsonPointer([...issue.path, key])}: unknown field`);
  }
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  const schema = jsonSchemaAt(path);
  if (schema === undefined) {
    return new PcapdError('PCAPD_ERR_REQUEST_INVALID', `${jsonPointer(path)}: ${issue.message}`);
  }
  const value = valueAt(raw, path);
  const expected = describeSchema(schema);
  const got = fitsType(schema, value) ? describeValue(value, issue.code) : jsonType(value);
  return new PcapdError('PCAPD_ERR_REQUEST_INVALID', `${jsonPointer(path)}: expected ${expected}, got ${got}`);
}



// The request's published JSON Schema is the one description of what each
// field accepts, so messages quote it rather than zod's wording.
type JsonSchema = Record<string, unknown>;
let requestSchema: JsonSchema | undefined;

function jsonSchemaAt(path: ReadonlyArray<string | number>): JsonSchema | undefined {
  requestSchema ??= requestJsonSchema();
  let schema: JsonSchema | undefined = requestSchema;
  for (const segment of path) {
    const next: unknown =
      typeof segment === 'number' ? schema?.['items'] : (schema?.['properties'] as JsonSchema | undefined)?.[segment];
    schema = isRecord(next) ? next : undefined;
  }
  return schema;
}

function describeSchema(schema: JsonSchema): string {
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf)) return anyOf.filter(isRecord).map(describeSchema).join(' or ');
  const values = schema['enum'];
  if (Array.isArray(values)) return `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  switch (schema['type']) {
    case 'integer':
      return `an integer${numberRange(schema)}`;
    case 'number':
      return `a number${numberRange(schema)}`;
    case 'string':
      return describeString(schema);
    case 'boolean':
      return 'true or false';
    case 'array':
      return `an array of ${countRange(schema['minItems'], schema['maxItems'], 'item')}`;
    case 'object':
      return 'an object';
    default:
      return 'a valid value';
  }
}

function numberRange(schema: JsonSchema): string {
  const parts: string[] = [];
  const { minimum, exclusiveMinimum, maximum } = schema;
  // zod adds the safe-integer range to every integer; it says nothing to a user.
  if (typeof minimum === 'number' && minimum > Number.MIN_SAFE_INTEGER) parts.push(`>= ${minimum}`);
  if (typeof exclusiveMinimum === 'number') parts.push(`> ${exclusiveMinimum}`);
  if (typeof maximum === 'number' && maximum < Number.MAX_SAFE_INTEGER) parts.push(`<= ${maximum}`);
  return parts.length === 0 ? '' : ` ${parts.join(' and ')}`;
}

function describeString(schema: JsonSchema): string {
  if (schema['format'] === 'date-time') return 'an ISO 8601 date-time with a UTC offset (2024-05-01T12:00:00Z)';
  const pattern = schema['pattern'];
  if (typeof pattern === 'string') return `a string matching /${pattern}/`;
  const { minLength, maxLength } = schema;
  if (minLength === undefined && maxLength === undefined) return 'a string';
  return `a string of ${countRange(minLength ?? 0, maxLength, 'character')}`;
}

function countRange(min: unknown, max: unknown, unit: string): string {
  const lo = typeof min === 'number' ? min : 0;
  const plural = (n: number): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (typeof max !== 'number') return `at least ${plural(lo)}`;
  return lo === 0 ? `at most ${plural(max)}` : `${lo} to ${plural(max)}`;
}

/** Does the value have a JSON type the schema allows (so the value, not its type, is wrong)? */
function fitsType(schema: JsonSchema, value: unknown): boolean {
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf)) return anyOf.filter(isRecord).some((option) => fitsType(option, value));
  const type = schema['type'] === 'integer' ? 'number' : schema['type'];
  return type === undefined || type === jsonType(value);
}

function describeValue(value: unknown, code: Issue['code']): string {
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    const length = code === 'too_big' || code === 'too_small';
    return length ? `${value.length} characters` : JSON.stringify(shorten(value));
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `${value.length} items`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isRecord(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}


// --- f: stale -----------------------------------------------------------------

function checkFreshness(timestamp: number | string | undefined, staleAfterSeconds: number, nowMs: number): void {
  if (timestamp === undefined || staleAfterSeconds <= 0) return;
  const sentMs = typeof timestamp === 'number' ? timestamp * 1000 : Date.parse(timestamp);
  if (Number.isNaN(sentMs)) {
    throw new PcapdError('PCAPD_ERR_REQUEST_INVALID', `/timestamp: ${JSON.stringify(timestamp)} is not a date`);
  }
  const ageSeconds = Math.round((nowMs - sentMs) / 1000);
  if (ageSeconds > staleAfterSeconds) {
    throw new PcapdError(
      'PCAPD_ERR_REQUEST_STALE',
      `the request is ${ageSeconds} s old; general.staleafter drops requests older than ${staleAfterSeconds} s`,
    );
  }
  if (-ageSeconds > FUTURE_SKEW_SECONDS) {
    // A millisecond epoch read as seconds lands tens of thousands of years ahead.
    const looksLikeMs = typeof timestamp === 'number' && timestamp > 1e11;
    const hint = looksLikeMs ? ' (timestamp is epoch seconds, not milliseconds)' : '';
    throw new PcapdError(
      'PCAPD_ERR_REQUEST_STALE',
      `the request is ${-ageSeconds} s in the future, beyond the ${FUTURE_SKEW_SECONDS} s allowed for clock skew; ` +
        `check the sender's clock${hint}`,
    );
  }
}

// --- j: S3 overrides ----------------------------------------------------------

/**
 * Per-request S3 destinations (bucket, region, endpoint, acl) that differ from
 * the configured ones are honoured only within the [s3] allowlists (allowbuckets, allowregions,
 * allowendpoints, allowacls; empty lists allow nothing); pcapdaemon used any
 * endpoint a message named, with the configured credentials. `encryption`
 * only hardens the destination and is always accepted. An empty string is no
 * override (pcapdaemon clients send Go's zero value). Every refused override
 * is named in the one error.
 */
export function checkS3Overrides(request: CaptureRequest, config: Config): void {
  // With S3 off these fields steer nothing: ignored (and said so in the job's notes), not refused.
  if (!config.s3.upload) return;
  const problems = s3OverrideProblems(request, config.s3);
  if (problems.length === 0) return;
  throw new PcapdError('PCAPD_ERR_OVERRIDE_NOT_ALLOWED', `per-request S3 override refused: ${problems.join('; ')}`);
}

// --- reply: where the result event goes (src/results/) -------------------------

/** `reply` must be well formed and reachable from this configuration. */
export function checkReply(reply: string, config: Config): void {
  const destination = parseDestination(reply);
  const problem = typeof destination === 'string' ? destination : unreachableReason(destination, config);
  if (problem !== undefined) throw new PcapdError('PCAPD_ERR_REPLY_INVALID', `/reply: ${problem}`);
}

// --- k: limits ----------------------------------------------------------------

interface LimitRule {
  field: Clamp['field'];
  /** Used when the request leaves the limit out or sends 0 (pcapdaemon semantics). */
  fallback: number;
  max: number;
}

function applyLimit(requested: number | undefined, rule: LimitRule, clamps: Clamp[]): number {
  // A default above its maximum is a config inconsistency, not the request's doing: no clamp recorded.
  if (requested === undefined || requested === 0) return Math.min(rule.fallback, rule.max);
  if (requested <= rule.max) return requested;
  clamps.push({ field: rule.field, requested, applied: rule.max });
  return rule.max;
}

function limitsOf(
  request: CaptureRequest,
  general: Config['general'],
): { limits: JobLimits; snaplenBytes: number; clamps: Clamp[] } {
  const clamps: Clamp[] = [];
  const limit = (requested: number | undefined, field: Clamp['field'], fallback: number, max: number): number =>
    applyLimit(requested, { field, fallback, max }, clamps);
  const g = general;
  const limits: JobLimits = {
    packets: limit(request.packets, 'packets', g.maxpackets, g.maxpackets),
    bytes: limit(request.bytes, 'bytes', g.maxbytes, g.maxbytes),
    durationSeconds: limit(request.duration, 'duration', g.maxduration, g.maxduration),
    timeoutSeconds: limit(request.timeout, 'timeout', g.defaulttimeout, g.maxtimeout),
    segmentSeconds: request.segment?.seconds ?? 0,
    segmentBytes: request.segment?.bytes ?? 0,
    lookbackSeconds: 0,
  };
  const snaplenBytes = limit(request.snap, 'snap', g.snaplength, g.maxsnaplength);
  return { limits, snaplenBytes, clamps };
}

// --- l: the job ---------------------------------------------------------------

function tagsOf(tags: string | undefined): string[] {
  if (tags === undefined) return [];
  return tags
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '')
    .slice(0, MAX_TAGS);
}

interface JobParts {
  request: CaptureRequest;
  ctx: ParseContext;
  nowMs: number;
  interfaces: JobInterface[];
  filter: string;
  folder: string | undefined;
  flow: JobFlow | undefined;
}

/**
 * Lookback is served from a warm interface's ring: a request for it must name
 * exactly one interface, and that one warm. It is clamped to
 * general.maxlookback and to what the ring keeps (lookbackseconds). A flow
 * capture that asks none starts back at its flow's start where a ring is.
 */
function lookbackOf(parts: JobParts, clamps: Clamp[]): number {
  const { request, interfaces, flow, nowMs } = parts;
  const { config } = parts.ctx;
  const asked = request.lookback ?? 0;
  if (asked === 0 && flow === undefined) return 0;
  const [only] = interfaces;
  const warm = interfaces.length === 1 && only !== undefined ? warmEntryOf(config, only.name) : undefined;
  if (asked === 0) return warm === undefined || flow === undefined ? 0 : flowLookbackSeconds(flow.alert, config, nowMs, warm.lookbackseconds);
  if (warm === undefined) {
    const named = interfaces.map((iface) => iface.name).join(', ');
    throw new PcapdError(
      'PCAPD_ERR_LOOKBACK_NOT_WARM',
      interfaces.length === 1
        ? `/lookback: interface ${named} is not warm, so no packets from before the request are kept (mark it warm in an [[interface]] block)`
        : `/lookback: needs exactly one warm interface, the request names ${interfaces.length} (${named})`,
    );
  }
  return applyLimit(asked, { field: 'lookback', fallback: 0, max: Math.min(config.general.maxlookback, warm.lookbackseconds) }, clamps);
}

function buildJob(parts: JobParts): CaptureJob {
  const { request, ctx, nowMs, interfaces, filter, folder, flow } = parts;
  const { general } = ctx.config;
  const { limits, snaplenBytes, clamps } = limitsOf(request, general);
  limits.lookbackSeconds = lookbackOf(parts, clamps);
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
  if (request.alertid !== undefined) job.alertid = request.alertid;
  if (request.customer !== undefined) job.customer = request.customer;
  if (folder !== undefined) job.folder = folder;
  if (request.reply !== undefined) job.reply = request.reply;
  if (flow !== undefined) job.flow = flow;
  const ignored = ignoredS3Fields(request, ctx.config);
  if (ignored.length > 0) job.notes = [`S3 is not enabled here (s3.upload = false): ${ignored.join(', ')} ignored`];
  return job;
}

const S3_FIELDS = ['bucket', 'acl', 'region', 'endpoint', 'encryption'] as const;

/** The S3 fields a request sets while S3 is off: pcapdaemon's messages carry them whatever the sink. */
function ignoredS3Fields(request: CaptureRequest, config: Config): string[] {
  if (config.s3.upload) return [];
  return S3_FIELDS.filter((field) => request[field] !== undefined && request[field] !== '' && request[field] !== false);
}
