import { describe, expect, it } from 'vitest';

import { PcapdError } from '../../src/errors.js';
import { checkFolder, FOLDER_MAX_BYTES, FOLDER_MAX_SEGMENTS } from '../../src/requests/folder.js';

function folderError(folder: string): PcapdError {
  try {
    checkFolder(folder);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error(`checkFolder accepted ${JSON.stringify(folder)}`);
}

describe('checkFolder', () => {
  it.each(['alerts', 'alerts/2024-05-01', 'a/b_c/d.e/F-9', '...', Array(FOLDER_MAX_SEGMENTS).fill('x').join('/')])(
    'accepts the relative folder %j unchanged',
    (folder) => {
      expect(checkFolder(folder)).toBe(folder);
    },
  );

  it('accepts a folder of exactly the maximum length', () => {
    const folder = `${'a'.repeat(127)}/${'b'.repeat(FOLDER_MAX_BYTES - 128)}`;
    expect(Buffer.byteLength(folder)).toBe(FOLDER_MAX_BYTES);
    expect(checkFolder(folder)).toBe(folder);
  });

  it.each([
    ['..', '".."'],
    ['a/../b', '".."'],
    ['a/..', '".."'],
    ['.', '"."'],
    ['a/./b', '"."'],
    ['/abs', 'absolute'],
    ['/', 'absolute'],
    ['a\\b', 'backslash'],
    ['..\\..\\etc', 'backslash'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['', 'empty segment'],
    ['a b', 'may contain only'],
    ['a/b:c', 'may contain only'],
    ['caf\u00e9', 'may contain only'],
    ['a/%2e%2e', 'may contain only'],
    ['a\u0000b', 'may contain only'],
  ])('rejects %j (%s)', (folder, reason) => {
    const err = folderError(folder);
    expect(err.code).toBe('PCAPD_ERR_FOLDER_INVALID');
    expect(err.message).toContain(reason);
  });

  it(`rejects more than ${FOLDER_MAX_SEGMENTS} levels`, () => {
    const err = folderError(
      Array(FOLDER_MAX_SEGMENTS + 1)
        .fill('x')
        .join('/'),
    );
    expect(err.code).toBe('PCAPD_ERR_FOLDER_INVALID');
    expect(err.message).toContain(`more than ${FOLDER_MAX_SEGMENTS} levels`);
  });

  it(`rejects more than ${FOLDER_MAX_BYTES} bytes`, () => {
    const err = folderError('a'.repeat(FOLDER_MAX_BYTES + 1));
    expect(err.code).toBe('PCAPD_ERR_FOLDER_INVALID');
    expect(err.message).toContain(`longer than ${FOLDER_MAX_BYTES} bytes`);
  });

  it('quotes the folder in the message, shortened and escaped', () => {
    const err = folderError(`../${'x'.repeat(200)}\n`);
    expect(err.message).toMatch(/^folder "\.\.\/x+…" /);
    expect(err.message).not.toContain('\n');
  });
});
