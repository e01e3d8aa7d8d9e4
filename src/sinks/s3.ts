/**
 * The S3 sink: each capture file uploaded with @aws-sdk/lib-storage. A file
 * larger than s3.partsize goes up as a multipart upload, s3.queuesize parts
 * in parallel, read from the capture's own chunks (one part-sized buffer per
 * part in flight, never the whole capture concatenated); a smaller one is a
 * single PutObject. Measured on this project's machines: bench/s3-upload.ts.
 *
 * Object keys: [s3] folder / request folder / the naming pattern's file name;
 * the request id in the name keeps keys unique, so a retry writes the same
 * key again rather than a second object. A retry first aborts multipart
 * uploads a killed pcapd left unfinished under that key.
 *
 * Errors become SinkError PCAPD_ERR_SINK_S3, retriable for network errors,
 * timeouts, 5xx, 408, 429 and throttling; not for other 4xx (no such bucket,
 * access denied, a bad ACL), which wait in the spool for a reload or
 * `pcapd spool retry`.
 */
import { Readable } from 'node:stream';

import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errnoCode, errorMessage, SinkError } from '../errors.js';
import type { Log } from '../log/logger.js';
import { objectKey, s3Destination, type S3Destination } from './s3-destination.js';
import type { Sink } from './sink.js';
import { CONTENT_TYPES, type DeliverableFile, type Delivery, type FinishedCapture } from '../model/finished-capture.js';

type S3Settings = Config['s3'];

export interface S3SinkOptions {
  settings: S3Settings;
  log: Log;
  clock?: Clock;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** S3 allows 2 KB of user metadata in all; each value is kept well below. */
const MAX_METADATA_VALUE_CHARS = 512;

const RETRIABLE_ERROR_NAMES = new Set([
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ExpiredToken',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'CredentialsProviderError',
  'AbortError',
]);
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'EPROTO',
]);

interface AwsErrorShape {
  name: string;
  message: string;
  code?: string;
  status?: number;
}

function errorShape(err: unknown): AwsErrorShape {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const shape: AwsErrorShape = { name: err.name, message: err.message };
  const code = errnoCode(err);
  if (code !== undefined) shape.code = code;
  const metadata: unknown = '$metadata' in err ? err.$metadata : undefined;
  if (typeof metadata === 'object' && metadata !== null && 'httpStatusCode' in metadata && typeof metadata.httpStatusCode === 'number') {
    shape.status = metadata.httpStatusCode;
  }
  return shape;
}

/** Whether S3 may take the same upload later: the server or the network was the problem, not the request. */
export function isRetriableS3Error(err: unknown): boolean {
  const { name, code, status } = errorShape(err);
  if (RETRIABLE_ERROR_NAMES.has(name) || (code !== undefined && NETWORK_ERRNO.has(code))) return true;
  if (status === undefined) return true;
  return status >= 500 || status === 408 || status === 429;
}

function s3SinkError(err: unknown, bucket: string, key: string): SinkError {
  const { name, code, status, message } = errorShape(err);
  const detail = [code, status === undefined ? undefined : `HTTP ${status}`].filter((part) => part !== undefined).join(', ');
  return new SinkError('PCAPD_ERR_SINK_S3', 's3', `upload of s3://${bucket}/${key} failed: ${name}${detail === '' ? '' : ` (${detail})`}: ${message}`, {
    retriable: isRetriableS3Error(err),
    cause: err,
  });
}

/** Metadata travels as HTTP headers: printable ASCII only, the rest percent-encoded, each value bounded. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (char) => encodeURIComponent(char)).slice(0, MAX_METADATA_VALUE_CHARS);
}

function metadataOf(capture: FinishedCapture, file: DeliverableFile): Record<string, string> {
  const { job } = capture;
  const metadata: Record<string, string> = {
    node: job.node,
    id: job.id,
    reason: capture.reason,
    packets: String(file.packets),
    interfaces: file.interfaces.join(','),
    segment: String(capture.segment),
  };
  if (job.alertid !== undefined) metadata['alertid'] = String(job.alertid);
  if (job.customer !== undefined) metadata['customer'] = job.customer;
  if (job.tags.length > 0) metadata['tags'] = job.tags.join(',');
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, headerSafe(value)]));
}

function encryptionParams(destination: S3Destination): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
  const { encryption } = destination;
  switch (encryption.kind) {
    case 'none':
      return {};
    case 'AES256':
      return { ServerSideEncryption: 'AES256' };
    case 'aws:kms':
      return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryption.keyId };
    default: {
      const unreachable: never = encryption;
      return unreachable;
    }
  }
}

export class S3Sink implements Sink {
  readonly name = 's3';
  readonly #settings: S3Settings;
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #clients = new Map<string, S3Client>();
  #inFlight = 0;
  #retired = false;

  constructor(options: S3SinkOptions) {
    this.#settings = options.settings;
    this.#log = options.log.child({ component: 'sink', sink: 's3' });
    this.#clock = options.clock ?? systemClock;
  }

  async deliver(capture: FinishedCapture): Promise<Delivery> {
    this.#inFlight += 1;
    try {
      return await this.#deliver(capture);
    } finally {
      this.#inFlight -= 1;
      if (this.#retired && this.#inFlight === 0) this.#destroyClients();
    }
  }

  /**
   * A reload replaced this sink: its connection pools close once the uploads
   * still running on it (a spool retry, a first try) have finished.
   */
  close(): void {
    this.#retired = true;
    if (this.#inFlight === 0) this.#destroyClients();
  }

  async #deliver(capture: FinishedCapture): Promise<Delivery> {
    const log = this.#log.child({ reqId: capture.job.id });
    let destination: S3Destination;
    try {
      destination = s3Destination(capture.job.request, capture.job.folder, this.#settings);
    } catch (err: unknown) {
      throw new SinkError('PCAPD_ERR_SINK_S3', 's3', `no S3 destination: ${errorMessage(err)}`, { retriable: false, cause: err });
    }
    const client = this.#client(destination);
    const locations: string[] = [];
    for (const file of capture.files) {
      const key = objectKey(destination, file.name);
      if ((capture.attempt ?? 1) > 1) await this.#abortUnfinished(client, destination.bucket, key, log);
      const startMs = this.#clock.nowMs();
      log.info({ bucket: destination.bucket, key, bytes: file.bytes, endpoint: destination.endpoint, attempt: capture.attempt ?? 1 }, 'S3 upload started');
      try {
        await this.#upload(client, destination, key, capture, file);
      } catch (err: unknown) {
        throw s3SinkError(err, destination.bucket, key);
      }
      const location = `s3://${destination.bucket}/${key}`;
      log.info({ location, bytes: file.bytes, durationMs: this.#clock.nowMs() - startMs }, 'S3 upload done');
      locations.push(location);
    }
    return { sink: this.name, locations };
  }

  #destroyClients(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  async #upload(client: S3Client, destination: S3Destination, key: string, capture: FinishedCapture, file: DeliverableFile): Promise<void> {
    const params: PutObjectCommandInput = {
      Bucket: destination.bucket,
      Key: key,
      // The chunks as they are: lib-storage cuts them into parts as they stream past.
      Body: Readable.from(file.chunks),
      ContentLength: file.bytes,
      ContentType: CONTENT_TYPES[file.format],
      Metadata: metadataOf(capture, file),
      ...encryptionParams(destination),
    };
    if (destination.acl !== undefined) params.ACL = destination.acl;
    const upload = new Upload({
      client,
      params,
      partSize: this.#settings.partsize,
      queueSize: this.#settings.queuesize,
      // On failure, abort the multipart upload: its parts would be stored (and billed) forever.
      leavePartsOnError: false,
    });
    await upload.done();
  }

  /** Best effort: a bucket lifecycle rule (AbortIncompleteMultipartUpload) catches whatever this misses. */
  async #abortUnfinished(client: S3Client, bucket: string, key: string, log: Log): Promise<void> {
    try {
      const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
      for (const upload of listing.Uploads ?? []) {
        if (upload.Key !== key || upload.UploadId === undefined) continue;
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }));
        log.info({ bucket, key, uploadId: upload.UploadId }, 'aborted a multipart upload an earlier try left unfinished');
      }
    } catch (err: unknown) {
      log.debug({ bucket, key, err: errorMessage(err) }, 'could not list unfinished multipart uploads');
    }
  }

  #client(destination: S3Destination): S3Client {
    const cacheKey = `${destination.endpoint ?? ''}|${destination.region}`;
    let client = this.#clients.get(cacheKey);
    if (client === undefined) {
      client = this.#newClient(destination);
      this.#clients.set(cacheKey, client);
    }
    return client;
  }

  #newClient(destination: S3Destination): S3Client {
    const { accessid, accesskey, pathstyle, timeout, queuesize } = this.#settings;
    return new S3Client({
      region: destination.region,
      ...(destination.endpoint === undefined ? {} : { endpoint: destination.endpoint }),
      forcePathStyle: pathstyle,
      // Absent keys: the SDK's default chain (environment, shared files, instance or task role).
      ...(accessid !== undefined && accesskey !== undefined ? { credentials: { accessKeyId: accessid, secretAccessKey: accesskey } } : {}),
      requestHandler: {
        connectionTimeout: CONNECT_TIMEOUT_MS,
        // Socket idle time: a stalled part fails instead of hanging the delivery.
        ...(timeout > 0 ? { requestTimeout: timeout * 1000 } : {}),
        httpAgent: { keepAlive: true, maxSockets: queuesize * 2 },
        httpsAgent: { keepAlive: true, maxSockets: queuesize * 2 },
      },
      // The SDK's own quick retries for a blip; the spool takes over from there.
      maxAttempts: 3,
    });
  }
}
