/**
 * Where an S3 upload goes: the [s3] settings, with a request's overrides
 * (bucket, region, endpoint, acl, encryption) applied only where the
 * configured allowlists allow them. pcapdaemon sent its credentials to any
 * endpoint a message named; here an override outside the allowlist is
 * refused at validation (PCAPD_ERR_OVERRIDE_NOT_ALLOWED), before anything is
 * captured, and the sink applies the same rules again when it uploads.
 */
import type { Config } from '../config/schema.js';
import { normalizeEndpoint } from '../config/endpoint.js';
import { s3OverrideProblems } from '../config/s3-overrides.js';
import type { CaptureRequest } from '../model/request.js';
import { nonEmpty, quoted } from '../text.js';

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
  const bucket = nonEmpty(request.bucket) ? request.bucket : s3.bucket;
  if (bucket === undefined || bucket === '') throw new Error('no bucket: set s3.bucket');
  const endpointText = nonEmpty(request.endpoint) ? request.endpoint : s3.endpoint;
  const endpoint = endpointText === undefined || endpointText === '' ? undefined : normalizeEndpoint(endpointText);
  if (endpointText !== undefined && endpointText !== '' && endpoint === undefined) {
    throw new Error(`s3.endpoint ${quoted(endpointText)} is not an http(s) URL or host name`);
  }
  const acl = nonEmpty(request.acl) ? (request.acl as S3Acl) : s3.acl;
  const destination: S3Destination = {
    bucket,
    region: (nonEmpty(request.region) ? request.region : s3.region) ?? regionFromEnvironment() ?? FALLBACK_REGION,
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
