/**
 * The deterministic slice of `npx tsx fuzz/run.ts`: a few hundred cases per
 * pure entry point (request JSON, EVE, signed envelopes, config files) with a
 * fixed seed. Each case must end in an accepted request whose invariants hold
 * or in a rejection with a listed code; a failure prints the counterexample.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { configTarget, eveTarget, fixedSeedSlice, requestTarget, signatureTarget } from '../../fuzz/targets.js';

describe('fuzzing the parsers (fixed seed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcapd-fuzz-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ends every request body in an accepted job within the limits or a coded rejection', async () => {
    const ends = await fixedSeedSlice(requestTarget, 400);
    expect(ends.get('accepted')).toBeGreaterThan(0);
    expect(ends.get('PCAPD_ERR_REQUEST_INVALID')).toBeGreaterThan(0);
  });

  it('ends every EVE line and alert object in a flow capture or a coded rejection', async () => {
    const ends = await fixedSeedSlice(eveTarget, 300);
    expect(ends.get('PCAPD_ERR_EVE_INVALID')).toBeGreaterThan(0);
  });

  it('accepts a signed envelope only with a valid signature, id and fresh timestamp', async () => {
    const ends = await fixedSeedSlice(signatureTarget, 300);
    expect(ends.get('PCAPD_ERR_SIGNATURE_INVALID')).toBeGreaterThan(0);
  });

  it('ends every config file in a frozen, consistent config or a config error', async () => {
    const ends = await fixedSeedSlice(configTarget(dir), 300);
    expect(ends.get('PCAPD_ERR_CONFIG_READ')).toBeGreaterThan(0);
    expect(ends.get('PCAPD_ERR_CONFIG_INVALID')).toBeGreaterThan(0);
  });
});
