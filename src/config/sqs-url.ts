/**
 * SQS queue URLs, without the AWS SDK: config validation and the reply check
 * use these, and must not load the SDK to do so.
 */
import type { Config } from './schema.js';

/** "https://sqs.eu-west-1.amazonaws.com/123/q" → "eu-west-1". */
export function regionOfQueueUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The origin result events may be sent to: a reply queue must live where the
 * request queue does, so a message cannot make pcapd send signed requests to
 * a host of its choosing.
 */
export function sqsOrigin(section: Config['sqs']): string | undefined {
  const base = section.url ?? section.endpoint;
  if (base === undefined) return undefined;
  try {
    return new URL(base).origin;
  } catch {
    return undefined;
  }
}
