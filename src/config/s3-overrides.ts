/**
 * Which S3 destination fields a request may override (bucket, region, ACL,
 * endpoint), by the config's allowlists. Request validation refuses a
 * request that names another destination before it is scheduled, and the S3
 * sink applies the same policy again at upload (the config may have been
 * reloaded since), so it lives here, below both.
 */
import { nonEmpty, quoted } from '../text.js';
import { normalizeEndpoint } from './endpoint.js';
import type { Config } from './schema.js';

type S3Config = Config['s3'];

/** The destination fields a request can carry (pcapdaemon's names). */
export interface S3Overrides {
  bucket?: string | undefined;
  region?: string | undefined;
  acl?: string | undefined;
  endpoint?: string | undefined;
}

/** `*` matches any run of characters; everything else literally. */
function globMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

function listed(list: readonly string[]): string {
  return list.length === 0 ? 'is empty' : `allows ${list.map((item) => JSON.stringify(item)).join(', ')}`;
}

/**
 * Why each override in the request is refused; empty when all are allowed.
 * An empty string is no override (pcapdaemon's Go clients send zero values).
 * `encryption: true` is always allowed: it only hardens the destination.
 */
export function s3OverrideProblems(request: S3Overrides, s3: S3Config): string[] {
  const problems: string[] = [];
  // A value equal to the configured one overrides nothing (pcapdaemon's own
  // example message repeats its config's region and endpoint).
  const bucket = nonEmpty(request.bucket) && request.bucket !== s3.bucket ? request.bucket : undefined;
  const region = nonEmpty(request.region) && request.region !== s3.region ? request.region : undefined;
  const acl = nonEmpty(request.acl) && request.acl !== s3.acl ? request.acl : undefined;
  if (bucket !== undefined && !s3.allowbuckets.some((pattern) => globMatches(pattern, bucket))) {
    problems.push(`bucket ${quoted(bucket)} is not allowed (s3.allowbuckets ${listed(s3.allowbuckets)})`);
  }
  if (region !== undefined && !s3.allowregions.includes(region)) {
    problems.push(`region ${quoted(region)} is not allowed (s3.allowregions ${listed(s3.allowregions)})`);
  }
  if (acl !== undefined && !(s3.allowacls as readonly string[]).includes(acl)) {
    problems.push(`acl ${quoted(acl)} is not allowed (s3.allowacls ${listed(s3.allowacls)})`);
  }
  if (nonEmpty(request.endpoint)) {
    const wanted = normalizeEndpoint(request.endpoint);
    const configured = s3.endpoint === undefined || s3.endpoint === '' ? undefined : normalizeEndpoint(s3.endpoint);
    if (wanted === undefined) {
      problems.push(`endpoint ${quoted(request.endpoint)} is not an http(s) URL or host name`);
    } else if (wanted !== configured && !s3.allowendpoints.some((entry) => normalizeEndpoint(entry) === wanted)) {
      problems.push(`endpoint ${quoted(wanted)} is not allowed (s3.allowendpoints ${listed(s3.allowendpoints)})`);
    }
  }
  return problems;
}
