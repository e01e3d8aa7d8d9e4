/**
 * Where an S3 upload goes: the [s3] settings, with a request's overrides
 * (bucket, region, endpoint, acl, encryption) applied only where the
 * configured allowlists allow them. pcapdaemon sent its credentials to any
 * endpoint a message named; here an override outside the allowlist is
 * refused at validation (PCAPD_ERR_OVERRIDE_NOT_ALLOWED), before anything is
 * captured, and the sink applies the same rules again when it uploads.
 */
import type { Config } from '../config/schema.js';
import type { CaptureRequest } from '../requests/schema.js';

type S3Config = Config['s3'];
export type S3Acl = NonNullable<S3Config['acl']>;

export type S3Encryption = { kind: 'none' } | { kind: 'AES256' } | { kind: 'aws:kms'; keyId: string };

export interface S3Destination {
  bucket: string;
  region: string;
  /** Normalised endpoint URL ("https://host[:port]"); absent: AWS S3 for the region. */
  endpoint?: string;
  acl?: S3Acl;
  encryption: S3Encryption;
  /** Key prefix without leading or trailing "/": [s3] folder, then the request's folder. */
  prefix: string;
}

/** The region when neither the config nor the environment names one (S3-compatible servers mostly ignore it). */
export const FALLBACK_REGION = 'us-east-1';

/**
 * An endpoint as "scheme://host[:port][/path]", lower-case host, default
 * port and trailing "/" dropped, so "S3.example.com", "https://s3.example.com:443/"
 * and "https://s3.example.com" compare equal. A bare host means https.
 * Undefined when it is no http(s) URL or carries credentials, a query or a fragment.
 */
export function normalizeEndpoint(text: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.hostname === '') return undefined;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/** `*` matches any run of characters; everything else literally. */
function globMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

function present(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function listed(list: readonly string[]): string {
  return list.length === 0 ? 'is empty' : `allows ${list.map((item) => JSON.stringify(item)).join(', ')}`;
}

/** Untrusted text in a message: quoted and short. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/**
 * Why each override in the request is refused; empty when all are allowed.
 * An empty string is no override (pcapdaemon's Go clients send zero values).
 * `encryption: true` is always allowed: it only hardens the destination.
 */
export function s3OverrideProblems(request: CaptureRequest, s3: S3Config): string[] {
  const problems: string[] = [];
  // A value equal to the configured one overrides nothing (pcapdaemon's own
  // example message repeats its config's region and endpoint).
  const bucket = present(request.bucket) && request.bucket !== s3.bucket ? request.bucket : undefined;
  const region = present(request.region) && request.region !== s3.region ? request.region : undefined;
  const acl = present(request.acl) && request.acl !== s3.acl ? request.acl : undefined;
  if (bucket !== undefined && !s3.allowbuckets.some((pattern) => globMatches(pattern, bucket))) {
    problems.push(`bucket ${quote(bucket)} is not allowed (s3.allowbuckets ${listed(s3.allowbuckets)})`);
  }
  if (region !== undefined && !s3.allowregions.includes(region)) {
    problems.push(`region ${quote(region)} is not allowed (s3.allowregions ${listed(s3.allowregions)})`);
  }
  if (acl !== undefined && !(s3.allowacls as readonly string[]).includes(acl)) {
    problems.push(`acl ${quote(acl)} is not allowed (s3.allowacls ${listed(s3.allowacls)})`);
  }
  if (present(request.endpoint)) {
    const wanted = normalizeEndpoint(request.endpoint);
    const configured = s3.endpoint === undefined || s3.endpoint === '' ? undefined : normalizeEndpoint(s3.endpoint);
    if (wanted === undefined) {
      problems.push(`endpoint ${quote(request.endpoint)} is not an http(s) URL or host name`);
    } else if (wanted !== configured && !s3.allowendpoints.some((entry) => normalizeEndpoint(entry) === wanted)) {
      problems.push(`endpoint ${quote(wanted)} is not allowed (s3.allowendpoints ${listed(s3.allowendpoints)})`);
    }
  }
  return problems;
}

function regionFromEnvironment(): string | undefined {
  const region = process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
  return region === undefined || region === '' ? undefined : region;
}

function encryptionOf(wanted: boolean, s3: S3Config): S3Encryption {
  if (!wanted) return { kind: 'none' };
  return s3.kmskeyid === undefined ? { kind: 'AES256' } : { kind: 'aws:kms', keyId: s3.kmskeyid };
}

function trimSlashes(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '')
    .join('/');
}

/**
 * The destination of one job's upload. Throws when the job names an
 * override the allowlists refuse (validation refused it already, unless the
 * config was reloaded since) or when no bucket is configured.
 */
export function s3Destination(request: CaptureRequest, folder: string | undefined, s3: S3Config): S3Destination {
  const problems = s3OverrideProblems(request, s3);
  if (problems.length > 0) throw new Error(`per-request S3 override refused: ${problems.join('; ')}`);
  const bucket = present(request.bucket) ? request.bucket : s3.bucket;
  if (bucket === undefined || bucket === '') throw new Error('no bucket: set s3.bucket');
  const endpointText = present(request.endpoint) ? request.endpoint : s3.endpoint;
  const endpoint = endpointText === undefined || endpointText === '' ? undefined : normalizeEndpoint(endpointText);
  if (endpointText !== undefined && endpointText !== '' && endpoint === undefined) {
    throw new Error(`s3.endpoint ${quote(endpointText)} is not an http(s) URL or host name`);
  }
  const acl = present(request.acl) ? (request.acl as S3Acl) : s3.acl;
  const destination: S3Destination = {
    bucket,
    region: (present(request.region) ? request.region : s3.region) ?? regionFromEnvironment() ?? FALLBACK_REGION,
    // A request can ask for encryption, never turn the configured encryption off.
    encryption: encryptionOf(s3.encryption || request.encryption === true, s3),
    prefix: trimSlashes([s3.folder ?? '', folder ?? ''].join('/')),
  };
  if (endpoint !== undefined) destination.endpoint = endpoint;
  if (acl !== undefined) destination.acl = acl;
  return destination;
}

/** The object key of one capture file. */
export function objectKey(destination: S3Destination, fileName: string): string {
  return destination.prefix === '' ? fileName : `${destination.prefix}/${fileName}`;
}
