import { describe, expect, it } from 'vitest';

import { PcapdError } from '../../src/errors.js';
import { matchesNode, nodeTargetOf, PATTERN_COST_BUDGET, PatternCache, patternCost } from '../../src/requests/node-match.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err.code;
    throw err;
  }
  return undefined;
}

function errorOf(fn: () => unknown): PcapdError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected a PcapdError');
}

describe('nodeTargetOf', () => {
  it('takes node when only node is given', () => {
    expect(nodeTargetOf({ node: 'sensor-01' })).toEqual({ kind: 'node', node: 'sensor-01' });
  });

  it('takes nodere when only nodere is given', () => {
    expect(nodeTargetOf({ nodere: '^sensor' })).toEqual({ kind: 'nodere', pattern: '^sensor' });
  });

  it('rejects a request with both node and nodere', () => {
    const err = errorOf(() => nodeTargetOf({ node: 'a', nodere: 'b' }));
    expect(err.code).toBe('PCAPD_ERR_REQUEST_TARGET');
    expect(err.message).toContain('both node and nodere');
  });

  it('rejects a request with neither node nor nodere', () => {
    const err = errorOf(() => nodeTargetOf({}));
    expect(err.code).toBe('PCAPD_ERR_REQUEST_TARGET');
    expect(err.message).toContain('neither node nor nodere');
  });
});

describe('matchesNode', () => {
  it('matches the exact node name', () => {
    expect(matchesNode({ kind: 'node', node: 'sensor-01' }, 'sensor-01')).toBe(true);
  });

  it('does not match another node name, nor a prefix of it', () => {
    expect(matchesNode({ kind: 'node', node: 'sensor-02' }, 'sensor-01')).toBe(false);
    expect(matchesNode({ kind: 'node', node: 'sensor' }, 'sensor-01')).toBe(false);
  });

  it('matches every node for pcapdaemon\'s keyword "any"', () => {
    expect(matchesNode({ kind: 'node', node: 'any' }, 'sensor-01')).toBe(true);
    expect(matchesNode({ kind: 'node', node: 'any' }, 'edge.example.net')).toBe(true);
  });

  it('searches anywhere in the name like Go regexp.MatchString, unless anchored', () => {
    expect(matchesNode({ kind: 'nodere', pattern: 'sensor' }, 'nyc-sensor-01')).toBe(true);
    expect(matchesNode({ kind: 'nodere', pattern: '^sensor' }, 'nyc-sensor-01')).toBe(false);
    expect(matchesNode({ kind: 'nodere', pattern: '^nyc-sensor-[0-9]{2}$' }, 'nyc-sensor-01')).toBe(true);
  });

  it('runs a catastrophic-backtracking pattern against a long name to completion', () => {
    // A backtracking engine would take exponential time here; RE2 is linear.
    const nodeName = `${'a'.repeat(100_000)}b`;
    expect(matchesNode({ kind: 'nodere', pattern: '^(a+)+$' }, nodeName)).toBe(false);
    expect(matchesNode({ kind: 'nodere', pattern: '^(a|aa)+$' }, nodeName)).toBe(false);
  });

  it("rejects an invalid pattern with RE2's reason", () => {
    const err = errorOf(() => matchesNode({ kind: 'nodere', pattern: 'sensor-(' }, 'sensor-01'));
    expect(err.code).toBe('PCAPD_ERR_NODERE_INVALID');
    expect(err.message).toContain('missing )');
  });

  it.each(['(?=a)b', '(a)\\1'])('rejects backtracking-only syntax %j (lookaround, backreferences)', (pattern) => {
    expect(codeOf(() => matchesNode({ kind: 'nodere', pattern }, 'a'))).toBe('PCAPD_ERR_NODERE_INVALID');
  });
});

describe('pattern cost', () => {
  it('counts literals, groups and counted repetitions', () => {
    expect(patternCost('abc')).toBe(3);
    expect(patternCost('^a+b*c?$')).toBe(3);
    expect(patternCost('a{3}')).toBe(3);
    expect(patternCost('(?:ab){3}')).toBe(6);
    expect(patternCost('(?:(?:a){10}){10}')).toBe(100);
    expect(patternCost('a{2,5}')).toBe(5);
    expect(patternCost('(?i)ab')).toBe(2);
    expect(patternCost('(?P<site>nyc|lon)')).toBe(6);
    expect(patternCost('[a-z0-9.-]{10}')).toBe(10);
    expect(patternCost('\\.')).toBe(1);
  });

  it('weighs Unicode-wide atoms above ASCII ones', () => {
    expect(patternCost('.')).toBeGreaterThan(patternCost('a'));
    expect(patternCost('[^.]')).toBe(patternCost('.'));
    expect(patternCost('\\D')).toBe(patternCost('.'));
    expect(patternCost('\\pN')).toBeGreaterThan(patternCost('.'));
    expect(patternCost('[\\p{Greek}a]')).toBe(patternCost('\\pN'));
  });

  it('refuses a short pattern that would compile to megabytes, without compiling it', () => {
    const err = errorOf(() => new PatternCache().compile('\\pN{1000}'));
    expect(err.code).toBe('PCAPD_ERR_NODERE_INVALID');
    expect(err.message).toContain('too expensive');
  });

  it('keeps a 1024-character alternation of host names, dots unescaped, within the budget', () => {
    const hosts = Array.from({ length: 39 }, (_, i) => `sensor-${String(i).padStart(2, '0')}.nyc.example.net`);
    const pattern = `^(?:${hosts.join('|')})$`;
    expect(pattern.length).toBeGreaterThan(1000);
    expect(patternCost(pattern)).toBeLessThanOrEqual(PATTERN_COST_BUDGET);
    expect(new PatternCache().compile(pattern).test('sensor-07.nyc.example.net')).toBe(true);
  });

  it('allows .{256} and refuses .{257}', () => {
    const cache = new PatternCache();
    expect(cache.compile('^.{256}$').test('x'.repeat(256))).toBe(true);
    expect(codeOf(() => cache.compile('^.{257}$'))).toBe('PCAPD_ERR_NODERE_INVALID');
  });
});

describe('PatternCache', () => {
  it('compiles a repeated pattern once', () => {
    const cache = new PatternCache(4);
    expect(cache.compile('^sensor')).toBe(cache.compile('^sensor'));
    expect(cache.size).toBe(1);
  });

  it('stays within its capacity under a flood of distinct patterns', () => {
    const cache = new PatternCache(8);
    for (let i = 0; i < 1000; i += 1) cache.compile(`^sensor-${i}$`);
    expect(cache.size).toBe(8);
  });

  it('evicts the least recently used pattern first', () => {
    const cache = new PatternCache(2);
    const first = cache.compile('a');
    cache.compile('b');
    cache.compile('a'); // a is now the most recent
    cache.compile('c'); // evicts b
    expect(cache.compile('a')).toBe(first);
    expect(cache.size).toBe(2);
  });

  it('does not cache invalid patterns', () => {
    const cache = new PatternCache(4);
    expect(codeOf(() => cache.compile('('))).toBe('PCAPD_ERR_NODERE_INVALID');
    expect(cache.size).toBe(0);
  });

  it('gives the same answer for a shared pattern every time (no lastIndex state)', () => {
    const cache = new PatternCache(4);
    for (let i = 0; i < 3; i += 1) {
      expect(matchesNode({ kind: 'nodere', pattern: 'sensor' }, 'sensor-01', cache)).toBe(true);
    }
  });
});
