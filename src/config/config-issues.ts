/**
 * How a configuration problem is worded: one line per key path, in TOML
 * terms, saying what was expected and what was found, never echoing a value
 * that could be a secret.
 */
import type { z } from 'zod';

/** A schema issue, or a cross-field issue shaped like one so both print alike. */
export type ConfigIssue = z.core.$ZodIssue;

/** A cross-field problem at `path`, worded as it will be printed. */
export function configIssue(path: PropertyKey[], message: string): ConfigIssue {
  return { code: 'custom', path, message };
}

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
export function formatConfigIssues(issues: readonly ConfigIssue[], origins: ReadonlyMap<string, string> = new Map()): string[] {
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
