/**
 * The delivery service with real sinks: the local sink, the S3 sink on
 * versitygw (or on a closed port), Cloudshark's API served by the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { applySpoolChange, DeliveryService, type LateOutcomeContext } from '../../src/delivery/delivery.js';
import type { CaptureOutcome } from '../../src/model/outcome.js';
import { CloudsharkSink } from '../../src/sinks/cloudshark.js';
import { LocalSink } from '../../src/sinks/local.js';
import { S3Sink } from '../../src/sinks/s3.js';
import type { Sink } from '../../src/sinks/sink.js';
import { Spool } from '../../src/spool/spool.js';
import type { SpoolRecord } from '../../src/spool/store.js';
import { startCloudsharkServer, type CloudsharkServer } from '../helpers/cloudshark-server.js';
import { makeJob, makeOutcome } from '../helpers/job.js';
import { finishedCapture, smallPcap } from '../helpers/pcap-buffer.js';
import { waitFor } from '../helpers/wait.js';
import { createBucket, listKeys, removeBucket, s3Settings, testClient, uniqueBucket, versitygw } from '../helpers/s3.js';

const { log } = createLogger({ level: 'silent' });
let dir: string;
let client: S3Client;
let bucket: string;
let cloudshark: CloudsharkServer;
let sinks: Sink[];
let spool: Spool;
let service: DeliveryService;
let amended: Map<string, CaptureOutcome>;
let late: Array<{ outcome: CaptureOutcome; context: LateOutcomeContext }>;

function outcome(id: string): CaptureOutcome {
  return makeOutcome(id, { source: 'redis', requestedAt: '2024-05-06T07:08:09.000Z', bytes: 1000 });
}

function csSettings(port: number): Config['cloudshark'] {
  return ConfigSchema.shape.cloudshark.parse({ scheme: 'http', host: '127.0.0.1', port, token: cloudshark.token, upload: true });
}

beforeAll(async () => {
  client = testClient(versitygw());
  bucket = uniqueBucket('delivery');
  await createBucket(client, bucket);
  cloudshark = await startCloudsharkServer();
});

afterAll(async () => {
  await removeBucket(client, bucket);
  await cloudshark.stop();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-delivery-'));
  amended = new Map();
  late = [];
  cloudshark.uploads.length = 0;
  cloudshark.holdUploads(false);
  const metrics = new Metrics({ version: 'test', libpcap: 'test', defaults: false });
  spool = new Spool({
    settings: () => ({ dir: join(dir, 'spool'), maxbytes: 1 << 30, maxage: 3600, retrybase: 1, retrymax: 1, cullinterval: 3600 }),
    sinks: () => sinks,
    log,
    metrics,
    clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
    onChange: (change) => service.applySpoolChange(change),
  });
  service = new DeliveryService({
    sinks: () => sinks,
    spool,
    log,
    metrics,
    amendOutcome: (id, change, fallback) => {
      const current = amended.get(id) ?? fallback;
      change(current);
      amended.set(id, current);
      return structuredClone(current);
    },
  });
  await spool.open(0);
  service.onDelivered((outcome, context) => late.push({ outcome, context }));
});

afterEach(async () => {
  await spool.close();
  for (const sink of sinks) if (sink instanceof S3Sink) sink.close();
  await rm(dir, { recursive: true, force: true });
});

describe('DeliveryService', () => {
  it('delivers to every sink in parallel; a capture every sink took leaves nothing in the spool', async () => {
    sinks = [new LocalSink({ rootDir: join(dir, 'local'), log }), new S3Sink({ settings: s3Settings(versitygw(), { bucket }), log })];
    const report = await service.deliver(finishedCapture([smallPcap('ok-d1.pcap')], makeJob({ id: 'd1' })), outcome('d1'), log);
    expect(report.deliveries.map((delivery) => delivery.sink).sort()).toEqual(['local', 's3']);
    expect(report.pending).toEqual([]);
    expect(report.failures).toEqual([]);
    expect(spool.stats().captures).toBe(0);
  });

  it('spools what a sink failed, reports it pending, and when it arrives updates the outcome and calls onDelivered with the reply destination', async () => {
    const s3Down = new S3Sink({ settings: s3Settings({ ...versitygw(), endpoint: 'http://127.0.0.1:9' }, { bucket }), log });
    sinks = [new LocalSink({ rootDir: join(dir, 'local'), log }), s3Down];
    const job = makeJob({ id: 'd2', reply: 'redis://results', source: 'redis' });
    const report = await service.deliver(finishedCapture([smallPcap('late-d2.pcap')], job), outcome('d2'), log);

    expect(report.deliveries.map((delivery) => delivery.sink)).toEqual(['local']);
    expect(report.pending).toEqual([expect.objectContaining({ sink: 's3', segment: 0, attempts: 1, code: 'PCAPD_ERR_SINK_S3' })]);
    expect(report.failures).toEqual([]);

    // S3 comes back (as after a reload fixed its endpoint).
    sinks = [sinks[0] as Sink, new S3Sink({ settings: s3Settings(versitygw(), { bucket }), log })];
    const { outcome: updated, context } = await waitFor('the late delivery', () => late[0]);
    s3Down.close();

    expect(context).toEqual({ kind: 'delivered', reply: 'redis://results', source: 'redis', segment: 0 });
    expect(updated.state).toBe('done');
    expect(updated.pending).toEqual([]);
    expect(updated.deliveries.map((delivery) => delivery.sink).sort()).toEqual(['local', 's3']);
    expect(updated.deliveries.find((delivery) => delivery.sink === 's3')?.locations).toEqual([`s3://${bucket}/late-d2.pcap`]);
    expect(amended.get('d2')).toEqual(updated);
    expect(await listKeys(client, bucket, 'late-d2')).toEqual(['late-d2.pcap']);
  });

  it('keeps a write-ahead copy in the spool while a remote sink uploads, marks each sink that took it at once, and drops the copy once all have it', async () => {
    cloudshark.holdUploads(true);
    sinks = [new LocalSink({ rootDir: join(dir, 'local'), log }), new CloudsharkSink({ settings: csSettings(cloudshark.port), log })];
    const delivering = service.deliver(finishedCapture([smallPcap('ahead-d5.pcap')], makeJob({ id: 'd5' })), outcome('d5'), log);
    await cloudshark.waitForAttempt(1);

    // What a pcapd killed now would find at its next start: the capture, local already marked.
    const entries = await waitFor(
      'the write-ahead copy, the local sink marked in it',
      async () => {
        const listed = await spool.store.list();
        return listed[0]?.kind === 'valid' && listed[0].delivered.has('local') ? listed : undefined;
      },
      10_000,
    );
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({ kind: 'valid', record: { id: 'd5', sinks: ['local', 'cloudshark'] } });
    expect(entry?.kind === 'valid' && [...entry.delivered.keys()]).toEqual(['local']);

    cloudshark.holdUploads(false);
    const report = await delivering;
    expect(report.deliveries.map((delivery) => delivery.sink).sort()).toEqual(['cloudshark', 'local']);
    expect(report.pending).toEqual([]);
    expect(await spool.store.list()).toEqual([]);
    expect(cloudshark.uploads).toHaveLength(1);
  });

  it('reports a failure it cannot spool, naming both the sink error and the spool error', async () => {
    sinks = [new S3Sink({ settings: s3Settings({ ...versitygw(), endpoint: 'http://127.0.0.1:9' }, { bucket }), log })];
    await spool.close();
    const report = await service.deliver(finishedCapture([smallPcap('lost.pcap')], makeJob({ id: 'd3' })), outcome('d3'), log);
    expect(report.pending).toEqual([]);
    expect(report.failures).toEqual([
      {
        sink: 's3',
        segment: 0,
        code: 'PCAPD_ERR_SPOOL_WRITE',
        message: expect.stringMatching(/ECONNREFUSED.*the spool could not keep the capture: the spool is not open/),
      },
    ]);
  });

  it('on shutdown spools a capture whose sink has not answered, and records it if the sink answers afterwards', async () => {
    cloudshark.holdUploads(true);
    sinks = [new CloudsharkSink({ settings: csSettings(cloudshark.port), log })];
    const delivering = service.deliver(finishedCapture([smallPcap('hung-d4.pcap')], makeJob({ id: 'd4' })), outcome('d4'), log);
    await cloudshark.waitForAttempt(1);

    expect(await service.spoolUnfinished(log)).toBe(1);
    const [entry] = await spool.store.list();
    expect(entry).toMatchObject({ kind: 'valid', record: { id: 'd4', sinks: ['cloudshark'] } });

    cloudshark.holdUploads(false);
    const report = await delivering;
    expect(report.deliveries.map((delivery) => delivery.sink)).toEqual(['cloudshark']);
    const reread = await spool.store.readEntry(entry?.key ?? '');
    expect(reread?.kind === 'valid' && [...reread.delivered.keys()]).toEqual(['cloudshark']);
  });
});

describe('applySpoolChange', () => {
  const record = { id: 'x', segment: 2, sinks: ['s3', 'cloudshark'] } as SpoolRecord;

  it("replaces the pending entries and failures of the change's segment and sinks, and adds deliveries once", () => {
    const current = outcome('x');
    current.deliveries = [{ sink: 'local', locations: ['/a'] }];
    current.pending = [
      { sink: 's3', segment: 2, attempts: 1, nextAttemptAt: 't', code: 'PCAPD_ERR_SINK_S3' as const, message: 'm' },
      { sink: 's3', segment: 1, attempts: 1, nextAttemptAt: 't', code: 'PCAPD_ERR_SINK_S3' as const, message: 'm' },
    ];
    current.deliveryFailures = [{ sink: 'cloudshark', segment: 2, code: 'PCAPD_ERR_SINK_S3' as const, message: 'm' }];
    const change = {
      record,
      deliveries: [{ sink: 's3', locations: ['s3://b/k'] }],
      pending: [{ sink: 'cloudshark', segment: 2, attempts: 0, nextAttemptAt: 'now', code: 'PCAPD_ERR_SINK_S3' as const, message: 'm' }],
      failures: [],
    };
    applySpoolChange(current, change);
    applySpoolChange(current, change);
    expect(current.deliveries).toEqual([
      { sink: 'local', locations: ['/a'] },
      { sink: 's3', locations: ['s3://b/k'] },
    ]);
    expect(current.pending?.map((item) => `${item.sink}/${item.segment}`)).toEqual(['s3/1', 'cloudshark/2']);
    expect(current.deliveryFailures).toEqual([]);
  });
});
