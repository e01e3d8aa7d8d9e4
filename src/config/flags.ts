/**
 * pcapdaemon's command-line flags, accepted with Go's `flag` syntax so
 * existing unit files and init scripts keep working: `-flag value`,
 * `-flag=value`, `--flag=value`; booleans as `-upload` or `-upload=false`
 * (as in Go, `-upload false` does not set a boolean).
 *
 * Flags do not bypass validation: they are written into the parsed TOML
 * before the schema runs, so `-csport 70000` is reported exactly like
 * `port = 70000` in [cloudshark], plus the flag's name.
 */
import { PcapdError } from '../errors.js';
import { didYouMean } from '../text.js';
import type { Config } from './schema.js';

type FlagKind = 'string' | 'integer' | 'boolean';

interface OverrideTarget {
  readonly kind: FlagKind;
  readonly section: keyof Config;
  readonly key: string;
}

/** Each override flag and the config key it sets. */
export const OVERRIDE_FLAGS = {
  cshost: { kind: 'string', section: 'cloudshark', key: 'host' },
  csscheme: { kind: 'string', section: 'cloudshark', key: 'scheme' },
  cstoken: { kind: 'string', section: 'cloudshark', key: 'token' },
  csport: { kind: 'integer', section: 'cloudshark', key: 'port' },
  cstimeout: { kind: 'integer', section: 'cloudshark', key: 'timeout' },
  redischannel: { kind: 'string', section: 'redis', key: 'channel' },
  redisnode: { kind: 'string', section: 'redis', key: 'host' },
  redisport: { kind: 'integer', section: 'redis', key: 'port' },
  // pcapdaemon's -upload ("Upload pcap") only ever switched on the Cloudshark upload.
  upload: { kind: 'boolean', section: 'cloudshark', key: 'upload' },
  writelocal: { kind: 'boolean', section: 'general', key: 'writelocal' },
  destdir: { kind: 'string', section: 'general', key: 'localdir' },
  maxpackets: { kind: 'integer', section: 'general', key: 'maxpackets' },
} as const satisfies Record<string, OverrideTarget>;

export type OverrideFlag = keyof typeof OVERRIDE_FLAGS;

type ValueOf<K extends FlagKind> = K extends 'string' ? string : K extends 'integer' ? number : boolean;

export type ConfigOverrides = {
  readonly [F in OverrideFlag]?: ValueOf<(typeof OVERRIDE_FLAGS)[F]['kind']>;
};

export interface DaemonFlags {
  configPath?: string;
  overrides: ConfigOverrides;
  warnings: string[];
  /** -h or -help was given (Go's flag package answers them with the usage, too). */
  help?: true;
}

/** Flags that are not config overrides. */
const OTHER_FLAGS = {
  config: 'string',
  // gopacket's layer-parsing panics; pcapd decodes no packets in the capture path.
  panic: 'boolean',
  help: 'boolean',
  h: 'boolean',
} as const satisfies Record<string, FlagKind>;

type FlagValue = string | number | boolean;

const OVERRIDE_FLAG_NAMES = Object.keys(OVERRIDE_FLAGS) as OverrideFlag[];
const FLAG_NAMES: readonly string[] = [...OVERRIDE_FLAG_NAMES, ...Object.keys(OTHER_FLAGS)];

// ---------------------------------------------------------------------------
// Parsing

export function parseDaemonFlags(argv: readonly string[]): DaemonFlags {
  const values = new Map<string, FlagValue>();
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] ?? '';
    if (arg === '--') {
      index += 1;
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) break;
    index = readFlag(argv, index, values);
  }
  rejectPositional(argv.slice(index));
  return collectFlags(values);
}

/** Reads the flag at argv[index] into `values`; returns the index of the next argument. */
function readFlag(argv: readonly string[], index: number, values: Map<string, FlagValue>): number {
  const arg = argv[index] ?? '';
  const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  if (body === '' || body.startsWith('-') || body.startsWith('=')) throw flagError(`bad flag syntax: ${arg}`);
  const equals = body.indexOf('=');
  const name = equals < 0 ? body : body.slice(0, equals);
  const inline = equals < 0 ? undefined : body.slice(equals + 1);
  const kind = flagKind(name);
  if (kind === undefined) throw flagError(`flag provided but not defined: -${name}${didYouMean(name, FLAG_NAMES, '-')}`);
  if (kind === 'boolean') {
    values.set(name, inline === undefined ? true : parseGoBool(name, inline));
    return index + 1;
  }
  // As in Go, a value flag takes the next argument whatever it looks like.
  const text = inline ?? argv[index + 1];
  if (text === undefined) throw flagError(`flag needs an argument: -${name}`);
  values.set(name, kind === 'integer' ? parseInteger(name, text) : text);
  return inline === undefined ? index + 2 : index + 1;
}

function flagKind(name: string): FlagKind | undefined {
  if (Object.hasOwn(OVERRIDE_FLAGS, name)) return OVERRIDE_FLAGS[name as OverrideFlag].kind;
  if (Object.hasOwn(OTHER_FLAGS, name)) return OTHER_FLAGS[name as keyof typeof OTHER_FLAGS];
  return undefined;
}

function rejectPositional(rest: readonly string[]): void {
  // pcapdaemon took no arguments; Go would silently ignore them, which hides
  // a mistyped flag such as "–config" (en dash).
  if (rest.length > 0) throw flagError(`unexpected argument ${JSON.stringify(rest[0])}: only flags are accepted`);
}

/** strconv.ParseBool's spellings, which Go's boolean flags accept. */
const GO_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function parseGoBool(name: string, text: string): boolean {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  throw flagError(`-${name}: expected true or false (got ${JSON.stringify(text)})`);
}

function parseInteger(name: string, text: string): number {
  const value = Number(text);
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw flagError(`-${name}: expected an integer (got ${JSON.stringify(text)})`);
  }
  return value;
}

const PANIC_IGNORED = '-panic is ignored: it made pcapdaemon panic on gopacket decoding errors, and pcapd decodes no packets while capturing';

function collectFlags(values: ReadonlyMap<string, FlagValue>): DaemonFlags {
  const configPath = values.get('config');
  const setFlags = OVERRIDE_FLAG_NAMES.filter((flag) => values.has(flag));
  const overrides = Object.fromEntries(setFlags.map((flag) => [flag, values.get(flag)]));
  const warnings = values.has('panic') ? [PANIC_IGNORED] : [];
  const help = values.get('help') === true || values.get('h') === true;
  return {
    ...(typeof configPath === 'string' ? { configPath } : {}),
    // Each value was converted according to OVERRIDE_FLAGS[flag].kind above.
    overrides: overrides,
    warnings,
    ...(help ? { help: true as const } : {}),
  };
}

function flagError(message: string): PcapdError {
  return new PcapdError('PCAPD_ERR_CONFIG_INVALID', message);
}

// ---------------------------------------------------------------------------
// Usage

const VALUE_NAMES: Record<FlagKind, string> = { string: 'TEXT', integer: 'N', boolean: '' };

/** The flags' lines for a usage text, made from the tables above so none is left out. */
export function daemonFlagsUsage(): string {
  const rows: [string, string][] = [
    ['-config FILE', 'the config file (default: $PCAPD_CONFIG, /etc/pcapd/config.toml, the embedded one)'],
    ...OVERRIDE_FLAG_NAMES.map((flag): [string, string] => {
      const { kind, section, key } = OVERRIDE_FLAGS[flag];
      const value = VALUE_NAMES[kind];
      const what = kind === 'boolean' ? `sets [${section}] ${key} (-${flag} or -${flag}=false)` : `sets [${section}] ${key}`;
      return [`-${flag}${value ? ` ${value}` : ''}`, what];
    }),
    ['-panic', 'accepted and ignored (pcapdaemon panicked on packet decoding errors)'],
    ['-h, --help', 'this text'],
  ];
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return rows.map(([flag, what]) => `  ${flag.padEnd(width)}${what}`).join('\n');
}

// ---------------------------------------------------------------------------
// Applying

/**
 * A copy of the parsed TOML with each set flag written to its key, ready for
 * the schema. A section that is not a table is left alone so the schema
 * reports its real type error instead of a flag hiding it.
 */
export function applyOverrides(raw: Record<string, unknown>, overrides: ConfigOverrides): Record<string, unknown> {
  const result: Record<string, unknown> = { ...raw };
  for (const flag of OVERRIDE_FLAG_NAMES) {
    const value = overrides[flag];
    if (value === undefined) continue;
    const { section, key } = OVERRIDE_FLAGS[flag];
    const table = result[section];
    if (table !== undefined && !isTable(table)) continue;
    result[section] = { ...table, [key]: value };
  }
  return result;
}

/** Key path (as printed in config errors) → the flag that set it. */
export function overrideOrigins(overrides: ConfigOverrides): Map<string, string> {
  return new Map(
    OVERRIDE_FLAG_NAMES.filter((flag) => overrides[flag] !== undefined).map((flag) => {
      const { section, key } = OVERRIDE_FLAGS[flag];
      return [`${section}.${key}`, `-${flag}`];
    }),
  );
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
