/**
 * A JSON file the spool wrote earlier, read back and checked against its
 * schema. Whatever is wrong with it (missing, not JSON, not the shape) comes
 * back as a problem to report, never as an exception: a damaged spool file
 * is reported, not fatal.
 */
import { readFile } from 'node:fs/promises';

import type { z } from 'zod';

import { errnoCode, errorMessage } from '../errors.js';

export type ReadResult<T> = { ok: true; value: T } | { ok: false; problem: string };

export async function readJsonFile<S extends z.ZodType>(path: string, schema: S): Promise<ReadResult<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    return { ok: false, problem: errnoCode(err) === 'ENOENT' ? 'missing' : errorMessage(err) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    return { ok: false, problem: `not JSON: ${errorMessage(err)}` };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, problem: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
  return { ok: true, value: parsed.data };
}
