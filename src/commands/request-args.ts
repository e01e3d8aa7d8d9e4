/**
 * `pcapd request` command line: flags → a request object and how to send it.
 * Flags follow pcapd's own style (`-config FILE` as in pcapdaemon; `--flag
 * value`, `--flag=value` and `-flag value` all work). Values are converted
 * here only as far as their flag's type; the request schema judges the rest.
 */
import { PcapdError } from '../errors.js';
import { didYouMean } from '../text.js';

export const VIAS = ['redis', 'kafka', 'sqs', 'http'] as const;
export type Via = (typeof VIAS)[number];

export interface RequestArgs {
  configPath?: string;
  via?: Via;
  file?: string;
  /** --eve: a file (or "-") holding one Suricata EVE alert line, sent as the request's `eve`. */
  eveFile?: string;
  /** --via http: the API's base URL, instead of [http] host and port. */
  url?: string;
  /** Request fields set by flags (over those of --file). */
  fields: Record<string, unknown>;
  wait: boolean;
  /** What --wait waits for: the final result (--wait, --wait=done) or arming (--wait=armed). */
  waitFor: WaitFor;
  waitTimeoutSeconds: number;
  /** Result events to wait for (one per node a nodere request reaches). */
  expect: number;
  dryRun: boolean;
  help: boolean;
}

type Kind = 'string' | 'integer' | 'boolean' | 'list' | 'alertid';
export type WaitFor = 'done' | 'armed';

interface FieldFlag {
  kind: Kind;
  /** The request field it sets (default: the flag's name). */
  field?: string;
}

/** Flags that set a request field. */
const FIELD_FLAGS: Record<string, FieldFlag> = {
  node: { kind: 'string' },
  nodere: { kind: 'string' },
  interface: { kind: 'list' },
  alias: { kind: 'list' },
  bpf: { kind: 'string' },
  packets: { kind: 'integer' },
  duration: { kind: 'integer' },
  timeout: { kind: 'integer' },
  bytes: { kind: 'integer' },
  snap: { kind: 'integer' },
  id: { kind: 'string' },
  alertid: { kind: 'alertid' },
  tags: { kind: 'string' },
  format: { kind: 'string' },
  customer: { kind: 'string' },
  folder: { kind: 'string' },
  reply: { kind: 'string' },
  packetdebug: { kind: 'boolean' },
  logrequest: { kind: 'boolean' },
  encryption: { kind: 'boolean' },
  'segment-seconds': { kind: 'integer', field: 'segment.seconds' },
  'segment-bytes': { kind: 'integer', field: 'segment.bytes' },
};

/** Flags about the command itself. */
const COMMAND_FLAGS: Record<string, 'string' | 'integer' | 'boolean'> = {
  config: 'string',
  via: 'string',
  file: 'string',
  eve: 'string',
  url: 'string',
  wait: 'boolean',
  'wait-timeout': 'integer',
  expect: 'integer',
  'dry-run': 'boolean',
  help: 'boolean',
  h: 'boolean',
};

const FLAG_NAMES: readonly string[] = [...Object.keys(FIELD_FLAGS), ...Object.keys(COMMAND_FLAGS)];

const DEFAULT_WAIT_TIMEOUT_SECONDS = 300;

export function usageError(message: string): PcapdError {
  return new PcapdError('PCAPD_ERR_USAGE', message);
}

export function parseRequestArgs(argv: readonly string[]): RequestArgs {
  const args: RequestArgs = {
    fields: {},
    wait: false,
    waitFor: 'done',
    waitTimeoutSeconds: DEFAULT_WAIT_TIMEOUT_SECONDS,
    expect: 1,
    dryRun: false,
    help: false,
  };
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] ?? '';
    const match = /^(--?)([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!match?.[2]) throw usageError(`unexpected argument ${JSON.stringify(arg)}: only flags are accepted (see pcapd request --help)`);
    const dashes = match[1] ?? '-';
    const name = match[2];
    const inline = match[3];
    const kind = FIELD_FLAGS[name]?.kind ?? COMMAND_FLAGS[name];
    if (kind === undefined) throw usageError(`unknown flag ${dashes}${name}${didYouMean(name, FLAG_NAMES, dashes)} (see pcapd request --help)`);
    let text: string | undefined;
    if (kind === 'boolean') {
      text = inline ?? 'true';
      index += 1;
    } else {
      text = inline ?? argv[index + 1];
      if (text === undefined) throw usageError(`flag -${name} needs a value`);
      index += inline === undefined ? 2 : 1;
    }
    apply(args, name, kind, text);
  }
  return args;
}

function apply(args: RequestArgs, name: string, kind: Kind, text: string): void {
  const field = FIELD_FLAGS[name];
  if (field !== undefined) {
    setField(args.fields, field.field ?? name, convert(name, kind, text, args.fields[field.field ?? name]));
    return;
  }
  switch (name) {
    case 'config':
      args.configPath = text;
      return;
    case 'via':
      if (!(VIAS as readonly string[]).includes(text)) throw usageError(`-via must be one of ${VIAS.join(', ')} (got ${JSON.stringify(text)})`);
      args.via = text as Via;
      return;
    case 'file':
      args.file = text;
      return;
    case 'eve':
      args.eveFile = text;
      return;
    case 'url':
      if (!/^https?:\/\/[^/]+/.test(text)) throw usageError(`-url must be an http(s) URL (got ${JSON.stringify(text)})`);
      args.url = text.replace(/\/+$/, '');
      return;
    case 'wait':
      // --wait=armed / --wait=done say what to wait for; --wait=true|false as any boolean flag.
      if (text === 'armed' || text === 'done') {
        args.wait = true;
        args.waitFor = text;
      } else {
        args.wait = convert(name, 'boolean', text, undefined) as boolean;
      }
      return;
    case 'wait-timeout':
      args.waitTimeoutSeconds = positive(name, text);
      return;
    case 'expect':
      args.expect = positive(name, text);
      return;
    case 'dry-run':
      args.dryRun = convert(name, 'boolean', text, undefined) as boolean;
      return;
    case 'help':
    case 'h':
      args.help = true;
      return;
    default:
      throw usageError(`unknown flag -${name}`);
  }
}

function convert(name: string, kind: Kind, text: string, previous: unknown): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'integer': {
      if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw usageError(`-${name}: expected an integer (got ${JSON.stringify(text)})`);
      }
      return Number(text);
    }
    case 'boolean':
      if (['true', '1', 't'].includes(text)) return true;
      if (['false', '0', 'f'].includes(text)) return false;
      throw usageError(`-${name}: expected true or false (got ${JSON.stringify(text)})`);
    case 'alertid':
      // pcapdaemon's alert ids are numbers; a number on the command line stays one.
      return /^\d{1,15}$/.test(text) ? Number(text) : text;
    case 'list': {
      // Repeatable, and comma-separated values are split: -interface eth0,eth1.
      const items = text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      return [...(Array.isArray(previous) ? previous : []), ...items];
    }
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown flag kind ${String(unreachable)}`);
    }
  }
}

function positive(name: string, text: string): number {
  const value = convert(name, 'integer', text, undefined) as number;
  if (value < 1) throw usageError(`-${name}: expected a positive integer (got ${value})`);
  return value;
}

/** "segment.seconds" sets fields.segment.seconds. */
function setField(fields: Record<string, unknown>, path: string, value: unknown): void {
  const [head = '', tail] = path.split('.', 2);
  if (tail === undefined) {
    fields[head] = value;
    return;
  }
  const inner = typeof fields[head] === 'object' && fields[head] !== null ? (fields[head] as Record<string, unknown>) : {};
  inner[tail] = value;
  fields[head] = inner;
}

export const REQUEST_USAGE = `usage: pcapd request [-config FILE] [--via redis|kafka|sqs|http] [request flags] [--wait]

Builds a capture request, validates it here with pcapd's request schema, and
publishes it through a listener configured in FILE (its connection settings:
[redis], [kafka], [sqs] or [http]).

request options (or --file request.json, "-" for stdin; flags override its fields):
  --node NAME | --nodere REGEX        target node(s); "any" matches every node
  --interface IF (repeatable, or a,b) | --alias NAME (repeatable)
  --bpf FILTER  --packets N  --duration S  --timeout S  --bytes N  --snap N
  --id ID  --alertid ID  --tags a,b  --format pcapng|pcap  --customer NAME
  --folder DIR  --segment-seconds S  --segment-bytes N
  --packetdebug  --logrequest  --encryption
  --reply redis:<channel>|kafka:<topic>|sqs:<queue-url>
  --eve FILE                          one line of Suricata eve.json (an alert; "-" for
                                      stdin) instead of --bpf: capture that flow until
                                      it ends; the alert's host and in_iface pick the
                                      node and interface unless flags name them

sending options:
  --via redis|kafka|sqs|http          default: the only broker listener FILE enables,
                                      else http
  --url http://HOST:PORT              with --via http: the API to post to (default:
                                      [http] host and port, token from [http])
  --wait                              wait for the result event and print it
                                      (a reply channel, topic or queue is made
                                      for it, and removed afterwards)
  --wait=armed                        wait only until the capture records (its
                                      "capturing" event), so traffic can follow
  --wait-timeout S                    give up waiting after S seconds (${DEFAULT_WAIT_TIMEOUT_SECONDS})
  --expect N                          wait for N result events (one per node)
  --dry-run                           validate and print the request; send nothing
  -config FILE                        the config whose listener settings to use
                                      (default: as for the daemon)
  -h, --help                          this text

Interface names cannot be checked here: the capturing node checks them (and
refuses the request with PCAPD_ERR_INTERFACE_UNKNOWN). An id and a timestamp
are added when missing. When FILE has [signing] secrets, the request is
sent signed with the first one (see README: signed requests).

exit status: 0 sent (with --wait: captured and delivered; with --wait=armed:
armed), 1 refused, failed or timed out, 2 usage error.

examples:
  pcapd request --node any --interface eth1 --bpf 'host 10.1.2.3' --packets 1000 --wait
  pcapd request -config /etc/pcapd/config.toml --nodere '^sensor-' --alias dmz --alertid 655443 --wait --expect 3
  pcapd request --file request.json --via kafka --dry-run`;
