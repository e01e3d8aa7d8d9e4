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
