/**
 * Optional HMAC request signing ([signing]), the same for every listener,
 * because a broker's own access control is often all that stands between
 * anyone who can publish to a channel and a packet capture on every sensor.
 *
 * A signed request travels as an envelope whose `signed` member is the
 * request's JSON text, byte for byte as it was signed:
 *
 *   {"signed": "{\"node\":\"any\",…,\"id\":\"a1\",\"timestamp\":1764079200}",
 *    "signature": "sha256=<hex HMAC-SHA256 of the UTF-8 bytes of signed>"}
 *
 * Signing the text, not a re-serialised object, means no canonical JSON is
 * needed: any client that can compute an HMAC can sign. The request inside
 * must carry `id` and `timestamp`; a timestamp outside ±window is refused, and
 * within the window a replay has an id already seen, so it is a duplicate
 * (config validation keeps scheduler.dedupwindow ≥ signing.window).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import { readJsonObject } from '../json.js';

export const SIGNATURE_SCHEME = 'sha256=';
const SIGNATURE_PATTERN = /^sha256=[0-9a-f]{64}$/;

export interface OpenedRequest {
  /** The request object (inside the envelope when signed). */
  raw: Record<string, unknown>;
  signed: boolean;
}

/**
 * The envelope: `{"signed": string, "signature": string}` and nothing else.
 * The signature's format is checked after a body is taken for an envelope,
 * so a malformed signature is refused as one rather than as an unknown field.
 */
export const SignedRequestSchema = z
  .strictObject({
    signed: z.string().describe("the request's JSON text, exactly as signed; it must carry id and timestamp"),
    signature: z.string().describe('"sha256=" and the lower-case hex HMAC-SHA256 of the UTF-8 bytes of signed, keyed with a [signing] secret'),
  })
  .describe('a signed capture request (README: signed requests)');

export function isSignedEnvelope(value: Record<string, unknown>): boolean {
  return SignedRequestSchema.safeParse(value).success;
}

export function signatureOf(text: string, secret: string): string {
  return SIGNATURE_SCHEME + createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** The envelope for a request's JSON text (what `pcapd request` sends when [signing] has a secret). */
export function signRequestText(requestJson: string, secret: string): string {
  return JSON.stringify({ signed: requestJson, signature: signatureOf(requestJson, secret) });
}

/**
 * Verifies a signed envelope and returns the request inside, or passes an
 * unsigned request through when signing is not required. `parseObject` is
 * the caller's JSON-object parser, so the inner text gets the same errors.
 */
export function openRequest(value: Record<string, unknown>, signing: Config['signing'], parseObject: (text: string) => Record<string, unknown>): OpenedRequest {
  if (!isSignedEnvelope(value)) {
    if (signing.required) {
      throw new PcapdError('PCAPD_ERR_REQUEST_UNSIGNED', 'this node accepts only signed requests ([signing] required = true)');
    }
    return { raw: value, signed: false };
  }
  const text = value['signed'] as string;
  const signature = value['signature'] as string;
  if (!SIGNATURE_PATTERN.test(signature)) {
    throw new PcapdError('PCAPD_ERR_SIGNATURE_INVALID', 'signature must be "sha256=" followed by 64 lower-case hex digits');
  }
  if (signing.secrets.length === 0) {
    throw new PcapdError('PCAPD_ERR_SIGNATURE_INVALID', 'the request is signed but this node has no [signing] secrets to check it with');
  }
  const given = Buffer.from(signature, 'latin1');
  // Every secret is tried (rotation); timingSafeEqual keeps the comparison from leaking a prefix.
  const matches = signing.secrets.some((secret) => timingSafeEqual(Buffer.from(signatureOf(text, secret), 'latin1'), given));
  if (!matches) throw new PcapdError('PCAPD_ERR_SIGNATURE_INVALID', 'the signature does not match the request with any configured secret');
  return { raw: parseObject(text), signed: true };
}

/**
 * A signed request must say who it is (id) and when (timestamp), and the
 * timestamp must be within the replay window, either way.
 */
export function checkSignedFreshness(
  request: { id?: string | undefined; timestamp?: number | string | undefined },
  windowSeconds: number,
  nowMs: number,
): void {
  if (request.id === undefined || request.timestamp === undefined) {
    throw new PcapdError('PCAPD_ERR_SIGNATURE_INVALID', 'a signed request must carry id and timestamp (they protect it against replay)');
  }
  const atMs = typeof request.timestamp === 'number' ? request.timestamp * 1000 : Date.parse(request.timestamp);
  const skewSeconds = Math.abs(nowMs - atMs) / 1000;
  if (!(skewSeconds <= windowSeconds)) {
    throw new PcapdError(
      'PCAPD_ERR_SIGNATURE_INVALID',
      `the signed timestamp is ${Math.round(skewSeconds)} s from now; [signing] window allows ${windowSeconds} s`,
    );
  }
}

/** The request object of a body, inside its envelope if signed; undefined when unreadable. Verifies nothing. */
export function requestObjectOf(body: string | Buffer): Record<string, unknown> | undefined {
  const outer = readJsonObject(typeof body === 'string' ? body : body.toString('utf8'));
  if (outer === undefined || !isSignedEnvelope(outer)) return outer;
  return readJsonObject(outer['signed'] as string);
}
