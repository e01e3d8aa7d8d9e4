import { describe, expect, it } from 'vitest';

import { PcapdError } from '../../src/errors.js';
import { checkCaptureName, CAPTURE_NAME_MAX_BYTES } from '../../src/requests/capture-name.js';

function nameError(name: string): PcapdError {
  try {
    checkCaptureName(name);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error(`checkCaptureName accepted ${JSON.stringify(name)}`);
}

describe('checkCaptureName', () => {
  it.each(['sip-eth1', 'a', 'Ctl.channel_2', 'x'.repeat(CAPTURE_NAME_MAX_BYTES)])('accepts %j unchanged', (name) => {
    expect(checkCaptureName(name)).toBe(name);
  });

  it.each([
    ['', 'is empty'],
    ['x'.repeat(CAPTURE_NAME_MAX_BYTES + 1), 'longer than'],
    ['../etc', 'path separator'],
    ['a/b', 'path separator'],
    ['a\\b', 'path separator'],
    ['..', '".."'],
    ['a..b', '".."'],
    ['.hidden', 'must start with a letter or digit'],
    ['-rf', 'must start with a letter or digit'],
    ['a b', 'may contain only'],
    ['%Y', 'may contain only'],
    ['{id}', 'may contain only'],
    ['caf\u00e9', 'may contain only'],
    ['a\u0000b', 'may contain only'],
  ])('refuses %j with PCAPD_ERR_NAME_INVALID (%s)', (name, reason) => {
    const err = nameError(name);
    expect(err.code).toBe('PCAPD_ERR_NAME_INVALID');
    expect(err.message).toContain(reason);
    expect(err.message.startsWith('/name: ')).toBe(true);
  });
});
