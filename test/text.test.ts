/** The nearest-spelling suggestion used by every "did you mean" message. */
import { describe, expect, it } from 'vitest';

import { didYouMean, editDistance, nearest } from '../src/text.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['verison', 'version', 1],
    ['cshots', 'cshost', 1],
    ['chek-config', 'check-config', 1],
    ['ca', 'abc', 3],
  ])('%j to %j is %i edits', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('nearest', () => {
  const commands = ['run', 'check-config', 'interfaces', 'schema', 'request', 'spool', 'version', 'help'];

  it('picks the closest candidate within reach', () => {
    expect(nearest('interface', commands)).toBe('interfaces');
    expect(nearest('reqeust', commands)).toBe('request');
    expect(nearest('VERSION', commands)).toBe('version');
    expect(nearest('hepl', commands)).toBe('help');
  });

  it('suggests nothing unrelated', () => {
    expect(nearest('xyzzy', commands)).toBeUndefined();
    expect(nearest('x', ['h'])).toBeUndefined();
    expect(nearest('capture', commands)).toBeUndefined();
  });

  it('says it as a clause, with the flag prefix', () => {
    expect(didYouMean('maxpakets', ['maxpackets', 'maxbytes'], '-')).toBe('; did you mean -maxpackets?');
    expect(didYouMean('zzz', ['maxpackets'])).toBe('');
  });
});
