/**
 * The fuzz targets: each entry point's parsing and validation, driven with
 * the arbitraries of fuzz/arbitraries.ts, and the property every case must
 * keep: it ends in an accepted request (whose invariants are checked) or in a
 * rejection carrying one of ERROR_CODES, never an unexpected exception, and
 * over HTTP never a 5xx other than admission's 503.
 *
 * The code under test is the real one: parseRequest and the Intake with the
 * real Scheduler capturing on loopback with the native core (maxduration = 1,
 * two slots, no queue, so a flood of accepted requests ends in admission's
 * refusal), the real fastify app through inject(), libpcap as the BPF
 * validator, RE2 for nodere, smol-toml and the config schema for config files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';

import fc from 'fast-check';
import pino from 'pino';
import { stringify } from 'smol-toml';

import { validateFilter } from '../src/capture/devices.js';
import { capturePermission } from '../src/capture/permission.js';
import { systemClock } from '../src/clock.js';
import { buildConfig, loadConfigFile, redactConfig } from '../src/config/load.js';
import { isLoopbackHost } from '../src/config/cross-checks.js';
import { ConfigSchema, type Config } from '../src/config/schema.js';
import { lookbackRingBytes } from '../src/config/warm.js';
import { ERROR_CODES, isErrorCode, PcapdError, type ErrorCode } from '../src/errors.js';
import { parseEveAlert } from '../src/flows/eve.js';
import { flowFilter } from '../src/flows/flow-filter.js';
import { buildApi } from '../src/http/api.js';
import type { IntakeResult, RawRequest } from '../src/requests/intake-contract.js';
import { Metrics } from '../src/metrics/metrics.js';
import { eveMessageOf } from '../src/requests/eve-message.js';
import { Intake } from '../src/requests/intake.js';
import type { CaptureJob } from '../src/model/job.js';
import { matchesNode, nodeTargetOf } from '../src/requests/node-match.js';
import { parseRequest, type ParseContext } from '../src/requests/parse.js';
import { MAX_TAGS } from '../src/requests/build-job.js';
import { CaptureRequestSchema, REQUEST_ID_PATTERN } from '../src/model/request.js';
import { signatureOf } from '../src/requests/signature.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import {
  ALIASES,
  ALLOWED_BUCKETS,
  envelope,
  eveEvent,
  eveLine,
  nearlyValidEve,
  HTTP_TOKEN,
  httpCase,
  IFACE,
  jsonText,
  NODE,
  nastyJson,
  nastyNumber,
  nastyString,
  renderBody,
  renderEnvelope,
  requestBody,
  resolveTimes,
  SIGNING_SECRETS,
  bodyMutation,
  type Body,
  type Envelope,
  type HttpCase,
  type JsonText,
} from './arbitraries.js';

/** How a case ended, when it ended as it may. */
export type Outcome = { kind: 'accepted' | 'ignored' | 'duplicate' | 'merged' } | { kind: 'rejected'; code: ErrorCode };

export interface Target<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws when the case breaks the property (a crash); otherwise how it ended. */
  run(input: T): Promise<Outcome>;
}

/** A property broken by pcapd: an unexpected exception, a bad status, a broken invariant. */
export class Crash extends Error {
  override readonly name = 'Crash';
}

// --- configuration ----------------------------------------------------------------

const LOCAL_ROOT = '/var/tmp/pcapd-fuzz/captures';

/** The [general] section every fuzz config shares: small limits, so clamping is exercised and captures end fast. */
const GENERAL = `
[general]
node = "${NODE}"
maxpackets = 1000
maxbytes = 1000000
maxduration = 1
defaulttimeout = 1
maxtimeout = 5
snaplength = 1500
maxsnaplength = 9000
maxrequestbytes = 4096
staleafter = 300
maxlookback = 20
localdir = "${LOCAL_ROOT}"
`;

const INTERFACES = (warm: boolean): string => `
[[interface]]
name = "${IFACE}"
alias = [${ALIASES.map((alias) => `"${alias}"`).join(', ')}]
warm = ${warm}
lookbackseconds = 10
lookbackbytes = 1048576
bufferbytes = 1048576
`;

const SIGNING = (required: boolean): string => `
[signing]
secrets = [${SIGNING_SECRETS.map((secret) => `"${secret}"`).join(', ')}]
required = ${required}
window = 300
`;

/** The configurations requests are parsed against: plain; S3 and reply destinations on; signing required with warm lookback and flows. */
const PARSE_CONFIG_TEXTS = [
  GENERAL + INTERFACES(false),
  GENERAL +
    INTERFACES(false) +
    `
[s3]
upload = true
bucket = "${ALLOWED_BUCKETS[0]}"
region = "us-east-1"
allowbuckets = ["${ALLOWED_BUCKETS[1]}"]
allowregions = ["eu-west-1"]
allowendpoints = ["http://127.0.0.1:7070"]
allowacls = ["private"]
[redis]
listen = true
[kafka]
listen = true
[sqs]
listen = true
url = "http://127.0.0.1:9324/000000000000/requests"
region = "us-east-1"
`,
  GENERAL +
    INTERFACES(true) +
    SIGNING(true) +
    `
[flows]
interface = "local"
matchhost = false
`,
] as const;

export const PARSE_CONFIGS: readonly Config[] = PARSE_CONFIG_TEXTS.map((text, i) => buildConfig(text, `fuzz-parse-${i}.toml`));
/** Signed requests checked, unsigned ones accepted. */
const SIGNING_OPTIONAL_CONFIG = buildConfig(GENERAL + INTERFACES(false) + SIGNING(false), 'fuzz-signing-optional.toml');

function parseContext(config: Config, source: string): ParseContext {
  let ids = 0;
  return {
    config,
    node: NODE,
    source,
    clock: systemClock,
    interfaceExists: (name) => name === IFACE,
    newId: () => `fuzz-${++ids}`,
  };
}

// --- the outcome of a call into pcapd ------------------------------------------------

/** A thrown value is a coded rejection only when it is a PcapdError with a listed code. */
function rejection(err: unknown, what: string): Outcome {
  if (err instanceof Crash) throw err;
  if (err instanceof PcapdError && isErrorCode(err.code)) return { kind: 'rejected', code: err.code };
  const detail = err instanceof Error ? `${err.name}${'code' in err ? ` (code ${String(err.code)})` : ''}: ${err.message}\n${err.stack ?? ''}` : String(err);
  throw new Crash(`${what} threw an unexpected exception: ${detail}`);
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Crash(`invariant broken: ${message}`);
}

// --- invariants of an accepted request -------------------------------------------------

const REQUEST_KEYS = new Set(Object.keys(CaptureRequestSchema.shape));
const FOLDER_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** What must hold for every job pcapd accepts, whatever the request said. */
export function checkJob(job: CaptureJob, config: Config, opts: { signed?: boolean } = {}): void {
  const g = config.general;
  const { limits } = job;
  check(Number.isSafeInteger(limits.packets) && limits.packets >= 1 && limits.packets <= g.maxpackets, `packets ${limits.packets} outside 1..${g.maxpackets}`);
  check(Number.isSafeInteger(limits.bytes) && limits.bytes >= 1 && limits.bytes <= g.maxbytes, `bytes ${limits.bytes} outside 1..${g.maxbytes}`);
  check(
    Number.isSafeInteger(limits.durationSeconds) && limits.durationSeconds >= 1 && limits.durationSeconds <= g.maxduration,
    `duration ${limits.durationSeconds} outside 1..${g.maxduration}`,
  );
  check(
    Number.isSafeInteger(limits.timeoutSeconds) && limits.timeoutSeconds >= 0 && limits.timeoutSeconds <= g.maxtimeout,
    `timeout ${limits.timeoutSeconds} outside 0..${g.maxtimeout}`,
  );
  check(
    Number.isSafeInteger(job.snaplenBytes) && job.snaplenBytes >= 1 && job.snaplenBytes <= g.maxsnaplength,
    `snap ${job.snaplenBytes} outside 1..${g.maxsnaplength}`,
  );
  check(limits.lookbackSeconds >= 0 && limits.lookbackSeconds <= g.maxlookback, `lookback ${limits.lookbackSeconds} beyond maxlookback ${g.maxlookback}`);
  check(limits.segmentBytes === 0 || limits.segmentBytes >= 4096, `segment bytes ${limits.segmentBytes}`);
  for (const clamp of job.clamps) check(clamp.applied < clamp.requested, `clamp ${JSON.stringify(clamp)} raised a limit`);
  check(job.interfaces.length >= 1, 'no interface');
  check(new Set(job.interfaces.map((iface) => iface.name)).size === job.interfaces.length, 'an interface twice');
  for (const iface of job.interfaces) check(iface.name === IFACE, `interface ${JSON.stringify(iface.name)} does not exist`);
  check(job.tags.length <= MAX_TAGS && job.tags.every((tag) => tag !== '' && tag === tag.trim()), `tags ${JSON.stringify(job.tags.slice(0, 5))}`);
  check(job.id.startsWith('fuzz-') || REQUEST_ID_PATTERN.test(job.id), `id ${JSON.stringify(job.id)}`);
  check(
    Object.keys(job.request).every((key) => REQUEST_KEYS.has(key)),
    `unknown field kept: ${Object.keys(job.request).join(',')}`,
  );
  check(
    matchesNode(
      job.flow === undefined || job.request.node !== undefined || job.request.nodere !== undefined ? nodeTargetOf(job.request) : { kind: 'node', node: 'any' },
      NODE,
    ),
    'request for another node accepted',
  );
  checkFolder(job.folder, g.localdir);
  // The filter the capture will install compiles (flow captures derive theirs from the alert).
  validateFilter(job.filter);
  if (config.s3.upload) checkS3(job, config);
  if (config.signing.required) check(opts.signed === true, 'an unsigned request accepted while signing is required');
  if (job.reply !== undefined) check(/^(redis|kafka|sqs):./.test(job.reply), `reply ${JSON.stringify(job.reply)}`);
}

function checkFolder(folder: string | undefined, root: string): void {
  if (folder === undefined) return;
  check(!isAbsolute(folder), `folder ${JSON.stringify(folder)} is absolute`);
  const segments = folder.split('/');
  check(
    segments.every((s) => FOLDER_SEGMENT.test(s) && s !== '.' && s !== '..'),
    `folder ${JSON.stringify(folder)} has a bad segment`,
  );
  check(resolve(root, folder).startsWith(root + sep), `folder ${JSON.stringify(folder)} leaves ${root}`);
}

function checkS3(job: CaptureJob, config: Config): void {
  const { bucket, region, endpoint, acl } = job.request;
  const s3 = config.s3;
  const ok = (value: string | undefined, configured: string | undefined, allowed: readonly string[]): boolean =>
    value === undefined || value === '' || value === configured || allowed.includes(value);
  check(ok(bucket, s3.bucket, s3.allowbuckets), `bucket ${JSON.stringify(bucket)} not allowed`);
  check(ok(region, s3.region, s3.allowregions), `region ${JSON.stringify(region)} not allowed`);
  check(ok(acl, s3.acl, s3.allowacls), `acl ${JSON.stringify(acl)} not allowed`);
  check(
    endpoint === undefined || endpoint === '' || s3.allowendpoints.some((allowed) => new URL(allowed).origin === new URL(endpoint).origin),
    `endpoint ${JSON.stringify(endpoint)} not allowed`,
  );
}

// --- targets ----------------------------------------------------------------------------

const SOURCES = ['http', 'redis', 'kafka', 'sqs'] as const;

/** parseRequest as every listener calls it, against each fuzz configuration. */
export const requestTarget: Target<{ body: Body; config: number; source: (typeof SOURCES)[number] }> = {
  name: 'request',
  // The signing-required config mostly refuses unsigned requests: the signature target covers it.
  arbitrary: fc.record({ body: requestBody, config: fc.constantFrom(0, 0, 1, 1, 2), source: fc.constantFrom(...SOURCES) }),
  async run({ body, config: index, source }) {
    const config = PARSE_CONFIGS[index] as Config;
    const raw = renderBody(body, config.general.maxrequestbytes, Date.now());
    let job: CaptureJob;
    try {
      const parsed = parseRequest(raw, parseContext(config, source));
      if (parsed.kind === 'ignored') return { kind: 'ignored' };
      job = parsed.job;
    } catch (err: unknown) {
      return rejection(err, 'parseRequest');
    }
    checkJob(job, config);
    return { kind: 'accepted' };
  },
};

/** Signed envelopes: HMAC, replay window, and everything inside, with signing required and optional. */
export const signatureTarget: Target<{ envelope: Envelope; required: boolean }> = {
  name: 'signature',
  arbitrary: fc.record({ envelope, required: fc.boolean() }),
  async run({ envelope: env, required }) {
    const config = required ? (PARSE_CONFIGS[2] as Config) : SIGNING_OPTIONAL_CONFIG;
    const nowMs = Date.now();
    const text = renderEnvelope(env, nowMs);
    let job: CaptureJob;
    try {
      const parsed = parseRequest(text, parseContext(config, 'redis'));
      if (parsed.kind === 'ignored') return { kind: 'ignored' };
      job = parsed.job;
    } catch (err: unknown) {
      return rejection(err, 'parseRequest (signed)');
    }
    const signed = validlySigned(text);
    checkJob(job, config, { signed });
    if (signed) {
      check(job.request.id !== undefined && job.request.timestamp !== undefined, 'a signed request without id or timestamp accepted');
      const atMs = typeof job.request.timestamp === 'number' ? job.request.timestamp * 1000 : Date.parse(job.request.timestamp as string);
      check(Math.abs(nowMs - atMs) <= config.signing.window * 1000 + 1000, 'a signed request outside the replay window accepted');
    } else {
      check(!required, 'an envelope whose signature does not verify accepted');
    }
    return { kind: 'accepted' };
  },
};

/** The oracle: exactly {signed, signature} with a signature of `signed` under a configured secret. */
function validlySigned(text: string): boolean {
  const outer: unknown = JSON.parse(text);
  if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) return false;
  const { signed, signature } = outer as Record<string, unknown>;
  if (Object.keys(outer).length !== 2 || typeof signed !== 'string' || typeof signature !== 'string') return false;
  return SIGNING_SECRETS.some((secret) => signatureOf(signed, secret) === signature);
}

/**
 * EVE input: a line as a messages = "eve" listener hands it over, and the
 * alert object as a request's `eve` carries it (JSON values and the bigints
 * a big-integer-aware parser yields).
 */
export const eveTarget: Target<{ line: JsonText; form: 'string' | 'buffer'; mutation: Body['mutation']; object: unknown }> = {
  name: 'eve',
  arbitrary: fc.record({
    line: eveLine,
    form: fc.constantFrom<'string' | 'buffer'>('string', 'buffer'),
    mutation: bodyMutation,
    object: fc.oneof(
      fc.oneof(eveEvent, nearlyValidEve).map((doc) => parsedOrText(doc)),
      fc.dictionary(
        fc.constantFrom('src_ip', 'dest_ip', 'proto', 'src_port', 'dest_port', 'flow_id', 'vlan', 'alert', 'flow', 'timestamp', '__proto__'),
        fc.oneof(nastyNumber, nastyString, fc.bigInt(), fc.constant(undefined), fc.constant(null)) as fc.Arbitrary<unknown>,
      ),
      fc.oneof(nastyNumber, nastyString, fc.bigInt(), fc.constant(undefined), fc.constant(null)) as fc.Arbitrary<unknown>,
    ),
  }),
  async run({ line, form, mutation, object }) {
    const config = PARSE_CONFIGS[0] as Config;
    const body = renderBody({ doc: line, form, mutation }, config.general.maxrequestbytes, Date.now());
    let outcome: Outcome;
    try {
      const message = eveMessageOf(body, config.general.maxrequestbytes);
      outcome = message.kind === 'other' ? { kind: 'ignored' } : eveRequestOutcome(message.body, config);
    } catch (err: unknown) {
      outcome = rejection(err, 'eveMessageOf');
    }
    try {
      const alert = parseEveAlert(object);
      check(alert.family === 4 || alert.family === 6, 'family');
      // The filter derived from any alert pcapd accepts must compile.
      validateFilter(flowFilter(alert));
    } catch (err: unknown) {
      rejection(err, 'parseEveAlert');
    }
    return outcome;
  },
};

/** An alert line's request, as the intake parses it. */
function eveRequestOutcome(text: string, config: Config): Outcome {
  try {
    const parsed = parseRequest(text, parseContext(config, 'redis'));
    if (parsed.kind === 'ignored') return { kind: 'ignored' };
    checkJob(parsed.job, config);
    return { kind: 'accepted' };
  } catch (err: unknown) {
    return rejection(err, 'parseRequest (EVE alert)');
  }
}

/** The object a JSON document parses to, or its text when it is not JSON. */
function parsedOrText(doc: JsonText): unknown {
  const text = jsonText(resolveTimes(doc, Date.now()));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// --- the live world: Intake, Scheduler and HTTP API ---------------------------------------

const LIVE_CONFIG_TEXT =
  GENERAL +
  INTERFACES(false) +
  `
[redis]
messages = "eve"
[sqs]
messages = "eve"
[scheduler]
maxconcurrent = 2
perinterface = 2
queue = 0
memorybudget = 16777216
[http]
retainseconds = 1
retainbytes = 1048576
history = 100
[flows]
tcpidle = 1
udpidle = 1
icmpidle = 1
otheridle = 1
mergewindow = 1
`;

/** One Intake and Scheduler capturing for real, and the HTTP app over them, open and with a token. */
export class LiveWorld {
  readonly config: Config;
  readonly metrics = new Metrics({ version: 'fuzz', libpcap: 'fuzz', defaults: false });
  readonly scheduler: Scheduler;
  readonly intake: Intake;
  readonly apps: { open: ReturnType<typeof buildApi>; guarded: ReturnType<typeof buildApi> };
  /** Rejections the intake returned, by source and code: the metrics must say the same. */
  readonly rejected = new Map<string, number>();

  constructor() {
    this.config = buildConfig(LIVE_CONFIG_TEXT, 'fuzz-live.toml');
    const guarded = buildConfig(LIVE_CONFIG_TEXT.replace('[http]\n', `[http]\ntoken = "${HTTP_TOKEN}"\n`), 'fuzz-live-token.toml');
    // Lines go nowhere, but are still written: a logging path that throws is a crash too.
    const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
    this.scheduler = new Scheduler({
      config: () => this.config,
      log,
      metrics: this.metrics,
      clock: systemClock,
      deliver: async () => ({ deliveries: [], failures: [], pending: [] }),
    });
    this.intake = new Intake({ config: () => this.config, node: () => NODE, scheduler: this.scheduler, log, metrics: this.metrics, clock: systemClock });
    const permission = capturePermission();
    const api = (config: Config): ReturnType<typeof buildApi> =>
      buildApi({
        config: () => config,
        scheduler: this.scheduler,
        metrics: this.metrics,
        log,
        onRequest: (raw) => this.handle(raw),
        version: 'fuzz',
        startedAtMs: Date.now(),
        warmInterfaces: () => [],
        capturePermission: () => permission,
      });
    this.apps = { open: api(this.config), guarded: api(guarded) };
  }

  async handle(raw: RawRequest): Promise<IntakeResult> {
    const result = await this.intake.handle(raw);
    if (result.kind === 'rejected') {
      const key = `${raw.source} ${result.code}`;
      this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
    }
    return result;
  }

  /** Differences between what the intake answered and what pcapd_requests_rejected_total counted. */
  async countMismatches(): Promise<string[]> {
    const { values } = await this.metrics.requestsRejected.get();
    const counted = new Map(values.map((v) => [`${String(v.labels.source)} ${String(v.labels.reason)}`, v.value]));
    const problems: string[] = [];
    // The HTTP app refuses an oversized body itself and counts it; the intake never sees it.
    for (const [key, n] of counted)
      if ((this.rejected.get(key) ?? 0) !== n && key !== 'http PCAPD_ERR_REQUEST_TOO_LARGE')
        problems.push(`${key}: answered ${this.rejected.get(key) ?? 0}, counted ${n}`);
    for (const [key, n] of this.rejected) if (!counted.has(key)) problems.push(`${key}: answered ${n}, counted 0`);
    return problems;
  }

  async close(): Promise<void> {
    await this.apps.open.close();
    await this.apps.guarded.close();
    await this.scheduler.drain(5_000);
  }
}

/** What each listener hands the intake: HTTP and SQS text, Kafka bytes, Redis either; Redis and SQS carry EVE lines here. */
export function intakeTarget(world: LiveWorld): Target<{ source: (typeof SOURCES)[number]; body: Body; eve: JsonText }> {
  return {
    name: 'intake',
    arbitrary: fc.record({ source: fc.constantFrom(...SOURCES), body: requestBody, eve: eveLine }),
    async run({ source, body, eve }) {
      const eveSource = source === 'redis' || source === 'sqs';
      const form = source === 'kafka' ? 'buffer' : source === 'redis' ? body.form : 'string';
      const doc = eveSource ? eve : body.doc;
      const raw = renderBody({ ...body, form, doc }, world.config.general.maxrequestbytes, Date.now());
      let result: IntakeResult;
      try {
        result = await world.handle({ body: raw, source });
      } catch (err: unknown) {
        throw new Crash(`the intake threw (listeners would drop the message as PCAPD_ERR_INTERNAL): ${String(err)}`);
      }
      if (result.kind !== 'rejected') return { kind: result.kind };
      check(isErrorCode(result.code), `rejected with unknown code ${result.code}`);
      check(result.code !== 'PCAPD_ERR_INTERNAL', `rejected as an internal error: ${result.message}`);
      return { kind: 'rejected', code: result.code };
    },
  };
}

/** Statuses the API may answer with 5xx: admission refusals, nothing else. */
const ALLOWED_5XX: ReadonlySet<string> = new Set(['PCAPD_ERR_ADMISSION_FULL', 'PCAPD_ERR_SHUTTING_DOWN']);

/** The HTTP API through fastify's inject: methods, paths, query strings, headers and bodies. */
export function httpTarget(world: LiveWorld): Target<{ request: HttpCase; guarded: boolean }> {
  return {
    name: 'http',
    arbitrary: fc.record({ request: httpCase, guarded: fc.boolean() }),
    async run({ request, guarded }) {
      const app = guarded ? world.apps.guarded : world.apps.open;
      const payload = request.body === undefined ? undefined : renderBody(request.body, world.config.general.maxrequestbytes, Date.now());
      const res = await app.inject({
        method: request.method,
        url: request.path + request.query,
        headers: request.headers,
        ...(payload === undefined ? {} : { payload }),
      });
      const code = errorCodeOfBody(res.body);
      if (res.statusCode >= 500) {
        check(res.statusCode === 503 && code !== undefined && ALLOWED_5XX.has(code), `HTTP ${res.statusCode} ${res.body.slice(0, 300)}`);
      }
      if (res.statusCode >= 400) {
        if (request.method !== 'HEAD')
          check(code !== undefined && isErrorCode(code), `HTTP ${res.statusCode} without a pcapd error code: ${res.body.slice(0, 300)}`);
        return { kind: 'rejected', code: (code ?? 'PCAPD_ERR_NOT_FOUND') as ErrorCode };
      }
      if (request.method === 'POST' && res.statusCode === 202 && res.json<{ id?: unknown }>().id === undefined)
        throw new Crash(`HTTP 202 without an id: ${res.body.slice(0, 300)}`);
      return { kind: 'accepted' };
    },
  };
}

function errorCodeOfBody(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

// --- config files ------------------------------------------------------------------------

type Section = Record<string, unknown>;

/** Every [section] key the schema knows, read from the schema itself. */
function schemaKeys(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [section, schema] of Object.entries(ConfigSchema.shape)) {
    let def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    while (def['innerType'] !== undefined || def['element'] !== undefined) {
      def = ((def['innerType'] ?? def['element']) as { _zod: { def: Record<string, unknown> } })._zod.def;
    }
    out[section] = Object.keys((def['shape'] as Record<string, unknown> | undefined) ?? {});
  }
  return out;
}

const SECTION_KEYS = schemaKeys();
const SECTIONS = Object.keys(SECTION_KEYS);

/** A TOML value of any type, adversarial ones included (smol-toml writes nan, inf, -0, 64-bit integers, dates). */
const tomlValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 100_000_000 }) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      'lo',
      '/var/tmp/pcapd-fuzz',
      'relative/dir',
      '127.0.0.1',
      '0.0.0.0',
      'http://127.0.0.1:9324/0/q',
      '{node}-{id}',
      '%Y/{id}',
      '{bad}',
      'a'.repeat(40),
      'pubsub',
      'eve',
      'https',
    ),
  },
  { weight: 2, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true, min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(nastyString, fc.nat(), fc.constant('lo')), { maxLength: 10 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor')), fc.oneof(fc.nat(), nastyString), { maxKeys: 3 }) },
);

const configKey = (section: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...(SECTION_KEYS[section] as [string, ...string[]])) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'maxpacket', 'Listen', 'listen ') },
    { weight: 1, arbitrary: nastyString },
  );

const configDocument: fc.Arbitrary<Record<string, unknown>> = fc
  .array(
    fc.constantFrom(...SECTIONS).chain((section) => fc.tuple(fc.constant(section), fc.array(fc.tuple(configKey(section), tomlValue), { maxLength: 6 }))),
    { maxLength: 8 },
  )
  .map((sections) => {
    const doc: Record<string, unknown> = {};
    for (const [section, entries] of sections) {
      // Own properties even for "__proto__": as smol-toml keeps them (unsafeKeyBehaviour: keep).
      const table: Section = Object.fromEntries(entries);
      if (section === 'interface') {
        const list = (doc['interface'] as Section[] | undefined) ?? [];
        list.push({ name: IFACE, ...table });
        doc['interface'] = list;
      } else {
        doc[section] = { ...(doc[section] ?? {}), ...table };
      }
    }
    return doc;
  });

export interface ConfigCase {
  doc: Record<string, unknown>;
  /** Text-level damage after serialising. */
  edit: { kind: 'none' } | { kind: 'insert'; at: number; text: string } | { kind: 'truncate'; at: number } | { kind: 'replace-document'; text: string };
  /** Written to a file and read back (invalid UTF-8 possible), or parsed from text. */
  viaFile: boolean;
  badBytes: readonly number[];
}

const TOML_JUNK = [
  '\n[general]\n',
  '\n[[general]]\n',
  '\n[general.sub]\nx = 1\n',
  '\ngeneral.maxpackets = 1\n',
  '\n[[interface]]\n',
  '\n[interface]\nname = "lo"\n',
  '\nmaxpackets = 1\n',
  'x = 1e400\n',
  '\nx = inf\n',
  '\nx = nan\n',
  '\nx = -0\n',
  '\nx = 0x7fffffffffffffff\n',
  '\nx = 99999999999999999999\n',
  '\nx = 1979-05-27T07:32:00Z\n',
  '\n"__proto__" = { "polluted" = true }\n',
  '\n[__proto__]\npolluted = true\n',
  '\nconstructor.prototype.polluted = true\n',
  '\ufeff',
  '\r\n',
  '\u0000',
  '\ud800',
  '"',
  "'''",
  '\\',
  '=',
  '[',
  ']]',
  '{',
  '# \u202e comment\n',
  '\nx = [' + '['.repeat(200) + ']'.repeat(200) + ']\n',
  `\nx = {${' a = {'.repeat(100)}${'}'.repeat(100)}}\n`,
  `\nx = "${'a'.repeat(70_000)}"\n`,
] as const;

export const configCase: fc.Arbitrary<ConfigCase> = fc.record({
  doc: configDocument,
  edit: fc.oneof(
    { weight: 10, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...TOML_JUNK), nastyString) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('replace-document' as const),
        text: fc.oneof(nastyString, nastyJson.map(jsonText), fc.constantFrom(...TOML_JUNK)),
      }),
    },
  ),
  viaFile: fc.boolean(),
  badBytes: fc.oneof(
    { weight: 4, arbitrary: fc.constant<readonly number[]>([]) },
    { weight: 1, arbitrary: fc.constantFrom<readonly number[]>([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf]) },
  ),
});

function configText(c: ConfigCase): string {
  let text: string;
  try {
    text = stringify(c.doc);
  } catch {
    // smol-toml refuses some documents (mixed arrays of tables); their JSON still makes a TOML parser's day.
    text = JSON.stringify(c.doc, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  }
  switch (c.edit.kind) {
    case 'none':
      return text;
    case 'insert': {
      const at = text.length === 0 ? 0 : c.edit.at % text.length;
      return text.slice(0, at) + c.edit.text + text.slice(at);
    }
    case 'truncate':
      return text.slice(0, text.length === 0 ? 0 : c.edit.at % text.length);
    case 'replace-document':
      return c.edit.text;
    default: {
      const unreachable: never = c.edit;
      return unreachable;
    }
  }
}

/** Config files: TOML text or a file's bytes, through the one path every config takes. */
export function configTarget(dir: string): Target<ConfigCase> {
  let files = 0;
  return {
    name: 'config',
    arbitrary: configCase,
    async run(c) {
      const text = configText(c);
      let config: Config;
      try {
        if (c.viaFile) {
          const path = join(dir, `config-${files++ % 8}.toml`);
          const bytes = Buffer.from(text, 'utf8');
          const at = bytes.length === 0 ? 0 : bytes.length >> 1;
          writeFileSync(path, Buffer.concat([bytes.subarray(0, at), Buffer.from(c.badBytes), bytes.subarray(at)]));
          config = await loadConfigFile(path);
        } else {
          config = buildConfig(text, 'fuzz.toml');
        }
      } catch (err: unknown) {
        const outcome = rejection(err, 'buildConfig');
        if (outcome.kind === 'rejected')
          check(outcome.code === 'PCAPD_ERR_CONFIG_INVALID' || outcome.code === 'PCAPD_ERR_CONFIG_READ', `config refused with ${outcome.code}`);
        return outcome;
      }
      checkConfig(config);
      return { kind: 'accepted' };
    },
  };
}

/** What a config pcapd accepts guarantees, and that requests can be parsed against it. */
function checkConfig(config: Config): void {
  const g = config.general;
  check(Object.isFrozen(config) && Object.isFrozen(config.general) && Object.isFrozen(config.interface), 'config not frozen');
  check(g.snaplength <= g.maxsnaplength, 'snaplength > maxsnaplength');
  check(g.defaulttimeout <= g.maxtimeout, 'defaulttimeout > maxtimeout');
  check(isAbsolute(g.localdir) && isAbsolute(config.spool.dir), 'relative localdir or spool.dir');
  check(!config.http.listen || isLoopbackHost(config.http.host) || (config.http.token ?? '').length >= 16, 'API beyond loopback without a token');
  check(!config.signing.required || config.signing.secrets.length > 0, 'signing required without secrets');
  check(lookbackRingBytes(config) < config.scheduler.memorybudget, 'lookback rings exceed the memory budget');
  check(Object.getPrototypeOf({}) === Object.prototype && !('polluted' in {}), 'Object.prototype polluted');
  const shown = JSON.stringify(redactConfig(config));
  const secrets = [
    config.http.token,
    config.redis.auth,
    config.kafka.saslpassword,
    config.s3.accesskey,
    config.sqs.accesskey,
    config.cloudshark.token,
    ...config.signing.secrets,
  ];
  for (const secret of secrets)
    if (secret !== undefined && secret.length >= 12) check(!shown.includes(JSON.stringify(secret).slice(1, -1)), 'a secret survives redaction');
  // Any accepted config can judge a request.
  try {
    const parsed = parseRequest(JSON.stringify({ node: 'any', interface: [IFACE], packets: 10 ** 9, bytes: 10 ** 12 }), parseContext(config, 'http'));
    if (parsed.kind === 'accepted') checkJob(parsed.job, config);
  } catch (err: unknown) {
    rejection(err, 'parseRequest on a fuzzed config');
  }
}

// --- all of them -----------------------------------------------------------------------------

export interface FuzzWorld {
  /** Inputs differ by target; the runner treats each one's as opaque. */
  targets: Array<Target<unknown>>;
  close(): Promise<string[]>;
}

/** Every target, with the live world and temporary directory they need; close() reports counting mismatches. */
export function fuzzWorld(): FuzzWorld {
  const live = new LiveWorld();
  const dir = mkdtempSync(join(tmpdir(), 'pcapd-fuzz-'));
  return {
    targets: [requestTarget, intakeTarget(live), eveTarget, signatureTarget, httpTarget(live), configTarget(dir)],
    async close() {
      const mismatches = await live.countMismatches();
      await live.close();
      rmSync(dir, { recursive: true, force: true });
      return mismatches;
    },
  };
}

/**
 * The deterministic slice the test suite runs: `cases` cases of `target` from
 * a fixed seed, failing on the first crash with its counterexample. Returns
 * how the cases ended, so a slice that never gets past parsing is noticed.
 */
export async function fixedSeedSlice<T>(target: Target<T>, cases: number, seed = 14): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(target.arbitrary, async (input) => {
      const outcome = await target.run(input);
      const label = outcome.kind === 'rejected' ? outcome.code : outcome.kind;
      ends.set(label, (ends.get(label) ?? 0) + 1);
    }),
    { seed, numRuns: cases, endOnFailure: true },
  );
  return ends;
}

/** Every code a case may end with, for reports in a fixed order. */
export const CODE_ORDER: readonly ErrorCode[] = Object.keys(ERROR_CODES) as ErrorCode[];
