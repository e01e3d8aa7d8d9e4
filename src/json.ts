import { PcapdError } from './errors.js';
import { shorten } from './text.js';

/** The JSON object `text` holds, or undefined when it is not JSON or not an object (an array, a string…). */
export function readJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON type of a parsed value, as a message names it: "null", "array", "string"… */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * The JSON object `text` holds; `what` names the text in the refusal
 * (PCAPD_ERR_REQUEST_JSON) when it is not JSON or not an object.
 */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    throw new PcapdError('PCAPD_ERR_REQUEST_JSON', `${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PcapdError('PCAPD_ERR_REQUEST_JSON', `${what} must be a JSON object, got ${jsonType(value)}`);
  }
  return value as Record<string, unknown>;
}

/** RFC 6901: "/segment/bytez", with ~ and / escaped; untrusted keys are shortened. */
export function jsonPointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((segment) => `/${shorten(String(segment)).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** The value at `path` inside parsed JSON, own properties only; undefined where there is none. */
export function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}
