/**
 * The Sink contract (src/sinks/sink.ts), run against every sink with its real
 * backend: the local disk, S3 on versitygw, Cloudshark's API served by the
 * test. Whatever sink a deployment enables, the delivery service and the
 * spool rely on exactly this.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../src/config/schema.js';
import { SinkError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { CloudsharkSink } from '../../src/sinks/cloudshark.js';
import { LocalSink } from '../../src/sinks/local.js';
import { S3Sink } from '../../src/sinks/s3.js';
import type { Sink } from '../../src/sinks/sink.js';
import type { FinishedCapture } from '../../src/model/finished-capture.js';
import { startCloudsharkServer, type CloudsharkServer } from '../helpers/cloudshark-server.js';
import { makeJob } from '../helpers/job.js';
import { deliverable, finishedCapture, pcapChunks, smallPcap } from '../helpers/pcap-buffer.js';
import { createBucket, getObjectBytes, listKeys, removeBucket, s3Settings, splitS3Location, testClient, uniqueBucket, versitygw } from '../helpers/s3.js';

const { log } = createLogger({ level: 'silent' });

interface SinkFixture {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A sink whose backend works. */
  working(): Sink;
  /** A sink whose backend is unreachable for now (a retry may succeed). */
  unreachable(): Sink;
  /** A delivery refused for good (a folder leaving the root, no such bucket, a wrong token). */
  refused(capture: FinishedCapture): { sink: Sink; capture: FinishedCapture };
  /** The bytes stored at a delivery location. */
  read(location: string): Promise<Buffer>;
  /** How many stored copies there are of a file name. */
  copies(fileName: string): Promise<number>;
}

function localFixture(): SinkFixture {
  let base = '';
  return {
    name: 'local',
    async setup() {
      base = await mkdtemp(join(tmpdir(), 'pcapd-contract-'));
      await writeFile(join(base, 'not-a-folder'), 'x');
    },
    teardown: () => rm(base, { recursive: true, force: true }),
    working: () => new LocalSink({ rootDir: join(base, 'root'), log }),
    unreachable: () => new LocalSink({ rootDir: join(base, 'not-a-folder', 'root'), log }),
    refused: (capture) => ({
      sink: new LocalSink({ rootDir: join(base, 'root'), log }),
      capture: { ...capture, job: { ...capture.job, folder: '../escape' } },
    }),
    read: (location) => readFile(location),
    copies: async (fileName) => (await readdir(join(base, 'root')).catch(() => [])).filter((name) => name.startsWith(fileName.replace(/\.pcap$/, ''))).length,
  };
}

function s3Fixture(): SinkFixture {
  let client: S3Client;
  let bucket = '';
  const made: S3Sink[] = [];
  const make = (sink: S3Sink): S3Sink => {
    made.push(sink);
    return sink;
  };
  return {
    name: 's3',
    async setup() {
      client = testClient(versitygw());
      bucket = uniqueBucket('contract');
      await createBucket(client, bucket);
    },
    async teardown() {
      for (const sink of made) sink.close();
      await removeBucket(client, bucket);
    },
    working: () => make(new S3Sink({ settings: s3Settings(versitygw(), { bucket }), log })),
    unreachable: () => make(new S3Sink({ settings: s3Settings({ ...versitygw(), endpoint: 'http://127.0.0.1:9' }, { bucket }), log })),
    refused: (capture) => ({ sink: make(new S3Sink({ settings: s3Settings(versitygw(), { bucket: uniqueBucket('absent') }), log })), capture }),
    read: (location) => getObjectBytes(client, ...splitS3Location(location)),
    copies: async (fileName) => (await listKeys(client, bucket, fileName)).length,
  };
}

function cloudsharkFixture(): SinkFixture {
  let server: CloudsharkServer;
  const settings = (overrides: Record<string, unknown> = {}) =>
    ConfigSchema.shape.cloudshark.parse({ scheme: 'http', host: '127.0.0.1', port: server.port, token: server.token, upload: true, ...overrides });
  return {
    name: 'cloudshark',
    async setup() {
      server = await startCloudsharkServer();
    },
    teardown: () => server.stop(),
    working: () => new CloudsharkSink({ settings: settings(), log }),
    unreachable: () => new CloudsharkSink({ settings: settings({ port: 9 }), log }),
    refused: (capture) => ({ sink: new CloudsharkSink({ settings: settings({ token: 'wrong-token' }), log }), capture }),
    read: async (location) => {
      const id = /\/captures\/([^/]+)$/.exec(location)?.[1];
      const upload = server.uploads.find((candidate) => candidate.id === id);
      if (!upload) throw new Error(`no upload at ${location}`);
      return upload.bytes;
    },
    copies: async (fileName) => server.uploads.filter((upload) => upload.filename === fileName).length,
  };
}

async function failure(sink: Sink, capture: FinishedCapture): Promise<SinkError> {
  const err = await sink.deliver(capture).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SinkError);
  return err as SinkError;
}

describe.each([localFixture(), s3Fixture(), cloudsharkFixture()])('the $name sink', (fixture) => {
  beforeAll(() => fixture.setup());
  afterAll(() => fixture.teardown());
  const unique = (stem: string): string => `${stem}-${fixture.name}-${Math.random().toString(36).slice(2, 8)}.pcap`;

  it('stores every file of a capture byte for byte and returns one location per file, in order, under its own name', async () => {
    const files = [smallPcap(unique('first'), 5), smallPcap(unique('second'), 9)];
    const sink = fixture.working();
    const delivery = await sink.deliver(finishedCapture(files));
    expect(delivery.sink).toBe(sink.name);
    expect(sink.name).toBe(fixture.name);
    expect(delivery.locations).toHaveLength(2);
    for (const [index, file] of files.entries()) {
      expect(delivery.locations[index]).toContain(fixture.name === 'cloudshark' ? '/captures/' : file.name);
      expect((await fixture.read(delivery.locations[index] ?? '')).equals(Buffer.concat(file.chunks))).toBe(true);
    }
  });

  it('takes a capture in thousands of small chunks without changing a byte', async () => {
    const { chunks } = pcapChunks(3_000_000, { frameBytes: 200, chunkBytes: 1000 });
    expect(chunks.length).toBeGreaterThan(2000);
    const delivery = await fixture.working().deliver(finishedCapture([deliverable(unique('chunks'), chunks)]));
    expect((await fixture.read(delivery.locations[0] ?? '')).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('fails with a retriable SinkError naming itself when its backend is unreachable', async () => {
    const err = await failure(fixture.unreachable(), finishedCapture([smallPcap(unique('down'))]));
    expect({ sink: err.sink, retriable: err.retriable }).toEqual({ sink: fixture.name, retriable: true });
    expect(err.code).toMatch(/^PCAPD_ERR_SINK_/);
  });

  it('fails with a SinkError that is not retriable when its backend refuses the delivery for good', async () => {
    const { sink, capture } = fixture.refused(finishedCapture([smallPcap(unique('refused'))]));
    const err = await failure(sink, capture);
    expect({ sink: err.sink, retriable: err.retriable }).toEqual({ sink: fixture.name, retriable: false });
  });

  it('stores a capture once when it is delivered again after a failed try', async () => {
    const capture = finishedCapture([smallPcap(unique('again'))], makeJob());
    await failure(fixture.unreachable(), capture);
    await fixture.working().deliver({ ...capture, attempt: 2 });
    expect(await fixture.copies(capture.files[0]?.name ?? '')).toBe(1);
  });
});
