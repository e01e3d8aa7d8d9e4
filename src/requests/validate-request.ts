/**
 * The request checked against the one schema (src/model/request.ts), and a
 * refusal worded from the request's published JSON Schema, so a sender reads
 * the same description of a field in the error as in the docs: the JSON
 * Pointer of the first problem, what the field accepts, and what came.
 */
import type { z } from 'zod';

import { PcapdError } from '../errors.js';
import { jsonPointer, jsonType, valueAt } from '../json.js';
import { CaptureRequestSchema, requestJsonSchema, type CaptureRequest } from '../model/request.js';
import { shorten } from '../text.js';

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

export function validateRequest(raw: Record<string, unknown>): CaptureRequest {
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
    const next: unknown = typeof segment === 'number' ? schema?.['items'] : (schema?.['properties'] as JsonSchema | undefined)?.[segment];
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

function isRecord(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
