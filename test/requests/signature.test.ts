/**
 * HMAC request signing, through the one request parser every listener uses:
 * the envelope is checked with every configured secret, the request inside
 * must name its id and a timestamp within the replay window, and unsigned
 * requests are refused only where [signing] requires signatures.
 */
import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { Clock } from '../../src/clock.js';
import { buildConfig, redactConfig } from '../../src/config/load.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { PcapdError } from '../../src/errors.js';
import { parseRequest, type ParseContext } from '../../src/requests/parse.js';
import { requestObjectOf, signRequestText } from '../../src/requests/signature.js';

const NOW_SECONDS = Date.parse('2026-11-25T12:00:00Z') / 1000;
const clock: Clock = { nowMs: () => NOW_SECONDS * 1000, monotonicMs: () => 0 };
const SECRET = 'a'.repeat(16) + 'signing-secret-for-tests';
const OLD_SECRET = 'b'.repeat(16) + 'the-previous-secret-here';

function config(signing: Record<string, unknown>): Config {
  return ConfigSchema.parse({ general: { node: 'sensor-1' }, signing });
}

function context(cfg: Config): ParseContext {
  return { config: cfg, node: 'sensor-1', source: 'redis', clock, interfaceExists: (name) => name === 'lo', newId: () => 'generated' };
}

const REQUEST = { node: 'any', interface: ['lo'], packets: 5, id: 'signed-1', timestamp: NOW_SECONDS - 10 };

/** The envelope built by hand, as a client in another language would. */
function envelope(request: object, secret: string): string {
  const signed = JSON.stringify(request);
  return JSON.stringify({ signed, signature: `sha256=${createHmac('sha256', secret).update(signed).digest('hex')}` });
}

function refusal(body: string, cfg: Config): PcapdError {
  try {
    parseRequest(body, context(cfg));
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected the request to be refused');
}

describe('a node with signing required', () => {
  const required = config({ secrets: [SECRET, OLD_SECRET], required: true, window: 300 });

  it('accepts a request signed with any configured secret, and captures what is inside', () => {
    for (const secret of [SECRET, OLD_SECRET]) {
      const result = parseRequest(envelope(REQUEST, secret), context(required));
      expect(result.kind).toBe('accepted');
      if (result.kind === 'accepted') expect([result.job.id, result.job.limits.packets]).toEqual(['signed-1', 5]);
    }
  });

  it('signs the same way pcapd request does', () => {
    expect(signRequestText(JSON.stringify(REQUEST), SECRET)).toBe(envelope(REQUEST, SECRET));
  });

  it('refuses an unsigned request', () => {
    const err = refusal(JSON.stringify(REQUEST), required);
    expect(err.code).toBe('PCAPD_ERR_REQUEST_UNSIGNED');
  });

  it('refuses a request signed with another secret, or changed after signing', () => {
    expect(refusal(envelope(REQUEST, 'c'.repeat(40)), required).message).toMatch(/does not match/);
    const tampered = JSON.parse(envelope(REQUEST, SECRET)) as { signed: string; signature: string };
    tampered.signed = tampered.signed.replace('"packets":5', '"packets":50');
    expect(refusal(JSON.stringify(tampered), required).code).toBe('PCAPD_ERR_SIGNATURE_INVALID');
  });

  it('refuses a malformed signature before computing anything', () => {
    const body = JSON.stringify({ signed: JSON.stringify(REQUEST), signature: 'md5=abc' });
    expect(refusal(body, required)).toMatchObject({ code: 'PCAPD_ERR_SIGNATURE_INVALID', message: expect.stringMatching(/64 lower-case hex/) });
  });

  it('refuses a signed request without id or timestamp: nothing would stop its replay', () => {
    const { id: _id, ...noId } = REQUEST;
    const { timestamp: _timestamp, ...noTimestamp } = REQUEST;
    expect(refusal(envelope(noId, SECRET), required).message).toMatch(/must carry id and timestamp/);
    expect(refusal(envelope(noTimestamp, SECRET), required).message).toMatch(/must carry id and timestamp/);
  });

  it('refuses a signed timestamp outside the window, either way', () => {
    expect(refusal(envelope({ ...REQUEST, timestamp: NOW_SECONDS - 301 }, SECRET), required).message).toMatch(/301 s from now.*allows 300 s/);
    expect(refusal(envelope({ ...REQUEST, timestamp: NOW_SECONDS + 301 }, SECRET), required).code).toBe('PCAPD_ERR_SIGNATURE_INVALID');
    const iso = new Date((NOW_SECONDS - 30) * 1000).toISOString();
    expect(parseRequest(envelope({ ...REQUEST, timestamp: iso }, SECRET), context(required)).kind).toBe('accepted');
  });

  it('checks the inner request with the same schema: a typo inside is still a typo', () => {
    expect(refusal(envelope({ ...REQUEST, pakets: 5 }, SECRET), required).code).toBe('PCAPD_ERR_REQUEST_UNKNOWN_FIELD');
    expect(
      refusal(JSON.stringify({ signed: '{"node":', signature: `sha256=${createHmac('sha256', SECRET).update('{"node":').digest('hex')}` }), required).code,
    ).toBe('PCAPD_ERR_REQUEST_JSON');
  });

  it('treats an object with a third key as a request, not an envelope (and so refuses it)', () => {
    const body = JSON.stringify({ ...JSON.parse(envelope(REQUEST, SECRET)), extra: 1 });
    expect(refusal(body, required).code).toBe('PCAPD_ERR_REQUEST_UNSIGNED');
  });
});

describe('a node with secrets but signing not required', () => {
  const optional = config({ secrets: [SECRET] });

  it('accepts unsigned requests and checks signed ones', () => {
    expect(parseRequest(JSON.stringify(REQUEST), context(optional)).kind).toBe('accepted');
    expect(parseRequest(envelope(REQUEST, SECRET), context(optional)).kind).toBe('accepted');
    expect(refusal(envelope(REQUEST, OLD_SECRET), optional).code).toBe('PCAPD_ERR_SIGNATURE_INVALID');
  });
});

describe('a node without [signing]', () => {
  it('refuses a signed request it cannot check', () => {
    expect(refusal(envelope(REQUEST, SECRET), config({})).message).toMatch(/no \[signing\] secrets/);
  });
});

describe('[signing] configuration', () => {
  const build = (toml: string) => () => buildConfig(toml, 'test.toml');

  it('needs a secret when signatures are required, and long secrets', () => {
    expect(build('[signing]\nrequired = true')).toThrow(/signing\.secrets.*at least one secret/);
    expect(build('[signing]\nsecrets = ["short"]')).toThrow(/signing\.secrets\[0\]/);
  });

  it('keeps request ids at least as long as the replay window', () => {
    expect(build(`[signing]\nsecrets = ["${SECRET}"]\nwindow = 600\n[scheduler]\ndedupwindow = 300`)).toThrow(
      /scheduler\.dedupwindow.*signing\.window \(600\)/,
    );
  });

  it('never shows a secret in check-config output', () => {
    const shown = JSON.stringify(redactConfig(buildConfig(`[signing]\nsecrets = ["${SECRET}"]`, 'test.toml')));
    expect(shown).not.toContain(SECRET);
    expect(shown).toContain('"secrets":["***"]');
  });
});

describe("requestObjectOf (what result events read a refused request's id and reply from)", () => {
  it('looks inside an envelope', () => {
    expect(requestObjectOf(envelope(REQUEST, SECRET))).toEqual(REQUEST);
    expect(requestObjectOf(JSON.stringify(REQUEST))).toEqual(REQUEST);
    expect(requestObjectOf('not json')).toBeUndefined();
  });
});
