/**
 * The S3 sink against real S3-compatible servers: versitygw (checks SigV4,
 * stores real files) for uploads, keys, metadata and errors; moto where the
 * server must echo server-side encryption.
 */
import { CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SinkError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { S3Sink } from '../../src/sinks/s3.js';
import type { Config } from '../../src/config/schema.js';
import { makeJob } from '../helpers/job.js';
import { deliverable, finishedCapture, pcapChunks, smallPcap } from '../helpers/pcap-buffer.js';
import {
  createBucket,
  getObjectBytes,
  listKeys,
  moto,
  objectSha256,
  removeBucket,
  s3Settings,
  sha256Of,
  testClient,
  uniqueBucket,
  versitygw,
  type S3TestServer,
} from '../helpers/s3.js';

const MB = 1_000_000;
const { log } = createLogger({ level: 'silent' });

let vgw: S3TestServer;
let vgwClient: S3Client;
let bucket: string;
let motoServer: S3TestServer;
let motoClient: S3Client;
let motoBucket: string;

function sinkFor(server: S3TestServer, overrides: Partial<Config['s3']> = {}): S3Sink {
  return new S3Sink({ settings: s3Settings(server, { bucket, ...overrides }), log });
}

async function expectSinkError(promise: Promise<unknown>, retriable: boolean, text: RegExp): Promise<SinkError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SinkError);
  const sinkError = err as SinkError;
  expect({ code: sinkError.code, sink: sinkError.sink, retriable: sinkError.retriable }).toEqual({ code: 'PCAPD_ERR_SINK_S3', sink: 's3', retriable });
  expect(sinkError.message).toMatch(text);
  return sinkError;
}

beforeAll(async () => {
  vgw = versitygw();
  vgwClient = testClient(vgw);
  bucket = uniqueBucket();
  await createBucket(vgwClient, bucket);
  motoServer = moto();
  motoClient = testClient(motoServer);
  motoBucket = uniqueBucket('pcapd-moto');
  await createBucket(motoClient, motoBucket);
});

afterAll(async () => {
  await removeBucket(vgwClient, bucket);
  await removeBucket(motoClient, motoBucket);
});

describe('S3Sink uploads', () => {
  it('uploads a 100 MB capture by multipart, parts in parallel, and the object equals it byte for byte', async () => {
    const { chunks, bytes } = pcapChunks(100 * MB);
    const capture = finishedCapture([deliverable('big-r100.pcap', chunks)], makeJob({ id: 'r100' }));
    const sink = sinkFor(vgw, { partsize: 8 * 1024 * 1024, queuesize: 4 });

    const delivery = await sink.deliver(capture);

    expect(delivery).toEqual({ sink: 's3', locations: [`s3://${bucket}/big-r100.pcap`] });
    const head = await vgwClient.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big-r100.pcap', PartNumber: 1 }));
    // 100 MB in 8 MiB parts: 12 parts; the multipart ETag says how many.
    expect(head.PartsCount ?? Number(/-(\d+)"?$/.exec(head.ETag ?? '')?.[1])).toBe(Math.ceil(bytes / (8 * 1024 * 1024)));
    expect(await objectSha256(vgwClient, bucket, 'big-r100.pcap')).toEqual({ sha256: sha256Of(chunks), bytes });
    sink.close();
  }, 120_000);

  it('uploads a capture smaller than one part with a single PutObject, from many small chunks', async () => {
    const file = smallPcap('small-r1.pcap', 500);
    expect(file.chunks.length).toBeGreaterThan(100);
    const sink = sinkFor(vgw);
    await sink.deliver(finishedCapture([file], makeJob({ id: 'r1' })));
    expect((await getObjectBytes(vgwClient, bucket, 'small-r1.pcap')).equals(Buffer.concat(file.chunks))).toBe(true);
    sink.close();
  });

  it('names objects [s3] folder / request folder / file name and uploads every file of a capture', async () => {
    const job = makeJob({ id: 'r2', folder: 'team/case-7' });
    const capture = finishedCapture([smallPcap('a-r2.pcap'), smallPcap('b-r2.pcap')], job);
    const sink = sinkFor(vgw, { folder: '/pcaps/' });
    const delivery = await sink.deliver(capture);
    expect(delivery.locations).toEqual([`s3://${bucket}/pcaps/team/case-7/a-r2.pcap`, `s3://${bucket}/pcaps/team/case-7/b-r2.pcap`]);
    expect(await listKeys(vgwClient, bucket, 'pcaps/')).toEqual(['pcaps/team/case-7/a-r2.pcap', 'pcaps/team/case-7/b-r2.pcap']);
    sink.close();
  });

  it('stores node, alert id, tags, customer, stop reason and packets as object metadata, and a pcap content type', async () => {
    const job = makeJob({ id: 'r3', alertid: 4242, customer: 'acmé corp', tags: ['ids', 'p1'] });
    const file = smallPcap('meta-r3.pcap', 7);
    const sink = sinkFor(vgw);
    await sink.deliver(finishedCapture([file], job, { reason: 'duration' }));
    const head = await vgwClient.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta-r3.pcap' }));
    expect(head.ContentType).toBe('application/vnd.tcpdump.pcap');
    expect(head.Metadata).toMatchObject({
      node: 'sensor1',
      id: 'r3',
      alertid: '4242',
      customer: 'acm%C3%A9 corp',
      tags: 'ids,p1',
      reason: 'duration',
      packets: '7',
      interfaces: 'eth0',
    });
    sink.close();
  });

  it('applies SSE AES256 to multipart and single uploads (moto echoes it)', async () => {
    const sink = new S3Sink({ settings: s3Settings(motoServer, { bucket: motoBucket, encryption: true }), log });
    const big = pcapChunks(12 * MB);
    await sink.deliver(finishedCapture([deliverable('sse-big.pcap', big.chunks), smallPcap('sse-small.pcap')], makeJob({ id: 'sse' })));
    for (const key of ['sse-big.pcap', 'sse-small.pcap']) {
      const head = await motoClient.send(new HeadObjectCommand({ Bucket: motoBucket, Key: key }));
      expect(head.ServerSideEncryption, key).toBe('AES256');
    }
    sink.close();
  });

  it('applies SSE AES256 when only the request asks for encryption; a request cannot turn configured encryption off', async () => {
    const asked = new S3Sink({ settings: s3Settings(motoServer, { bucket: motoBucket }), log });
    await asked.deliver(finishedCapture([smallPcap('asked.pcap')], makeJob({ id: 'asked', request: { node: 'x', interface: ['eth0'], encryption: true } })));
    expect((await motoClient.send(new HeadObjectCommand({ Bucket: motoBucket, Key: 'asked.pcap' }))).ServerSideEncryption).toBe('AES256');
    const configured = new S3Sink({ settings: s3Settings(motoServer, { bucket: motoBucket, encryption: true }), log });
    await configured.deliver(
      finishedCapture([smallPcap('kept.pcap')], makeJob({ id: 'kept', request: { node: 'x', interface: ['eth0'], encryption: false } })),
    );
    expect((await motoClient.send(new HeadObjectCommand({ Bucket: motoBucket, Key: 'kept.pcap' }))).ServerSideEncryption).toBe('AES256');
    asked.close();
    configured.close();
  });

  it('uses SSE-KMS with the configured key id (kmskeyid)', async () => {
    const keyId = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const sink = new S3Sink({ settings: s3Settings(motoServer, { bucket: motoBucket, encryption: true, kmskeyid: keyId }), log });
    await sink.deliver(finishedCapture([smallPcap('kms.pcap')], makeJob({ id: 'kms' })));
    const head = await motoClient.send(new HeadObjectCommand({ Bucket: motoBucket, Key: 'kms.pcap' }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(keyId);
    sink.close();
  });

  it('honours an allowed per-request endpoint and bucket: the object lands on that server', async () => {
    const settings = { allowendpoints: [motoServer.endpoint], allowbuckets: ['pcapd-moto-*'] };
    const sink = sinkFor(vgw, settings);
    const job = makeJob({ id: 'ovr', request: { node: 'x', interface: ['eth0'], endpoint: motoServer.endpoint, bucket: motoBucket } });
    const delivery = await sink.deliver(finishedCapture([smallPcap('override-ovr.pcap')], job));
    expect(delivery.locations).toEqual([`s3://${motoBucket}/override-ovr.pcap`]);
    expect(await listKeys(motoClient, motoBucket, 'override-')).toEqual(['override-ovr.pcap']);
    expect(await listKeys(vgwClient, bucket, 'override-')).toEqual([]);
    sink.close();
  });

  it('refuses, without retry, a per-request override the allowlist does not name', async () => {
    const sink = sinkFor(vgw, { allowbuckets: ['other-*'] });
    const job = makeJob({ id: 'evil', request: { node: 'x', interface: ['eth0'], endpoint: 'https://attacker.example', bucket: 'loot' } });
    await expectSinkError(
      sink.deliver(finishedCapture([smallPcap('evil.pcap')], job)),
      false,
      /bucket "loot" is not allowed.*endpoint "https:\/\/attacker.example" is not allowed/,
    );
    sink.close();
  });
});

describe('S3Sink failures', () => {
  it('fails retriably when the server does not answer (connection refused)', async () => {
    const sink = sinkFor({ ...vgw, endpoint: 'http://127.0.0.1:9' });
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('down.pcap')])), true, /s3:\/\/.*down\.pcap failed: .*ECONNREFUSED/);
    sink.close();
  });

  it('fails without retry for a bucket that does not exist', async () => {
    const sink = sinkFor(vgw, { bucket: uniqueBucket('missing') });
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('nobucket.pcap')])), false, /NoSuchBucket|HTTP 404/);
    sink.close();
  });

  it('fails without retry for a wrong secret key (versitygw checks signatures)', async () => {
    const sink = sinkFor({ ...vgw, secretKey: 'wrong-secret' });
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('badkey.pcap')])), false, /SignatureDoesNotMatch|HTTP 403/);
    sink.close();
  });

  it('on a retry, aborts the multipart upload an earlier (killed) try left unfinished under the same key', async () => {
    const key = 'retry-r9.pcap';
    await vgwClient.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    expect((await vgwClient.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads).toHaveLength(1);
    const sink = sinkFor(vgw);
    await sink.deliver(finishedCapture([smallPcap(key)], makeJob({ id: 'r9' }), { attempt: 2 }));
    expect((await vgwClient.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).toEqual([]);
    expect(await listKeys(vgwClient, bucket, key)).toEqual([key]);
    sink.close();
  });
});
