/**
 * The S3 fields of a request (bucket, acl, region, endpoint, encryption):
 * refused when they override the configured destination beyond the
 * allowlists, and ignored, with a note, while S3 is not enabled (pcapdaemon's
 * messages carry them whatever the sink).
 */
import { s3OverrideProblems } from '../config/s3-overrides.js';
import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import type { CaptureRequest } from '../model/request.js';

/**
 * Per-request S3 destinations (bucket, region, endpoint, acl) that differ from
 * the configured ones are honoured only within the [s3] allowlists (allowbuckets, allowregions,
 * allowendpoints, allowacls; empty lists allow nothing); pcapdaemon used any
 * endpoint a message named, with the configured credentials. `encryption`
 * only hardens the destination and is always accepted. An empty string is no
 * override (pcapdaemon clients send Go's zero value). Every refused override
 * is named in the one error.
 */
export function checkS3Overrides(request: CaptureRequest, config: Config): void {
  // With S3 off these fields steer nothing: ignored (and said so in the job's notes), not refused.
  if (!config.s3.upload) return;
  const problems = s3OverrideProblems(request, config.s3);
  if (problems.length === 0) return;
  throw new PcapdError('PCAPD_ERR_OVERRIDE_NOT_ALLOWED', `per-request S3 override refused: ${problems.join('; ')}`);
}

const S3_FIELDS = ['bucket', 'acl', 'region', 'endpoint', 'encryption'] as const;

/** The S3 fields a request sets while S3 is off: pcapdaemon's messages carry them whatever the sink. */
export function ignoredS3Fields(request: CaptureRequest, config: Config): string[] {
  if (config.s3.upload) return [];
  return S3_FIELDS.filter((field) => request[field] !== undefined && request[field] !== '' && request[field] !== false);
}
