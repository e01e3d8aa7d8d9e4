/**
 * Inputs for fuzzing every entry point, shared by the runner (fuzz/run.ts)
 * and the deterministic slice in the test suite (test/fuzz/). Each generator
 * mixes values pcapd should accept with the adversarial ones issue 14 names:
 * deep nesting, huge strings and numbers, NaN/Infinity/-0, __proto__ and
 * constructor keys, duplicate keys, invalid UTF-8 and Unicode tricks, BPF
 * libpcap cannot compile, nodere built to backtrack, messages at and beyond
 * maxrequestbytes.
 *
 * JSON is written by hand (JsonText) so that a message can carry what
 * JSON.stringify never writes: duplicate keys, 1e400, -0, 64-bit integers,
 * nesting deeper than any stack a recursive parser would survive.
 */
import fc from 'fast-check';

import { signatureOf } from '../src/requests/signature.js';

// --- the world the targets run in (see fuzz/targets.ts) ------------------------

/** This node's name in every fuzz config. */
export const NODE = 'sensor-01.nyc';
/** The one interface every host has; aliases in the fuzz configs point at it. */
export const IFACE = 'lo';
export const ALIASES = ['local', 'loopback'] as const;
export const SIGNING_SECRETS = ['fuzz-secret-0123456789abcdef0123456789', 'fuzz-secret-rotated-0123456789abcdef01'] as const;
export const ALLOWED_BUCKETS = ['pcapd-fuzz', 'pcapd-other'] as const;
export const HTTP_TOKEN = 'fuzz-token-0123456789abcdef';

// --- strings ------------------------------------------------------------------

/**
 * Characters that break naive checks: bidi and zero-width controls, NUL and
 * other C0/C1 controls, lone surrogates, line separators, homoglyphs of ".",
 * "/" and latin letters, combining marks, and the path and URL escapes that a
 * decoder somewhere might undo.
 */
export const TRICKY_PIECES = [
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200f',
  '\u200e',
  '\u061c',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00ad',
  '\u0000',
  '\u0001',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u009b',
  '\n',
  '\r',
  '\t',
  '\u000b',
  '\u000c',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udfff',
  '\udbff\udfff',
  '\ud83d\ude00',
  '\u0430',
  '\u0435',
  '\u043e',
  '\u0455',
  '\u0131',
  '\u0130',
  '\u017f',
  '\u212a',
  '\u00df',
  '\ufb01',
  '\uff0e',
  '\u2024',
  '\u3002',
  '\u2215',
  '\u2044',
  '\uff0f',
  '\u29f8',
  '\uff3c',
  '\u0301',
  '\u0338',
  '..',
  '.',
  '/',
  '\\',
  '//',
  '../',
  '..\\',
  '%2e%2e%2f',
  '%00',
  '%ff',
  '~',
  '$',
  '`',
  '"',
  "'",
  '{',
  '}',
  '[',
  ']',
  '*',
  '?',
  '|',
  ';',
  '&',
  '#',
  ':',
  '@',
  ' ',
  '\u00a0',
  '\u3000',
] as const;

const trickyPiece = fc.constantFrom(...TRICKY_PIECES);
const plainWord = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);

/** Sizes at and around the schema's and sinks' limits. */
export const EDGE_LENGTHS = [0, 1, 63, 64, 65, 127, 128, 129, 254, 255, 256, 257, 1023, 1024, 1025, 2048, 2049, 8192, 8193, 70_000] as const;

export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...EDGE_LENGTHS), fc.constantFrom('a', '\u00e9', '\u20ac', '\ud83d\ude00', '/', '.', '\u202e', '9'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

/** Any string, weighted towards the ones that break validators. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(trickyPiece, plainWord), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.oneof({ weight: 3, arbitrary: hugeString.filter((s) => s.length <= 1025) }, { weight: 1, arbitrary: hugeString }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'null', 'undefined', 'NaN', 'any', 'lo', '*'),
  },
);

// --- numbers ------------------------------------------------------------------

/** Numbers at the edges of JSON, JavaScript and the schema. */
export const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.0000001,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  1e21,
  1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  NaN,
  Infinity,
  -Infinity,
  4095,
  4096,
  65535,
  65536,
  262144,
  262145,
] as const;

export const nastyNumber: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(...EDGE_NUMBERS), fc.integer(), fc.nat({ max: 100_000 }), fc.double());

/**
 * Number tokens JSON.stringify never writes: beyond double range, beyond
 * 2^64, negative zero, exponents; and tokens that are not JSON at all.
 */
export const ODD_NUMBER_TOKENS = [
  '1e400',
  '-1e400',
  '1E+2',
  '1e-400',
  '-0',
  '-0.0',
  '0.0',
  '1.0',
  '100.000',
  '123456789012345678901234567890',
  '18446744073709551615',
  '18446744073709551616',
  '9007199254740993',
  '-9007199254740993',
] as const;
export const NOT_JSON_NUMBER_TOKENS = ['0x10', 'NaN', 'Infinity', '-Infinity', '01', '.5', '+1', '1.', '1e', '--1'] as const;
export const RAW_NUMBER_TOKENS = [...ODD_NUMBER_TOKENS, ...NOT_JSON_NUMBER_TOKENS] as const;

// --- JSON text -----------------------------------------------------------------

/** A JSON document written token by token. */
export type JsonText =
  { t: 'raw'; text: string } | { t: 'value'; value: unknown } | { t: 'obj'; entries: Array<[string, JsonText]> } | { t: 'arr'; items: JsonText[] };

export const raw = (text: string): JsonText => ({ t: 'raw', text });
export const val = (value: unknown): JsonText => ({ t: 'value', value });
export const obj = (entries: Array<[string, JsonText]>): JsonText => ({ t: 'obj', entries });

export function jsonText(node: JsonText): string {
  switch (node.t) {
    case 'raw':
      return node.text;
    case 'value':
      // undefined and functions have no JSON; a bigint is written as its digits.
      if (typeof node.value === 'bigint') return node.value.toString();
      return JSON.stringify(node.value) ?? 'null';
    case 'obj':
      return `{${node.entries.map(([key, value]) => `${JSON.stringify(key)}:${jsonText(value)}`).join(',')}}`;
    case 'arr':
      return `[${node.items.map(jsonText).join(',')}]`;
    default: {
      const unreachable: never = node;
      return unreachable;
    }
  }
}

/** Nesting far deeper than any schema expects; the text stays small. */
export const deepNesting: fc.Arbitrary<JsonText> = fc
  .tuple(fc.constantFrom(10, 100, 1000, 5000, 20_000), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => raw(open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth)));

/** Any JSON value, adversarial leaves included. */
export const nastyJson: fc.Arbitrary<JsonText> = fc.letrec<{ node: JsonText }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(nastyString, nastyNumber, fc.boolean(), fc.constant(null)).map(val),
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ODD_NUMBER_TOKENS) }, { weight: 1, arbitrary: fc.constantFrom(...NOT_JSON_NUMBER_TOKENS) }).map(raw),
    fc.array(tie('node'), { maxLength: 4 }).map((items): JsonText => ({ t: 'arr', items })),
    fc.array(fc.tuple(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor')), tie('node')), { maxLength: 4 }).map(obj),
    deepNesting,
  ),
})).node;

export const UNKNOWN_KEYS: fc.Arbitrary<string> = fc.constantFrom<string>(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'pakets',
  'Node',
  'node ',
  'interfaces',
  '',
  '\u0000',
  'bpf\u200b',
);

/** An object with optional fields: each present, absent, null or adversarial; keys sometimes twice. */
export function jsonObject(
  fields: Record<string, fc.Arbitrary<JsonText>>,
  options: { extraKeys?: fc.Arbitrary<string>; absentWeight?: number } = {},
): fc.Arbitrary<JsonText> {
  const extraKeys = options.extraKeys ?? UNKNOWN_KEYS;
  const present = Object.entries(fields).map(([key, value]) =>
    fc.oneof(
      { weight: options.absentWeight ?? 1, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc
          .oneof({ weight: 12, arbitrary: value }, { weight: 1, arbitrary: fc.constant(val(null)) }, { weight: 1, arbitrary: nastyJson })
          .map((node): [string, JsonText] => [key, node]),
      },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...present),
      fc.array(fc.tuple(extraKeys, nastyJson), { maxLength: 2 }),
      fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      fc.nat(),
    )
    .map(([entries, extra, duplicate, salt]) => {
      const kept = entries.filter((entry): entry is [string, JsonText] => entry !== undefined);
      const all = [...kept, ...(salt % 5 === 0 ? extra : [])];
      // A duplicate key: the last one wins in JSON.parse, the first in some other parsers.
      if (duplicate && all.length > 0) all.unshift([(all[salt % all.length] as [string, JsonText])[0], val('first-of-two')]);
      return obj(all);
    });
}

// --- request fields ---------------------------------------------------------------

const ANY_IPV4 = fc.ipV4();
const ANY_IPV6 = fc.ipV6();

/** BPF primitives libpcap accepts, with arguments at and beyond their ranges. */
const bpfPrimitive: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'tcp',
    'udp',
    'icmp',
    'icmp6',
    'ip',
    'ip6',
    'arp',
    'sctp',
    'vlan',
    'mpls',
    'ether broadcast',
    'ip multicast',
    'greater 100',
    'less 60',
    'tcp[tcpflags] & tcp-syn != 0',
    'ip[8] < 5',
    'ip proto \\tcp',
  ),
  fc
    .tuple(
      fc.constantFrom('host', 'src host', 'dst host', 'ip host', 'ip6 host'),
      fc.oneof(ANY_IPV4, ANY_IPV6, fc.constantFrom('localhost', '300.1.1.1', '::gg', '1.2.3')),
    )
    .map(([kind, addr]) => `${kind} ${addr}`),
  fc
    .tuple(fc.constantFrom('port', 'src port', 'tcp dst port', 'udp port'), fc.oneof(fc.nat({ max: 70_000 }), fc.constantFrom(-1, 65535, 65536)))
    .map(([kind, n]) => `${kind} ${n}`),
  fc.tuple(fc.nat({ max: 70_000 }), fc.nat({ max: 70_000 })).map(([a, b]) => `portrange ${a}-${b}`),
  fc.tuple(ANY_IPV4, fc.nat({ max: 40 })).map(([addr, bits]) => `net ${addr}/${bits}`),
  fc.nat({ max: 5000 }).map((id) => `vlan ${id}`),
  fc.constantFrom('ether host 00:11:22:33:44:55', 'ether host zz:zz:zz:zz:zz:zz', 'len <= 1514', 'ip[1000000:4] = 1', 'tcp[0:3] = 1', 'tcp[13] & 0x12 == 0x12'),
);

/** A BPF expression: primitives joined by and/or/not, parenthesised, sometimes mangled. */
export const bpfFilter: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(' and ', ' or ', ' and not ', ' && ', ' || '), bpfPrimitive), { minLength: 1, maxLength: 5 })
      .map((parts) => parts.map(([op, p], i) => (i === 0 ? p : op + p)).join('')),
  },
  { weight: 1, arbitrary: bpfPrimitive.map((p) => `(${p})`) },
  // Text libpcap cannot compile: stray tokens, unbalanced parentheses, NUL, Unicode.
  {
    weight: 2,
    arbitrary: fc
      .tuple(bpfPrimitive, fc.constantFrom(' andd ', ' (', ')', ' or', '\u0000', ' \u202e', ' port ', ' host ', ' !', ' [', ' 1.2.3.4.5', ' \\'), bpfPrimitive)
      .map(([a, junk, b]) => a + junk + b),
  },
  { weight: 1, arbitrary: nastyString },
  // Long and deep: big programs for libpcap's optimiser, within the 8192-character schema limit.
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 2, max: 400 }),
        fc.constantFrom('port N', 'host 10.0.N.1', 'portrange N-2000', 'net 10.N.0.0/16', 'tcp[N:2] = 1', 'vlan N'),
        fc.constantFrom(' or ', ' and ', ' and not '),
      )
      .map(([n, primitive, op]) =>
        Array.from({ length: n }, (_, i) => primitive.replaceAll('N', String(i % 255)))
          .join(op)
          .slice(0, 8192),
      ),
  },
  { weight: 1, arbitrary: fc.constantFrom(4000, 10_000).map((depth) => `${'('.repeat(depth)}tcp${')'.repeat(depth)}`.slice(0, 8192)) },
  { weight: 1, arbitrary: fc.constantFrom(`${'not '.repeat(2000)}tcp`, `${'tcp and '.repeat(1023)}tcp`.slice(0, 8192), 'x'.repeat(8193), '') },
);

/**
 * nodere: patterns that match this node, that do not, that RE2 refuses, and
 * patterns a backtracking engine would take exponential time on, or whose
 * counted repetitions expand into huge programs.
 */
export const nodePattern: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('^sensor', 'sensor-0[0-9]\\.nyc$', '.*', 'nyc', '^other$', '(?i)SENSOR', 'sensor|router', '^s.*c$', '\\bnyc\\b'),
  // Backtracking bait: linear in RE2, exponential in a backtracking engine.
  fc.constantFrom('(a+)+$', '(a|aa)*b', '(.*)*x', '(x+x+)+y', '(\\w+\\s?)*$', '^(([a-z])+.)+[A-Z]([a-z])+$', '(a*)*b', '(.*a){20}'),
  // Program-size bait: counted repetition copies its operand, Unicode classes expand.
  fc.constantFrom(
    '\\pN{1000}',
    '.{256}',
    '.{257}',
    'a{1000}{1000}',
    '((a{100}){100}){100}',
    '(?:\\p{Greek}|\\p{Han}){200}',
    '[^a]{1000}',
    '\\Q' + 'a'.repeat(3000) + '\\E',
    `(${'a|'.repeat(400)}b)`,
    'x{1,1000}',
  ),
  // Not RE2: lookaround, backreferences, bad syntax.
  fc.constantFrom('(?=a)', '(a)\\1', '(', ')', '[', 'a{2,1}', '\\', '(?<', '*', 'a**', '(?P<n>x)(?P=n)', '\\C', '\\p{Nope}', '[z-a]'),
  fc
    .tuple(
      fc.constantFrom('(', '(?:', ''),
      fc.constantFrom('.', 'a', '\\d', '[a-z]', '\\pL'),
      fc.constantFrom('{1000}', '{1,}', '*', '+', '{999999}', '{1000,1000}'),
      fc.constantFrom(')', ''),
    )
    .map((parts) => parts.join('')),
  nastyString,
);

const limitValue: fc.Arbitrary<JsonText> = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 2_000_000 }).map(val) },
  { weight: 3, arbitrary: nastyNumber.map(val) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_NUMBER_TOKENS).map(raw) },
  { weight: 1, arbitrary: fc.constantFrom('50', '', '1e3', true, [1], { n: 1 }).map(val) },
);

export const folderValue: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/), { minLength: 1, maxLength: 10 }).map((parts) => parts.join('/')),
  fc.array(fc.oneof(plainWord, trickyPiece, fc.constantFrom('..', '.', '', '/')), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
  fc.constantFrom(
    '/etc',
    '../x',
    'a/../../b',
    'a//b',
    'a/',
    '/',
    './a',
    'a\\..\\b',
    'C:\\x',
    '%2e%2e/x',
    '\u2024\u2024/x',
    '\uff0e\uff0e/x',
    'a/\u0000/b',
    '~root',
    '$HOME',
  ),
  hugeString,
);

const timestampValue: fc.Arbitrary<JsonText> = fc.oneof(
  // Near "now" in epoch seconds, within and beyond the freshness windows.
  fc.integer({ min: -4000, max: 4000 }).map((offsetSeconds): JsonText => ({ t: 'value', value: { nowOffsetSeconds: offsetSeconds } })),
  fc
    .constantFrom(
      '2024-05-01T12:00:00Z',
      '2024-05-01T12:00:00+25:00',
      '2024-02-30T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '0000-01-01T00:00:00Z',
      '2024-05-01',
      'yesterday',
      '2024-05-01T12:00:00.123456789Z',
    )
    .map(val),
  nastyNumber.map(val),
  fc.constantFrom(...RAW_NUMBER_TOKENS).map(raw),
);

/**
 * `{nowOffsetSeconds}` placeholders become epoch seconds when a case runs,
 * so a shrunk counterexample replays against the clock of its own run.
 */
export function resolveTimes(node: JsonText, nowMs: number): JsonText {
  switch (node.t) {
    case 'value': {
      const v = node.value as { nowOffsetSeconds?: unknown } | null;
      if (typeof v === 'object' && v !== null && typeof v.nowOffsetSeconds === 'number' && Object.keys(v).length === 1) {
        return val(Math.floor(nowMs / 1000) + v.nowOffsetSeconds);
      }
      return node;
    }
    case 'obj':
      return obj(node.entries.map(([k, v]) => [k, resolveTimes(v, nowMs)]));
    case 'arr':
      return { t: 'arr', items: node.items.map((item) => resolveTimes(item, nowMs)) };
    default:
      return node;
  }
}

const nameList = (names: fc.Arbitrary<string>): fc.Arbitrary<JsonText> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(names, { minLength: 1, maxLength: 3 }).map(val) },
    { weight: 1, arbitrary: fc.array(names, { minLength: 15, maxLength: 18 }).map(val) },
    { weight: 1, arbitrary: fc.constantFrom([], [''], [1], 'lo', [null], [['lo']]).map(val) },
  );

const interfaceName = fc.oneof(
  { weight: 6, arbitrary: fc.constant(IFACE) },
  { weight: 1, arbitrary: fc.constantFrom('eth0', 'nosuch0', 'lo ', 'LO', 'l\u043e', '../lo', 'lo/', '.', '..', 'any', 'nflog') },
  { weight: 1, arbitrary: nastyString },
);
const aliasName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ALIASES) },
  { weight: 1, arbitrary: fc.constantFrom('Local', 'loc\u0430l', 'missing') },
  { weight: 1, arbitrary: nastyString },
);

const replyValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'redis:results',
    'kafka:results',
    'sqs:http://127.0.0.1:9324/000000000000/results',
    'sqs:http://evil.example/000/q',
    'redis:',
    'redis:a b',
    'kafka:x/y',
    'sqs:ftp://x/y',
    'sqs:http://[::1',
    'http:x',
    ':',
    'redis:\u0000',
  ),
  fc.tuple(fc.constantFrom('redis:', 'kafka:', 'sqs:'), nastyString).map(([scheme, name]) => scheme + name),
  nastyString,
);

export const requestIdValue: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
  fc.constantFrom('a'.repeat(128), 'a'.repeat(129), '-x', '.', '..', 'a/b', 'a\u0000', '\u0430bc'),
  nastyString,
);

// --- EVE ------------------------------------------------------------------------

const ipText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('127.0.0.1', '10.1.2.3', '192.0.2.7') },
  ANY_IPV4,
  ANY_IPV6,
  // As Suricata writes IPv6: every group, every zero.
  ANY_IPV6.map((addr) => addr.toUpperCase()),
  fc.constantFrom(
    '127.0.0.1',
    '::1',
    '::ffff:127.0.0.1',
    'fe80::1%eth0',
    '2001:0db8:0000:0000:0000:0000:0000:0001',
    '1.2.3.4.5',
    '01.02.03.04',
    '256.1.1.1',
    '::',
    '0.0.0.0',
    'localhost',
    '1.2.3.4 ',
    '1.2.3.4\u0000',
  ),
  nastyString,
);

const eveTimeValue = fc.oneof(
  { weight: 3, arbitrary: fc.constant('2026-11-29T10:11:12.123456+0000') },
  fc.constantFrom(
    '2026-11-29T10:11:12.123456+0000',
    '2026-11-29T10:11:12Z',
    '2026-11-29T10:11:12+00:00',
    '2026-02-30T00:00:00+0000',
    '2026-11-29T10:11:12+2400',
    '2026-11-29T25:11:12+0000',
    '0000-01-01T00:00:00+0000',
    '9999-12-31T23:59:59.999999999-2359',
    '2026-11-29 10:11:12',
  ),
  nastyString,
);

const protoValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('TCP', 'UDP', 'ICMP') },
  fc.constantFrom(
    'TCP',
    'UDP',
    'SCTP',
    'ICMP',
    'IPv6-ICMP',
    'GRE',
    'ESP',
    'tcp',
    '6',
    '17',
    '1',
    '58',
    '255',
    '256',
    '0',
    '006',
    'Any',
    'toString',
    '__proto__',
    'constructor',
    'hasOwnProperty',
  ),
  nastyString,
);

const flowIdValue: fc.Arbitrary<JsonText> = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(val) },
  fc.constantFrom('18446744073709551615', '18446744073709551616', '-1', '1.5', '1e5', '00000000000000000000001').map(raw),
  fc.constantFrom('1234', '18446744073709551615', '18446744073709551616', '-1', '0x10', '').map(val),
  nastyNumber.map(val),
);

const port = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 65535 }).map(val) }, { weight: 1, arbitrary: limitValue });
const smallInt = (max: number): fc.Arbitrary<JsonText> => fc.oneof({ weight: 4, arbitrary: fc.nat({ max }).map(val) }, { weight: 1, arbitrary: limitValue });

const eveText = fc.oneof({ weight: 4, arbitrary: plainWord }, { weight: 1, arbitrary: nastyString });

/** A Suricata EVE event, mostly an alert, with Suricata's fields at and beyond their ranges. */
export const eveEvent: fc.Arbitrary<JsonText> = jsonObject(
  {
    timestamp: eveTimeValue.map(val),
    flow_id: flowIdValue,
    in_iface: interfaceName.map(val),
    event_type: fc
      .oneof(
        { weight: 6, arbitrary: fc.constant('alert') },
        { weight: 1, arbitrary: fc.constantFrom('flow', 'dns', 'stats', 'Alert', 'unknown-type') },
        { weight: 1, arbitrary: nastyString },
      )
      .map(val),
    src_ip: ipText.map(val),
    src_port: port,
    dest_ip: ipText.map(val),
    dest_port: port,
    proto: protoValue.map(val),
    icmp_type: smallInt(300),
    icmp_code: smallInt(300),
    vlan: fc.oneof(fc.array(fc.nat({ max: 5000 }), { maxLength: 4 }).map(val), limitValue),
    community_id: eveText.map(val),
    host: fc.oneof(fc.constantFrom(NODE, 'other-sensor'), nastyString).map(val),
    app_proto: eveText.map(val),
    pkt_src: eveText.map(val),
    alert: jsonObject({
      signature_id: smallInt(5_000_000_000),
      signature: eveText.map(val),
      gid: smallInt(10),
      rev: smallInt(10),
      category: eveText.map(val),
      severity: smallInt(300),
      action: fc.constantFrom('allowed', 'blocked').map(val),
    }),
    flow: jsonObject({ start: eveTimeValue.map(val), pkts_toserver: smallInt(10) }),
  },
  { extraKeys: fc.constantFrom('__proto__', 'constructor', 'ether', 'metadata', 'tx_id', 'http'), absentWeight: 1 },
);

/** One complete alert (TCP, UDP or ICMP on loopback) with one field from the adversarial generator. */
export const nearlyValidEve: fc.Arbitrary<JsonText> = fc
  .tuple(
    fc.constantFrom<Array<[string, JsonText]>>(
      [
        ['event_type', val('alert')],
        ['src_ip', val('127.0.0.1')],
        ['src_port', val(40000)],
        ['dest_ip', val('127.0.0.1')],
        ['dest_port', val(80)],
        ['proto', val('TCP')],
        ['in_iface', val(IFACE)],
        ['flow_id', raw('1844674407370955161')],
        ['alert', val({ signature_id: 2_100_498, signature: 'GPL ATTACK_RESPONSE id check returned root' })],
      ],
      [
        ['event_type', val('alert')],
        ['src_ip', val('::1')],
        ['src_port', val(5353)],
        ['dest_ip', val('::1')],
        ['dest_port', val(53)],
        ['proto', val('UDP')],
        ['timestamp', val('2026-11-29T10:11:12.123456+0000')],
      ],
      [
        ['event_type', val('alert')],
        ['src_ip', val('127.0.0.1')],
        ['dest_ip', val('127.0.0.2')],
        ['proto', val('ICMP')],
        ['icmp_type', val(8)],
        ['icmp_code', val(0)],
        ['vlan', val([10])],
      ],
    ),
    eveEvent,
  )
  .map(([base, extra]) => {
    if (extra.t !== 'obj' || extra.entries.length === 0) return obj(base);
    const [one] = extra.entries;
    return obj([...base.filter(([key]) => key !== (one as [string, JsonText])[0]), one as [string, JsonText]]);
  });

/** What a `messages = "eve"` listener receives: an EVE line, often an alert, sometimes not JSON at all. */
export const eveLine: fc.Arbitrary<JsonText> = fc.oneof(
  { weight: 4, arbitrary: eveEvent },
  { weight: 5, arbitrary: nearlyValidEve },
  { weight: 1, arbitrary: nastyJson },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '\n', '{', '{"event_type":"alert"', 'null', '[]', '"alert"', '{"event_type":"alert"}\n{"event_type":"alert"}').map(raw),
  },
);

// --- requests -------------------------------------------------------------------

/** A capture request: each field plausible or adversarial, so that many cases get deep into validation. */
export const captureRequest: fc.Arbitrary<JsonText> = jsonObject(
  {
    node: fc
      .oneof(
        { weight: 6, arbitrary: fc.constantFrom('any', NODE) },
        { weight: 1, arbitrary: fc.constantFrom('other', NODE.toUpperCase(), `${NODE}\u0000`, `s\u0435nsor-01.nyc`, `${NODE}\u200b`) },
        { weight: 1, arbitrary: nastyString },
      )
      .map(val),
    nodere: nodePattern.map(val),
    interface: nameList(interfaceName),
    alias: nameList(aliasName),
    tags: fc
      .oneof(
        fc
          .array(fc.oneof({ weight: 4, arbitrary: plainWord }, { weight: 1, arbitrary: fc.array(trickyPiece, { maxLength: 3 }).map((p) => p.join('')) }), {
            maxLength: 80,
          })
          .map((tags) => tags.join(',')),
        nastyString,
      )
      .map(val),
    bpf: bpfFilter.map(val),
    customer: nastyString.map(val),
    snap: limitValue,
    packets: limitValue,
    alertid: fc.oneof(nastyNumber, nastyString).map(val),
    timeout: limitValue,
    duration: limitValue,
    bytes: limitValue,
    packetdebug: fc.oneof(fc.boolean(), fc.constantFrom('true', 1, 0)).map(val),
    logrequest: fc.oneof(fc.boolean(), fc.constantFrom('false', null)).map(val),
    folder: folderValue.map(val),
    bucket: fc.oneof(fc.constantFrom(...ALLOWED_BUCKETS, 'pcapd-evil', 'PCAPD-FUZZ', 'pcapd-fuzz '), nastyString).map(val),
    acl: fc.oneof(fc.constantFrom('private', 'public-read', 'bucket-owner-full-control', 'Private'), nastyString).map(val),
    region: fc.oneof(fc.constantFrom('us-east-1', 'eu-west-1', 'us-east-1 '), nastyString).map(val),
    endpoint: fc
      .oneof(
        fc.constantFrom('http://127.0.0.1:7070', 'https://s3.example.com', 'http://169.254.169.254/', 'file:///etc/passwd', 'http://[::1', 'javascript:x'),
        nastyString,
      )
      .map(val),
    encryption: fc.oneof(fc.boolean(), fc.constantFrom('yes', 1)).map(val),
    id: requestIdValue.map(val),
    format: fc.oneof(fc.constantFrom('pcap', 'pcapng', 'PCAP', 'erf'), nastyString).map(val),
    segment: jsonObject({ seconds: limitValue, bytes: limitValue }),
    lookback: limitValue,
    eve: fc.oneof(eveEvent, nearlyValidEve),
    reply: replyValue.map(val),
    replyon: fc.oneof(fc.subarray(['armed', 'done']).map(val), fc.constantFrom(['armed', 'armed', 'done'], ['never'], 'done', [1]).map(val)),
    timestamp: timestampValue,
  },
  { absentWeight: 4 },
);

/** Mostly a request that should be accepted, with one field set from the adversarial generator. */
export const nearlyValidRequest: fc.Arbitrary<JsonText> = fc
  .tuple(
    fc.constantFrom<Array<[string, JsonText]>>(
      [
        ['node', val('any')],
        ['interface', val([IFACE])],
      ],
      [
        ['node', val(NODE)],
        ['alias', val(['local'])],
      ],
      [
        ['nodere', val('^sensor')],
        ['interface', val([IFACE])],
        ['bpf', val('tcp port 80')],
      ],
      [
        ['node', val('any')],
        ['eve', val({ event_type: 'alert', src_ip: '127.0.0.1', src_port: 40000, dest_ip: '127.0.0.1', dest_port: 80, proto: 'TCP', in_iface: IFACE })],
      ],
    ),
    captureRequest,
  )
  .map(([base, extra]) => {
    if (extra.t !== 'obj' || extra.entries.length === 0) return obj(base);
    const [one] = extra.entries;
    return obj([...base.filter(([key]) => key !== (one as [string, JsonText])[0]), one as [string, JsonText]]);
  });

// --- message bodies ----------------------------------------------------------------

/** How a listener hands a body over: HTTP and SQS as text, Kafka and Redis streams as bytes, Redis pub/sub as text. */
export type BodyForm = 'string' | 'buffer';

export interface Body {
  form: BodyForm;
  /** The JSON document, before any byte-level mutation. */
  doc: JsonText;
  /** Byte-level change: none, invalid UTF-8 spliced in, or padded to the size limit. */
  mutation:
    | { kind: 'none' }
    | { kind: 'bad-utf8'; at: number; bytes: readonly number[] }
    | { kind: 'pad'; delta: number; unit: string }
    | { kind: 'whitespace'; text: string };
}

const badUtf8 = fc.constantFrom<number[]>(
  [0xff],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80],
  [0xc3],
  [0xef, 0xbb, 0xbf],
  [0x00],
);

export const bodyMutation: fc.Arbitrary<Body['mutation']> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad-utf8' as const), at: fc.nat(), bytes: badUtf8 }) },
  // Padded to maxrequestbytes + delta bytes, with multi-byte characters that straddle the limit.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('pad' as const),
      delta: fc.constantFrom(-2, -1, 0, 1, 2, 3, 1024),
      unit: fc.constantFrom(' ', 'a', '\u00e9', '\u20ac', '\ud83d\ude00'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('whitespace' as const), text: fc.constantFrom('\ufeff', '\u00a0', '\n', '\r\n', '\t', '\u2028', ' \u0000') }),
  },
);

/** The bytes (or text) a listener would hand to the intake. */
export function renderBody(body: Body, maxRequestBytes: number, nowMs: number): string | Buffer {
  let text = jsonText(resolveTimes(body.doc, nowMs));
  const { mutation } = body;
  if (mutation.kind === 'whitespace') text = mutation.text + text + mutation.text;
  if (mutation.kind === 'pad') text = padded(text, maxRequestBytes + mutation.delta, mutation.unit);
  if (mutation.kind === 'bad-utf8') {
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.length === 0 ? 0 : mutation.at % bytes.length;
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(mutation.bytes), bytes.subarray(at)]);
  }
  return body.form === 'buffer' ? Buffer.from(text, 'utf8') : text;
}

/**
 * `text` grown to about `targetBytes` UTF-8 bytes: inside a string field when
 * it is an object (so it stays JSON), else with trailing spaces.
 */
function padded(text: string, targetBytes: number, unit: string): string {
  const missing = targetBytes - Buffer.byteLength(text, 'utf8');
  if (missing <= 0) return text;
  const isObject = text.startsWith('{') && text.endsWith('}');
  const overhead = isObject ? Buffer.byteLength(`,"customer":""`, 'utf8') + (text === '{}' ? -1 : 0) : 0;
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  const count = Math.max(0, Math.floor((missing - overhead) / unitBytes));
  const fill = unit.repeat(count) + ' '.repeat(Math.max(0, missing - overhead - count * unitBytes));
  if (!isObject) return text + ' '.repeat(missing);
  const sep = text === '{}' ? '' : ',';
  return `${text.slice(0, -1)}${sep}"customer":"${fill}"}`;
}

export const requestBody: fc.Arbitrary<Body> = fc.record({
  form: fc.constantFrom<BodyForm>('string', 'buffer'),
  doc: fc.oneof({ weight: 4, arbitrary: captureRequest }, { weight: 4, arbitrary: nearlyValidRequest }, { weight: 1, arbitrary: nastyJson }),
  mutation: bodyMutation,
});

// --- signed envelopes ------------------------------------------------------------

/** Mostly inside the replay window (300 s in the fuzz configs), sometimes beyond. */
const signedTimestamp: fc.Arbitrary<JsonText> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -290, max: 290 }).map((offsetSeconds): JsonText => ({ t: 'value', value: { nowOffsetSeconds: offsetSeconds } })) },
  { weight: 1, arbitrary: timestampValue },
);

export interface Envelope {
  inner: JsonText;
  /** Which secret signs it: a configured one, a wrong one, or a malformed signature. */
  signer: 'secret-0' | 'secret-1' | 'wrong-secret' | 'uppercase' | 'truncated' | 'sha1' | 'missing' | 'not-a-string';
  /** The signed text is the request as sent, or altered after signing. */
  tamper: 'none' | 'append-space' | 'unicode-normalised' | 'flip-byte';
  extraKey: boolean;
  /** Keys written as signature first, or signed twice (duplicate key). */
  layout: 'signed-first' | 'signature-first' | 'duplicate-signed' | 'nested-envelope';
}

const signedRequestDoc: fc.Arbitrary<JsonText> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        nearlyValidRequest,
        fc.option(fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/) }, { weight: 1, arbitrary: requestIdValue }), {
          freq: 8,
          nil: undefined,
        }),
        fc.option(signedTimestamp, { freq: 8, nil: undefined }),
      )
      .map(([doc, id, ts]) => {
        if (doc.t !== 'obj') return doc;
        const entries = doc.entries.filter(([k]) => k !== 'id' && k !== 'timestamp');
        if (id !== undefined) entries.push(['id', val(id)]);
        if (ts !== undefined) entries.push(['timestamp', ts]);
        return obj(entries);
      }),
  },
  { weight: 1, arbitrary: captureRequest },
  { weight: 1, arbitrary: nastyJson },
);

export const envelope: fc.Arbitrary<Envelope> = fc.record({
  inner: signedRequestDoc,
  signer: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<Envelope['signer']>('secret-0', 'secret-0', 'secret-1') },
    { weight: 6, arbitrary: fc.constantFrom<Envelope['signer']>('wrong-secret', 'uppercase', 'truncated', 'sha1', 'missing', 'not-a-string') },
  ),
  tamper: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Envelope['tamper']>('none') },
    { weight: 3, arbitrary: fc.constantFrom<Envelope['tamper']>('append-space', 'unicode-normalised', 'flip-byte') },
  ),
  extraKey: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  layout: fc.constantFrom<Envelope['layout']>('signed-first', 'signed-first', 'signed-first', 'signature-first', 'duplicate-signed', 'nested-envelope'),
});

/** The envelope's JSON text. */
export function renderEnvelope(envelope: Envelope, nowMs: number): string {
  const signedText = jsonText(resolveTimes(envelope.inner, nowMs));
  const signature = signatureFor(envelope.signer, signedText);
  const sent = tampered(signedText, envelope.tamper);
  const entries: Array<[string, JsonText]> = [];
  const signedEntry: [string, JsonText] = ['signed', val(sent)];
  const signatureEntry: [string, JsonText] | undefined =
    signature === undefined ? undefined : ['signature', envelope.signer === 'not-a-string' ? val(12345) : val(signature)];
  if (envelope.layout === 'signature-first' && signatureEntry) entries.push(signatureEntry, signedEntry);
  else entries.push(signedEntry, ...(signatureEntry ? [signatureEntry] : []));
  // The first "signed" is what was signed; JSON.parse keeps the last one.
  if (envelope.layout === 'duplicate-signed') entries.push(['signed', val(`${sent} `)]);
  if (envelope.extraKey) entries.push(['node', val('any')]);
  const text = jsonText(obj(entries));
  if (envelope.layout !== 'nested-envelope') return text;
  return jsonText(
    obj([
      ['signed', val(text)],
      ['signature', val(signatureOf(text, SIGNING_SECRETS[0]))],
    ]),
  );
}

function signatureFor(signer: Envelope['signer'], text: string): string | undefined {
  switch (signer) {
    case 'secret-0':
      return signatureOf(text, SIGNING_SECRETS[0]);
    case 'secret-1':
      return signatureOf(text, SIGNING_SECRETS[1]);
    case 'wrong-secret':
      return signatureOf(text, 'not-the-secret-0123456789abcdef0123456789');
    case 'uppercase':
      return signatureOf(text, SIGNING_SECRETS[0]).toUpperCase();
    case 'truncated':
      return signatureOf(text, SIGNING_SECRETS[0]).slice(0, -1);
    case 'sha1':
      return `sha1=${signatureOf(text, SIGNING_SECRETS[0]).slice(7, 47)}`;
    case 'missing':
      return undefined;
    case 'not-a-string':
      return '';
    default: {
      const unreachable: never = signer;
      return unreachable;
    }
  }
}

function tampered(text: string, tamper: Envelope['tamper']): string {
  switch (tamper) {
    case 'none':
      return text;
    case 'append-space':
      return `${text} `;
    case 'unicode-normalised':
      return text.normalize('NFKC');
    case 'flip-byte':
      return text.length === 0 ? 'x' : text.slice(0, -1) + String.fromCharCode(((text.at(-1) ?? 'x').charCodeAt(0) + 1) % 0x10000);
    default: {
      const unreachable: never = tamper;
      return unreachable;
    }
  }
}

// --- HTTP -------------------------------------------------------------------------

export interface HttpCase {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'HEAD' | 'OPTIONS';
  path: string;
  query: string;
  headers: Record<string, string>;
  body: Body | undefined;
}

/** Header values an HTTP parser lets through: visible Latin-1, spaces and tabs (no CR, LF or NUL). */
const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcXYZ019 \t!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~\u00e9\u00ff'.split('')), maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    'Bearer',
    'Bearer ',
    `Bearer ${HTTP_TOKEN}`,
    `bearer ${HTTP_TOKEN}`,
    `Bearer ${HTTP_TOKEN} `,
    `Bearer  ${HTTP_TOKEN}`,
    `Bearer ${HTTP_TOKEN}x`,
    `Basic ${Buffer.from('a:b').toString('base64')}`,
    'Bearer \u00e9\u00e9',
  ),
);

const pathSegment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/),
  fc.constantFrom('%00', '%2e%2e', '..', '%2F', '%E0%A4%A', '%ZZ', '%', '%C0%AF', '%F0%9F%98%80', '%ED%A0%80', 'a'.repeat(3000), ''),
  nastyString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))),
);

const queryPart = fc.oneof(
  fc.constantFrom(
    'wait',
    'wait=',
    'wait=done',
    'wait=armed',
    'wait=1',
    'wait=no',
    'wait=armed&wait=done',
    'timeout=0',
    'timeout=-5',
    'timeout=1e400',
    'timeout=NaN',
    'timeout=0.001',
    'file=0',
    'file=-1',
    'file=1e3',
    'file=x',
    'file=',
    'file=0&file=1',
    '__proto__=1',
    'constructor[prototype][x]=1',
    'a[b]=c',
    '%ZZ=1',
    '=',
    '&&',
    '?',
  ),
  fc.tuple(fc.constantFrom('wait', 'timeout', 'file', 'x', 'id', 'from', 'limit', 'cursor'), pathSegment).map(([k, v]) => `${k}=${v}`),
);

export const httpCase: fc.Arbitrary<HttpCase> = fc.record({
  method: fc.constantFrom<HttpCase['method']>('POST', 'POST', 'POST', 'GET', 'GET', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'),
  path: fc.oneof(
    { weight: 4, arbitrary: fc.constant('/captures') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '/captures/',
        '/captures/:id',
        '/captures/:id/pcap',
        '/healthz',
        '/stats',
        '/metrics',
        '/interfaces',
        '/schema/request',
        '/',
        '//captures',
        '/captures/../stats',
        '/CAPTURES',
        '/captures?',
        '/captures#x',
        '/files',
        '/files/',
        '/files/../config.toml',
        '/files/%2e%2e/x.pcap',
        '/files/a%2fb.pcap',
        '/files/a%00.pcap',
        '/files//etc/passwd.pcap',
      ),
    },
    { weight: 2, arbitrary: fc.tuple(pathSegment, fc.constantFrom('', '/pcap', '/x', '/')).map(([segment, tail]) => `/captures/${segment}${tail}`) },
    { weight: 1, arbitrary: fc.tuple(pathSegment, fc.constantFrom('', '.pcap', '.pcapng', '/x.pcap')).map(([segment, tail]) => `/files/${segment}${tail}`) },
  ),
  query: fc.array(queryPart, { maxLength: 3 }).map((parts) => (parts.length === 0 ? '' : `?${parts.join('&')}`)),
  headers: fc.record(
    {
      authorization: headerValue,
      'content-type': fc.oneof(
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-16',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/octet-stream',
          '',
          '*/*',
          ';;;',
        ),
        headerValue,
      ),
      accept: fc.constantFrom('application/json', '*/*', 'text/html', ''),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
      'x-request-id': headerValue,
      range: fc.oneof(fc.constantFrom('bytes=0-9', 'bytes=-5', 'bytes=99999999-', 'bytes=5-2', 'bytes=0-1,3-4'), headerValue),
    },
    { requiredKeys: [] },
  ),
  body: fc.option(requestBody, { freq: 5, nil: undefined }),
});
