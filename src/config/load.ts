/**
 * Reads pcapd's TOML configuration (pcapdaemon's file, read unchanged, plus
 * pcapd's sections): parse, apply command-line overrides, validate with the
 * schema, run the cross-field checks the schema cannot express, then freeze.
 *
 * Every problem is reported at once, one line per key path, so an operator
 * fixes a typo and a bad value in one edit instead of one restart each.
 */
import { readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse, TomlError } from 'smol-toml';
import type { z } from 'zod';

import { regionOfQueueUrl } from './sqs-url.js';
import { errorMessage, PcapdError } from '../errors.js';
import { validateFileNamePattern } from './file-name-pattern.js';
import { normalizeEndpoint } from './endpoint.js';
import { applyOverrides, overrideOrigins, type ConfigOverrides } from './flags.js';
import { ConfigSchema, type Config } from './schema.js';
import { lookbackRingBytes } from './warm.js';

/** A schema issue, or a cross-field issue shaped like one so both print alike. */
export type ConfigIssue = z.core.$ZodIssue;

/** The embedded default: config.example.toml at the package root (same depth from src/ and dist/). */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config.example.toml', import.meta.url));

export const REDACTED = '***';

// ---------------------------------------------------------------------------
// Entry points

/** The one path from TOML text (and optional flag overrides) to a frozen, valid Config. */
export function buildConfig(tomlText: string, sourceName: string, overrides: ConfigOverrides = {}): Config {
  const raw = applyOverrides(parseToml(tomlText, sourceName), overrides);
  const result = ConfigSchema.safeParse(raw, { reportInput: true });
  const crossIssues = crossFieldIssues(raw);
  if (!result.success || crossIssues.length > 0) {
    const issues = [...(result.error?.issues ?? []), ...crossIssues];
    throw invalidConfigError(sourceName, formatConfigIssues(issues, overrideOrigins(overrides)));
  }
  return deepFreeze(result.data);
}

export function parseConfigText(tomlText: string, sourceName: string): Config {
  return buildConfig(tomlText, sourceName);
}

export async function loadConfigFile(path: string, overrides: ConfigOverrides = {}): Promise<Config> {
  return buildConfig(await readConfigText(path), path, overrides);
}

/** A copy safe to print or log: secrets that are set become "***". */
export function redactConfig(config: Config): unknown {
  // structuredClone: the copy is unfrozen and shares no array with the live config.
  const copy = structuredClone(config);
  return {
    ...copy,
    cloudshark: maskKey(copy.cloudshark, 'token'),
    redis: maskKey(copy.redis, 'auth'),
    kafka: maskKey(copy.kafka, 'saslpassword'),
    s3: maskKey(maskKey(copy.s3, 'accessid'), 'accesskey'),
    sqs: maskKey(maskKey(copy.sqs, 'accessid'), 'accesskey'),
    http: maskKey(copy.http, 'token'),
    signing: { ...copy.signing, secrets: copy.signing.secrets.map(() => REDACTED) },
  };
}

/** The name node/nodere requests are matched against. */
export function nodeName(config: Config): string {
  return config.general.node ?? hostname();
}

// ---------------------------------------------------------------------------
// Reading and parsing

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new PcapdError('PCAPD_ERR_CONFIG_READ', `cannot read configuration file ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function parseToml(tomlText: string, sourceName: string): Record<string, unknown> {
  try {
    // Keys such as __proto__ are kept as own properties; the strict schema
    // then rejects them as unknown keys, with their path.
    return parse(tomlText, { unsafeKeyBehaviour: 'keep' });
  } catch (err: unknown) {
    throw new PcapdError('PCAPD_ERR_CONFIG_READ', tomlErrorMessage(err, sourceName), { cause: err });
  }
}

function tomlErrorMessage(err: unknown, sourceName: string): string {
  if (!(err instanceof TomlError)) return `${sourceName}: invalid TOML: ${errorMessage(err)}`;
  // smol-toml's message is "Invalid TOML document: <reason>\n\n<codeblock>".
  const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
  return `${sourceName}:${err.line}:${err.column}: invalid TOML: ${reason}\n${err.codeblock}`.trimEnd();
}

function invalidConfigError(sourceName: string, lines: readonly string[]): PcapdError {
  const count = lines.length === 1 ? '1 problem' : `${lines.length} problems`;
  const summary = `invalid configuration in ${sourceName} (${count}):`;
  return new PcapdError('PCAPD_ERR_CONFIG_INVALID', [summary, ...lines].join('\n'));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function maskKey<T extends object>(table: T, key: keyof T & string): T {
  const value = table[key];
  // An absent or empty secret stays visible as such: "no token is set" is
  // exactly what an operator running check-config needs to see.
  if (typeof value !== 'string' || value === '') return table;
  return { ...table, [key]: REDACTED };
}

// ---------------------------------------------------------------------------
// Issue formatting

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * A key path in TOML terms: `general.snaplength`, `interface[1].name`
 * (array indexes count from 0, as in the request schema's paths), keys that
 * are not bare TOML keys quoted.
 */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      continue;
    }
    const key = String(segment);
    const quoted = BARE_KEY.test(key) ? key : JSON.stringify(key);
    out += out === '' ? quoted : `.${quoted}`;
  }
  return out === '' ? '(top level)' : out;
}

/**
 * One line per problem, `<key path>: <what is wrong>`. `origins` maps a key
 * path to the command-line flag that set it, so a bad flag value names the flag.
 */
export function formatConfigIssues(
  issues: readonly ConfigIssue[],
  origins: ReadonlyMap<string, string> = new Map(),
): string[] {
  return issues.flatMap((issue) =>
    issueLines(issue).map(({ path, message }) => {
      const keyPath = formatKeyPath(path);
      const origin = origins.get(keyPath);
      return `${keyPath}${origin === undefined ? '' : ` (from ${origin})`}: ${message}`;
    }),
  );
}

function issueLines(issue: ConfigIssue): { path: readonly PropertyKey[]; message: string }[] {
  if (issue.code === 'unrecognized_keys') {
    // zod reports all unknown keys of a table in one issue; each gets its own line.
    return issue.keys.map((key) => ({ path: [...issue.path, key], message: 'unknown key' }));
  }
  return [{ path: issue.path, message: issueMessage(issue) }];
}

function issueMessage(issue: ConfigIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${expectedName(issue.expected)} (${receivedText(issue.expected, issue.input)})`;
    case 'too_big':
    case 'too_small':
      return boundMessage(issue);
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${shownValue(issue.input)})`;
    default:
      return issue.message;
  }
}

const EXPECTED_NAMES: Readonly<Record<string, string>> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'a table',
};

function expectedName(expected: string): string {
  return EXPECTED_NAMES[expected] ?? expected;
}

function receivedText(expected: string, input: unknown): string {
  if (input === undefined) return 'missing';
  // A number is shown only where a number belongs (an integer key given 1.5);
  // otherwise only its TOML type, so a secret given the wrong type (an
  // unquoted numeric password) never reaches a log line.
  const numeric = expected === 'int' || expected === 'number';
  return numeric && typeof input === 'number' ? `got ${input}` : `got ${tomlTypeName(input)}`;
}

function boundMessage(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const atLeast = issue.code === 'too_small';
  const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const words = atLeast ? 'at least' : 'at most';
  if (issue.origin === 'string') {
    if (atLeast && bound === 1) return 'must not be empty';
    return `must be ${words} ${bound} characters (got ${lengthOf(issue.input)})`;
  }
  if (issue.origin === 'array') {
    const items = bound === 1 ? 'item' : 'items';
    return `must have ${words} ${bound} ${items} (got ${lengthOf(issue.input)})`;
  }
  const op = (atLeast ? '>' : '<') + (issue.inclusive === false ? '' : '=');
  return `must be ${op} ${bound} (got ${shownValue(issue.input)})`;
}

function lengthOf(input: unknown): string {
  return typeof input === 'string' || Array.isArray(input) ? String(input.length) : tomlTypeName(input);
}

function shownValue(input: unknown): string {
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  if (typeof input === 'string') return JSON.stringify(input);
  return tomlTypeName(input);
}

function tomlTypeName(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a float';
  if (typeof value === 'bigint') return 'an integer';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date-time';
  if (typeof value === 'object' && value !== null) return 'a table';
  return typeof value;
}

// ---------------------------------------------------------------------------
// Cross-field checks

type Interfaces = Config['interface'];
type HttpSection = Config['http'];

/**
 * Checks spanning several keys. Each section is validated on its own, so
 * these run (and are reported) even when some other section has errors.
 */
function crossFieldIssues(raw: Record<string, unknown>): ConfigIssue[] {
  const interfaces = ConfigSchema.shape.interface.safeParse(raw['interface']);
  const http = ConfigSchema.shape.http.safeParse(raw['http']);
  const general = ConfigSchema.shape.general.safeParse(raw['general']);
  const cloudshark = ConfigSchema.shape.cloudshark.safeParse(raw['cloudshark']);
  const s3 = ConfigSchema.shape.s3.safeParse(raw['s3']);
  const spool = ConfigSchema.shape.spool.safeParse(raw['spool']);
  const signing = ConfigSchema.shape.signing.safeParse(raw['signing']);
  const scheduler = ConfigSchema.shape.scheduler.safeParse(raw['scheduler']);
  return [
    ...(interfaces.success ? duplicateInterfaceIssues(interfaces.data) : []),
    ...(http.success ? httpTokenIssues(http.data) : []),
    ...(general.success ? generalIssues(general.data) : []),
    ...(cloudshark.success ? cloudsharkIssues(cloudshark.data) : []),
    ...brokerListenerIssues(raw),
    ...(s3.success ? s3Issues(s3.data) : []),
    ...(spool.success ? spoolIssues(spool.data) : []),
    ...(signing.success && scheduler.success ? signingIssues(signing.data, scheduler.data) : []),
    ...(interfaces.success && scheduler.success ? lookbackRingIssues(interfaces.data, scheduler.data) : []),
  ];
}

// The rings are allocated at startup and counted in the budget: they must leave room for captures.
function lookbackRingIssues(interfaces: Interfaces, scheduler: Config['scheduler']): ConfigIssue[] {
  const ringBytes = lookbackRingBytes({ interface: interfaces });
  if (ringBytes < scheduler.memorybudget) return [];
  return [
    crossIssue(
      ['scheduler', 'memorybudget'],
      `must exceed the warm interfaces' lookback rings (${ringBytes} bytes of lookbackbytes), which it counts`,
    ),
  ];
}

function crossIssue(path: PropertyKey[], message: string): ConfigIssue {
  return { code: 'custom', path, message };
}

// An alias shared by several blocks is allowed: as in pcapdaemon, it names all
// of those interfaces (a request for alias "public" captures on each).
function duplicateInterfaceIssues(interfaces: Interfaces): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const nameOwner = new Map<string, number>();
  interfaces.forEach((iface, index) => {
    const firstWithName = nameOwner.get(iface.name);
    if (firstWithName === undefined) nameOwner.set(iface.name, index);
    else issues.push(crossIssue(['interface', index, 'name'], nameClash(iface.name, firstWithName)));
  });
  return issues;
}

function nameClash(name: string, ownerIndex: number): string {
  return `${JSON.stringify(name)} is already configured by interface[${ownerIndex}]`;
}

function generalIssues(general: Config['general']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (general.snaplength > general.maxsnaplength) {
    issues.push(crossIssue(['general', 'snaplength'], `must be <= general.maxsnaplength (${general.maxsnaplength})`));
  }
  if (general.defaulttimeout > general.maxtimeout) {
    issues.push(crossIssue(['general', 'defaulttimeout'], `must be <= general.maxtimeout (${general.maxtimeout})`));
  }
  // A relative root would move with the working directory (systemd runs pcapd from /).
  if (!isAbsolute(general.localdir)) issues.push(crossIssue(['general', 'localdir'], 'must be an absolute path'));
  for (const problem of validateFileNamePattern(general.filename)) {
    issues.push(crossIssue(['general', 'filename'], problem));
  }
  return issues;
}

function cloudsharkIssues(cloudshark: Config['cloudshark']): ConfigIssue[] {
  if (!cloudshark.upload || cloudshark.token !== '') return [];
  return [crossIssue(['cloudshark', 'token'], 'required when cloudshark.upload = true')];
}

function s3Issues(s3: Config['s3']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (s3.upload && (s3.bucket === undefined || s3.bucket === '')) {
    issues.push(crossIssue(['s3', 'bucket'], 'required when s3.upload = true'));
  }
  if ((s3.accessid === undefined) !== (s3.accesskey === undefined)) {
    const missing = s3.accessid === undefined ? 'accessid' : 'accesskey';
    issues.push(crossIssue(['s3', missing], 'set both accessid and accesskey, or neither (the AWS SDK default credential chain)'));
  }
  if (s3.endpoint !== undefined && s3.endpoint !== '' && normalizeEndpoint(s3.endpoint) === undefined) {
    issues.push(crossIssue(['s3', 'endpoint'], 'must be an http(s) URL or a host name'));
  }
  s3.allowendpoints.forEach((endpoint, index) => {
    if (normalizeEndpoint(endpoint) === undefined) {
      issues.push(crossIssue(['s3', 'allowendpoints', index], 'must be an http(s) URL or a host name'));
    }
  });
  return issues;
}

function spoolIssues(spool: Config['spool']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // A relative spool would move with the working directory, and captures with it.
  if (!isAbsolute(spool.dir)) issues.push(crossIssue(['spool', 'dir'], 'must be an absolute path'));
  if (spool.retrymax < spool.retrybase) {
    issues.push(crossIssue(['spool', 'retrymax'], `must be >= spool.retrybase (${spool.retrybase})`));
  }
  return issues;
}

function signingIssues(signing: Config['signing'], scheduler: Config['scheduler']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (signing.required && signing.secrets.length === 0) {
    issues.push(crossIssue(['signing', 'secrets'], 'at least one secret is required when signing.required = true'));
  }
  // A replay inside the window is caught only as a duplicate id.
  if (signing.secrets.length > 0 && scheduler.dedupwindow < signing.window) {
    issues.push(crossIssue(['scheduler', 'dedupwindow'], `must be >= signing.window (${signing.window}) so a replayed signed request is a duplicate`));
  }
  return issues;
}

function httpTokenIssues(http: HttpSection): ConfigIssue[] {
  // With the API off, the bind address exposes nothing.
  if (!http.listen || isLoopbackHost(http.host)) return [];
  // An empty or guessable token is no token: the API must not be open beyond loopback.
  if (http.token !== undefined && http.token.length >= MIN_TOKEN_CHARS) return [];
  return [
    crossIssue(
      ['http', 'token'],
      `a token of at least ${MIN_TOKEN_CHARS} characters is required when http.host (${JSON.stringify(http.host)}) is not loopback`,
    ),
  ];
}

const MIN_TOKEN_CHARS = 16;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost. "", 0.0.0.0 and :: bind everywhere. */
export function isLoopbackHost(host: string): boolean {
  if (/^localhost\.?$/i.test(host)) return true;
  const family = isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

// ---------------------------------------------------------------------------
// Broker listeners: an enabled listener must have what it needs to connect

function brokerListenerIssues(raw: Record<string, unknown>): ConfigIssue[] {
  const redis = ConfigSchema.shape.redis.safeParse(raw['redis']);
  const kafka = ConfigSchema.shape.kafka.safeParse(raw['kafka']);
  const sqs = ConfigSchema.shape.sqs.safeParse(raw['sqs']);
  return [
    ...(redis.success ? redisIssues(redis.data) : []),
    ...(kafka.success ? kafkaIssues(kafka.data) : []),
    ...(sqs.success ? sqsIssues(sqs.data) : []),
  ];
}

function redisIssues(redis: Config['redis']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (redis.username !== undefined && redis.auth === undefined) {
    issues.push(crossIssue(['redis', 'auth'], 'required when redis.username is set (ACL AUTH needs the password)'));
  }
  return issues;
}

function kafkaIssues(kafka: Config['kafka']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (kafka.saslmechanism !== undefined) {
    for (const key of ['saslusername', 'saslpassword'] as const) {
      if (kafka[key] === undefined) issues.push(crossIssue(['kafka', key], 'required when kafka.saslmechanism is set'));
    }
  }
  return issues;
}

function sqsIssues(sqs: Config['sqs']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const key of ['url', 'endpoint', 'results'] as const) {
    const value = sqs[key];
    if (value !== undefined && value !== '' && !isHttpUrl(value)) issues.push(crossIssue(['sqs', key], 'must be an http(s) URL'));
  }
  if ((sqs.accessid === undefined) !== (sqs.accesskey === undefined)) {
    const missing = sqs.accessid === undefined ? 'accessid' : 'accesskey';
    issues.push(crossIssue(['sqs', missing], 'set both accessid and accesskey, or neither (the AWS SDK default credential chain)'));
  }
  if (!sqs.listen) return issues;
  if (sqs.url === undefined) issues.push(crossIssue(['sqs', 'url'], 'required when sqs.listen = true'));
  if (sqs.region === undefined && regionOfQueueUrl(sqs.url) === undefined) {
    issues.push(crossIssue(['sqs', 'region'], 'required when sqs.listen = true (unless the queue URL is an AWS one that names it)'));
  }
  return issues;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
