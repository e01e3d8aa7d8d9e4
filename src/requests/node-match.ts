/**
 * Does a request target this node? `node` is an exact name or pcapdaemon's
 * keyword "any"; `nodere` is a regular expression run by RE2 (linear time, no
 * backtracking: `^(a+)+$` against a long name cannot stall the event loop),
 * with the same unanchored search semantics as pcapdaemon's Go
 * regexp.MatchString.
 */
import { createRequire } from 'node:module';

import { PcapdError } from '../errors.js';

// re2's types declare `export =`; without esModuleInterop TypeScript refuses a
// default import of it (TS1259), so it is loaded as CommonJS, typed once here.
type RE2Class = typeof import('re2');
type RE2 = RE2Class['prototype'];
let re2Class: RE2Class | undefined;

/** re2 is loaded by the first `nodere` request: a fleet that targets by `node` never pays for it. */
function loadRE2(): RE2Class {
  re2Class ??= createRequire(import.meta.url)('re2') as RE2Class;
  return re2Class;
}

/** pcapdaemon's keyword: a request for node "any" runs on every node. */
export const ANY_NODE = 'any';

export type NodeTarget = { kind: 'node'; node: string } | { kind: 'nodere'; pattern: string };

/** Exactly one of node / nodere, as pcapdaemon required. */
export function nodeTargetOf(request: { node?: string | undefined; nodere?: string | undefined }): NodeTarget {
  const { node, nodere } = request;
  if (node !== undefined && nodere !== undefined) {
    throw new PcapdError('PCAPD_ERR_REQUEST_TARGET', 'the request names both node and nodere; name exactly one');
  }
  if (node !== undefined) return { kind: 'node', node };
  if (nodere !== undefined) return { kind: 'nodere', pattern: nodere };
  throw new PcapdError('PCAPD_ERR_REQUEST_TARGET', `the request names neither node nor nodere; name exactly one (node "${ANY_NODE}" targets every node)`);
}

export function matchesNode(target: NodeTarget, nodeName: string, cache: PatternCache = defaultPatternCache): boolean {
  switch (target.kind) {
    case 'node':
      return target.node === nodeName || target.node === ANY_NODE;
    case 'nodere':
      return cache.compile(target.pattern).test(nodeName);
    default: {
      const unreachable: never = target;
      return unreachable;
    }
  }
}

/**
 * RE2 never backtracks, but compiling can still be expensive: counted
 * repetition copies its operand, and Unicode-wide atoms expand into many UTF-8
 * byte ranges. Measured here with re2 1.24: `\pN{1000}` (9 characters)
 * compiles in 170 ms on the event loop and holds 4 MB of native memory that
 * V8 does not see (re2 reports none), so a flood of such patterns stalls the
 * daemon and grows RSS by gigabytes before a GC frees them. Node names are
 * at most 255 characters, so nothing useful needs a big expansion: patterns
 * are priced before compiling and refused above the budget.
 *
 * Units are roughly "compiled instructions of one ASCII atom". Measured
 * compile cost per copy: ASCII class 1.2 µs, `.` or a negated class 4 µs,
 * `\pN` 170 µs; the weights round those up (a `.` also holds ~0.5 KB).
 *
 * The budget leaves room for a 1024-character alternation of host names with
 * an unescaped dot every 8 characters; `.{256}` fits (under 1 ms to compile),
 * `.{257}` and `\pN{9}` do not.
 */
export const PATTERN_COST_BUDGET = 2048;
const COST_ASCII = 1;
const COST_WIDE = 8;
const COST_UNICODE_CLASS = 256;

interface Frame {
  total: number;
  /** Cost of the last atom or group, which a following {n} copies. */
  last: number;
}

/**
 * An upper estimate of a pattern's compiled size in cost units. A linear scan,
 * not a parser: it only needs to see atoms, groups and counted repetitions;
 * RE2 itself rejects what is malformed.
 */
export function patternCost(pattern: string): number {
  const stack: Frame[] = [{ total: 0, last: 0 }];
  const top = (): Frame => stack[stack.length - 1] as Frame;
  const addAtom = (cost: number): void => {
    top().total += cost;
    top().last = cost;
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    const rep = c === '{' ? repetitionAt(pattern, i) : undefined;
    if (c === '\\') {
      const esc = escapeAt(pattern, i);
      addAtom(esc.cost);
      i += esc.length;
    } else if (c === '[') {
      const cls = classAt(pattern, i);
      addAtom(cls.cost);
      i += cls.length;
    } else if (c === '(') {
      stack.push({ total: 0, last: 0 });
      i = skipGroupPrefix(pattern, i + 1);
    } else if (c === ')') {
      if (stack.length > 1) addAtom((stack.pop() as Frame).total);
      i += 1;
    } else if (rep !== undefined) {
      const frame = top();
      frame.total += frame.last * (rep.copies - 1);
      frame.last *= rep.copies;
      i += rep.length;
    } else {
      // * + ? | ^ $ loop or anchor without copying; everything else is a literal.
      if (!'*+?|^$'.includes(c)) addAtom(c === '.' ? COST_WIDE : COST_ASCII);
      i += 1;
    }
  }
  // Unclosed groups (RE2 will reject the pattern) still count.
  return stack.reduce((sum, frame) => sum + frame.total, 0);
}

const REPETITION = /^\{(\d{1,6})(,(\d{0,6}))?\}/;

function repetitionAt(pattern: string, i: number): { copies: number; length: number } | undefined {
  const match = REPETITION.exec(pattern.slice(i, i + 16));
  if (match === null) return undefined;
  const min = Number(match[1]);
  const max = match[3] === undefined || match[3] === '' ? min : Number(match[3]);
  return { copies: Math.max(1, min, max), length: match[0].length };
}

/** `\pN`, `\p{Greek}`, `\x{10FFFF}`, `\Q...\E`, `\D`, `\.`: length and cost. */
function escapeAt(pattern: string, i: number): { length: number; cost: number } {
  const d = pattern[i + 1];
  if (d === undefined) return { length: 1, cost: COST_ASCII };
  const braced = pattern[i + 2] === '{' ? pattern.indexOf('}', i + 2) : -1;
  const bracedLength = braced === -1 ? undefined : braced - i + 1;
  if (d === 'p' || d === 'P') return { length: bracedLength ?? 3, cost: COST_UNICODE_CLASS };
  if (d === 'x') return { length: bracedLength ?? 4, cost: bracedLength === undefined ? COST_ASCII : COST_WIDE };
  if (d === 'Q') {
    const end = pattern.indexOf('\\E', i + 2);
    const stop = end === -1 ? pattern.length : end + 2;
    return { length: stop - i, cost: stop - i };
  }
  // \D \S \W are negated classes: every code point but a few.
  return { length: 2, cost: 'DSW'.includes(d) ? COST_WIDE : COST_ASCII };
}

/** `[...]`: negated, Unicode or non-ASCII classes are wide. */
function classAt(pattern: string, i: number): { length: number; cost: number } {
  let j = i + 1;
  let cost = COST_ASCII;
  if (pattern[j] === '^') {
    cost = COST_WIDE;
    j += 1;
  }
  if (pattern[j] === ']') j += 1; // a leading ] is literal
  while (j < pattern.length && pattern[j] !== ']') {
    if (pattern[j] === '\\') {
      const esc = escapeAt(pattern, j);
      cost = Math.max(cost, esc.cost);
      j += esc.length;
    } else if (pattern.startsWith('[:', j)) {
      const end = pattern.indexOf(':]', j + 2);
      j = end === -1 ? j + 1 : end + 2;
    } else {
      if (pattern.charCodeAt(j) > 0x7f) cost = Math.max(cost, COST_WIDE);
      j += 1;
    }
  }
  return { length: Math.min(j + 1, pattern.length) - i, cost };
}

/** After `(`: skip `?:`, `?P<name>`, `?<name>`, `?i:`; `(?i)` stops at its `)`. */
function skipGroupPrefix(pattern: string, j: number): number {
  if (pattern[j] !== '?') return j;
  let k = j + 1;
  if (pattern[k] === '<' || pattern.startsWith('P<', k)) {
    const end = pattern.indexOf('>', k);
    return end === -1 ? pattern.length : end + 1;
  }
  while (k < pattern.length && /[a-zA-Z-]/.test(pattern[k] as string)) k += 1;
  return pattern[k] === ':' ? k + 1 : k;
}

/**
 * A small LRU of compiled patterns: the same nodere usually arrives again
 * (one alert rule, many alerts), while a flood of distinct patterns must not
 * grow the cache. Invalid patterns are not cached.
 */
export class PatternCache {
  readonly #entries = new Map<string, RE2>();

  constructor(readonly capacity = 256) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The compiled pattern; throws PCAPD_ERR_NODERE_INVALID. */
  compile(pattern: string): RE2 {
    const cached = this.#entries.get(pattern);
    if (cached !== undefined) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.#entries.delete(pattern);
      this.#entries.set(pattern, cached);
      return cached;
    }
    const compiled = compileNodere(pattern);
    this.#entries.set(pattern, compiled);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return compiled;
  }
}

function compileNodere(pattern: string): RE2 {
  const cost = patternCost(pattern);
  if (cost > PATTERN_COST_BUDGET) {
    throw new PcapdError(
      'PCAPD_ERR_NODERE_INVALID',
      `nodere is too expensive to compile (cost ${cost} > ${PATTERN_COST_BUDGET}): counted repetitions such as {100} ` +
        'copy their operand, and ., negated classes and \\p{...} expand to many instructions; ' +
        'node names are short, so use + or * instead of large counts',
    );
  }
  const RE2 = loadRE2();
  try {
    // No flags: without g or y, test() keeps no lastIndex state, so one
    // compiled object is safe to share between requests.
    return new RE2(pattern);
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PcapdError('PCAPD_ERR_NODERE_INVALID', `nodere is not a valid RE2 regular expression: ${reason}`, {
      cause: err,
    });
  }
}

const defaultPatternCache = new PatternCache();
