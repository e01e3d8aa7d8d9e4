/**
 * The real S3-compatible servers scripts/test-services.sh starts: versitygw
 * (checks SigV4 signatures, stores real files) and moto (echoes the SSE
 * header). Their addresses come from the environment scripts/test.sh
 * exports; a missing variable fails with the command that sets it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  AbortMultipartUploadCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

import { ConfigSchema, type Config } from '../../src/config/schema.js';

export interface S3TestServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: start the test servers and load their addresses first:\n` +
        '  scripts/test-services.sh start versitygw moto && set -a && . /var/tmp/pcapd-test-services/env && set +a\n' +
        '(scripts/test.sh does both)',
    );
  }
  return value;
}

export function versitygw(): S3TestServer {
  return { endpoint: required('PCAPD_TEST_S3_ENDPOINT'), accessKey: required('PCAPD_TEST_S3_ACCESS_KEY'), secretKey: required('PCAPD_TEST_S3_SECRET_KEY') };
}

/** moto accepts any credentials. */
export function moto(): S3TestServer {
  return { endpoint: required('PCAPD_TEST_MOTO_ENDPOINT'), accessKey: 'pcapdtest', secretKey: 'pcapdtestsecret' };
}

export function testClient(server: S3TestServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
}

/** A bucket name no other test (or run) uses. */
export function uniqueBucket(prefix = 'pcapd-test'): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Empties (objects and unfinished multipart uploads) and deletes a test bucket; quiet when it is gone. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    for (const upload of (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    for (;;) {
      const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listing.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [{ Key: object.Key }]));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch {
    // gone already, or the server is down after a fault test: nothing to clean
  }
}

export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listing.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key])).sort();
}

export async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** sha256 of an object, streamed: a 100 MB object is never held whole. */
export async function objectSha256(client: S3Client, bucket: string, key: string): Promise<{ sha256: string; bytes: number }> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of object.Body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function sha256Of(chunks: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

/** An [s3] section for `server`, defaults filled, as the daemon would load it. */
export function s3Settings(server: S3TestServer, overrides: Partial<Config['s3']> = {}): Config['s3'] {
  return ConfigSchema.shape.s3.parse({
    accessid: server.accessKey,
    accesskey: server.secretKey,
    endpoint: server.endpoint,
    region: 'us-east-1',
    pathstyle: true,
    upload: true,
    ...overrides,
  });
}

/** "s3://bucket/key" → [bucket, key]. */
export function splitS3Location(location: string): [string, string] {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!match?.[1] || !match[2]) throw new Error(`not an s3:// location: ${location}`);
  return [match[1], match[2]];
}
