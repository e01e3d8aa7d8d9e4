/**
 * Reads pcapd's TOML configuration (pcapdaemon's file, read unchanged, plus
 * pcapd's sections): parse, apply command-line overrides, validate with the
 * schema, run the cross-field checks the schema cannot express, then freeze.
 *
 * Every problem is reported at once, one line per key path, so an operator
 * fixes a typo and a bad value in one edit instead of one restart each.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

import { parse, TomlError } from 'smol-toml';

import { errorMessage, PcapdError } from '../errors.js';
import { formatConfigIssues, type ConfigIssue } from './config-issues.js';
import { crossFieldIssues } from './cross-checks.js';
import { applyOverrides, overrideOrigins, type ConfigOverrides } from './flags.js';
import { ConfigSchema, type Config } from './schema.js';

/** The embedded default: config.example.toml at the package root (same depth from src/ and dist/). */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config.example.toml', import.meta.url));

export const REDACTED = '***';

// ---------------------------------------------------------------------------
// Entry points

/** The one path from TOML text (and optional flag overrides) to a frozen, valid Config. */
export function buildConfig(tomlText: string, sourceName: string, overrides: ConfigOverrides = {}): Config {
  const raw = applyOverrides(parseToml(tomlText, sourceName), overrides);
  const { sections, issues } = parseSections(raw);
  issues.push(...crossFieldIssues(sections));
  if (issues.length > 0) throw invalidConfigError(sourceName, formatConfigIssues(issues, overrideOrigins(overrides)));
  return deepFreeze(sections as Config);
}

type SectionName = keyof typeof ConfigSchema.shape;
const SECTION_NAMES = Object.keys(ConfigSchema.shape) as SectionName[];

/**
 * Each section parsed once, on its own: the schema's issues of every section
 * come back together with the sections that did parse, so the cross-field
 * checks still run on those (one edit fixes every problem reported).
 */
function parseSections(raw: Record<string, unknown>): { sections: Partial<Config>; issues: ConfigIssue[] } {
  const sections: Partial<Record<SectionName, unknown>> = {};
  const issues: ConfigIssue[] = [];
  const unknown = Object.keys(raw).filter((key) => !(SECTION_NAMES as string[]).includes(key));
  if (unknown.length > 0) issues.push({ code: 'unrecognized_keys', keys: unknown, path: [], message: 'unknown keys', input: raw });
  for (const name of SECTION_NAMES) {
    const result = ConfigSchema.shape[name].safeParse(raw[name], { reportInput: true });
    if (result.success) {
      if (result.data !== undefined) sections[name] = result.data;
    } else {
      issues.push(...result.error.issues.map((issue) => ({ ...issue, path: [name, ...issue.path] })));
    }
  }
  return { sections: sections as Partial<Config>, issues };
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
