/**
 * Every error code the native addon can report is a known, documented one:
 * an unknown code would be turned into PCAPD_ERR_CAPTURE_FAILED on the way to
 * JavaScript and hide what went wrong. The addon's sources are read as they
 * are, so a code added there without ERROR_CODES fails here.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ERROR_CODES } from '../../src/errors.js';
import { REPO } from '../helpers/daemon.js';

const NATIVE_DIR = join(REPO, 'src', 'capture', 'native');

async function nativeCodes(): Promise<Set<string>> {
  const codes = new Set<string>();
  for (const name of await readdir(NATIVE_DIR)) {
    if (!/\.(cc|h)$/.test(name)) continue;
    const text = await readFile(join(NATIVE_DIR, name), 'utf8');
    for (const match of text.matchAll(/"(PCAPD_ERR_[A-Z0-9_]+)"/g)) codes.add(match[1] ?? '');
  }
  return codes;
}

describe('native error codes', () => {
  it('are all in ERROR_CODES', async () => {
    const codes = await nativeCodes();
    expect(codes.size).toBeGreaterThanOrEqual(8);
    const unknown = [...codes].filter((code) => !Object.hasOwn(ERROR_CODES, code));
    expect(unknown).toEqual([]);
  });
});
