/**
 * The deterministic slice of `npx tsx fuzz/run.ts` for the entry points that
 * reach the scheduler: the intake as each listener hands it a message, and
 * the HTTP API through fastify's inject. Accepted requests capture on
 * loopback for up to a second (two slots, no queue), so most of a burst ends
 * in admission's refusal, the one 5xx allowed.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { fixedSeedSlice, httpTarget, intakeTarget, LiveWorld } from '../../fuzz/targets.js';

describe('fuzzing the intake and the HTTP API (fixed seed)', () => {
  const world = new LiveWorld();
  afterAll(() => world.close());

  it('ends every listener message in a decision, each rejection counted under its code', async () => {
    const ends = await fixedSeedSlice(intakeTarget(world), 300);
    expect(ends.get('PCAPD_ERR_REQUEST_JSON')).toBeGreaterThan(0);
    expect(await world.countMismatches()).toEqual([]);
  });

  it("answers every HTTP request with pcapd's error shape and no 5xx but admission's", async () => {
    const ends = await fixedSeedSlice(httpTarget(world), 300);
    expect(ends.get('PCAPD_ERR_UNAUTHORIZED')).toBeGreaterThan(0);
  });

  it.each(['/captures/%E0%A4%A', '/captures/%ZZ', '/captures/%'])('answers %s (a broken percent escape) with PCAPD_ERR_REQUEST_INVALID', async (url) => {
    // Found by fuzzing: fastify's router answered with its own body ({"code":"FST_ERR_BAD_URL"}).
    const res = await world.apps.open.inject({ method: 'POST', url });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'PCAPD_ERR_REQUEST_INVALID', message: expect.stringContaining('not a valid url') } });
  });
});
