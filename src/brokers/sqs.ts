/**
 * An SQS client from [sqs], shared by the listener, the result publisher and
 * `pcapd request`. Without accessid/accesskey the AWS SDK's default chain
 * applies (environment, shared profile, instance or task role).
 */
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

import type { Config } from '../config/schema.js';
import { regionOfQueueUrl } from '../config/sqs-url.js';

export function sqsClient(section: Config['sqs']): SQSClient {
  // The SDK warns on Node 20 that releases after January 2027 need Node 22;
  // pcapd pins its release (package.json), so the warning says nothing here
  // and would only print ten lines of noise on stderr.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const config: SQSClientConfig = {
    // The SDK retries throttling and 5xx itself, with its own jittered backoff.
    maxAttempts: 3,
  };
  const region = section.region ?? regionOfQueueUrl(section.url);
  if (region !== undefined) config.region = region;
  if (section.endpoint !== undefined) config.endpoint = section.endpoint;
  if (section.accessid !== undefined && section.accesskey !== undefined) {
    config.credentials = { accessKeyId: section.accessid, secretAccessKey: section.accesskey };
  }
  return new SQSClient(config);
}
