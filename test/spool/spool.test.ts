/**
 * The spool with real sinks failing for real reasons: the local sink whose
 * root sits below a plain file (ENOTDIR, retriable) or that refuses a file
 * name (not retriable), the S3 sink on a closed port or a missing bucket,
 * a tmpfs too small for the capture (ENOSPC).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { SinkError } from '../../src/errors.js';
import { CaptureOutcomeSchema } from '../../src/http/openapi.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { CloudsharkSink } from '../../src/sinks/cloudshark.js';
import { LocalSink } from '../../src/sinks/local.js';
import { S3Sink } from '../../src/sinks/s3.js';
import type { Sink } from '../../src/sinks/sink.js';
import { Spool, type SpoolChange } from '../../src/spool/spool.js';
import { SpoolStore } from '../../src/spool/store.js';
import { startCloudsharkServer } from '../helpers/cloudshark-server.js';
import { run } from '../helpers/exec.js';
import { makeJob, makeSpooledOutcome } from '../helpers/job.js';
import { deliverable, finishedCapture, pcapChunks, smallPcap } from '../helpers/pcap-buffer.js';
import { createBucket, getObjectBytes, listKeys, removeBucket, s3Settings, testClient, uniqueBucket, versitygw } from '../helpers/s3.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 1024 * 1024;
const { log } = createLogger({ level: 'silent' });

let base: string;
let dir: string;
let spools: Spool[];

interface Harness {
  spool: Spool;
  changes: SpoolChange[];
  metrics: Metrics;
  clock: { offsetMs: number; nowMs(): number; monotonicMs(): number };
  settings: Config['spool'];
}

function settings(overrides: Partial<Config['spool']> = {}): Config['spool'] {
  return { dir: join(dir, 'spool'), maxbytes: 64 * MIB, maxage: 3600, retrybase: 1, retrymax: 2, cullinterval: 3600, ...overrides };
}

async function openSpool(
  sinks: () => readonly Sink[],
  overrides: Partial<Config['spool']> = {},
  options: { random?: () => number; open?: boolean } = {},
): Promise<Harness> {
  const changes: SpoolChange[] = [];
  const metrics = new Metrics({ version: 'test', libpcap: 'test', defaults: false });
  const clock = {
    offsetMs: 0,
    nowMs() {
      return Date.now() + this.offsetMs;
    },
    monotonicMs: () => performance.now(),
  };
  const spool = new Spool({
    settings: () => settings(overrides),
    sinks,
    log,
    metrics,
    clock,
    onChange: (change) => changes.push(change),
    ...(options.random ? { random: options.random } : {}),
  });
  if (options.open ?? true) await spool.open(0);
  spools.push(spool);
  return { spool, changes, metrics, clock, settings: settings(overrides) };
}

/** A local sink whose root lies below a plain file until fix() removes it. */
async function breakableLocal(): Promise<{ sink: LocalSink; root: string; fix(): Promise<void>; breakAgain(): Promise<void> }> {
  const blocker = join(dir, 'blocker');
  const root = join(blocker, 'root');
  await writeFile(blocker, 'not a folder');
  return {
    sink: new LocalSink({ rootDir: root, log }),
    root,
    fix: async () => {
      await rm(blocker, { force: true });
    },
    breakAgain: async () => {
      await rm(blocker, { recursive: true, force: true });
      await writeFile(blocker, 'not a folder');
    },
  };
}

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted));
  return match?.value ?? 0;
}

type SinkName = 'local' | 's3' | 'cloudshark';
const SINK_CODES = { local: 'PCAPD_ERR_SINK_LOCAL', s3: 'PCAPD_ERR_SINK_S3', cloudshark: 'PCAPD_ERR_SINK_CLOUDSHARK' } as const;

/** A sink's failure as the sinks raise it: the spool decides from `retriable` alone (src/spool/retry.ts). */
function sinkError(sinkName: SinkName, retriable = true): SinkError {
  return new SinkError(SINK_CODES[sinkName], sinkName, `${sinkName} down (test)`, { retriable });
}

let tracers = 0;

/**
 * Proves that `sink`'s retry worker has passed over every capture spooled
 * before now, so that a capture it left alone was not due, rather than not
 * due yet. The clock moves past any backoff (retrymax), then a tracer capture
 * is spooled for `sink` and made due; the worker tries due captures one at a
 * time, oldest first, so once the tracer has been tried, any earlier capture
 * that was due (a non-retriable failure retried after a backoff, say) has
 * been tried before it.
 */
async function tracerTried(harness: Harness, sink: SinkName): Promise<void> {
  harness.clock.offsetMs += harness.settings.retrymax * 1000 + 1000;
  const id = `tracer-${++tracers}`;
  const { key } = await harness.spool.add(
    finishedCapture([smallPcap(`${id}.pcap`)], makeJob({ id })),
    [{ sink, error: sinkError(sink) }],
    makeSpooledOutcome(id),
  );
  expect(harness.spool.retryNow([key])).toEqual([key]);
  await waitFor(`the tracer ${id} tried by the ${sink} worker`, async () => {
    const entry = await harness.spool.store.readEntry(key);
    return entry === undefined || (entry.kind === 'valid' && (entry.delivered.has(sink) || (entry.state.sinks[sink]?.failures ?? 0) >= 2));
  });
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'pcapd-spool-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(base, 'case-'));
  spools = [];
});

afterEach(async () => {
  for (const spool of spools) await spool.close();
});

describe('Spool', () => {
  it('keeps a capture a sink failed, byte for byte and durably, then delivers it once the sink works and removes it', async () => {
    const local = await breakableLocal();
    const { spool, changes, metrics } = await openSpool(() => [local.sink]);
    const file = smallPcap('cap-r1.pcap', 20);
    const capture = finishedCapture([file], makeJob({ id: 'r1' }));
    const first = await local.sink.deliver(capture).catch((err: unknown) => err);

    const { key, view } = await spool.add(capture, [{ sink: 'local', error: first }], makeSpooledOutcome('r1'));

    expect(view.pending).toEqual([expect.objectContaining({ sink: 'local', segment: 0, attempts: 1, code: 'PCAPD_ERR_SINK_LOCAL' })]);
    const entryDir = join(dir, 'spool', 'entries', key);
    expect((await readdir(entryDir)).sort()).toEqual(['capture.json', 'file-0.pcap', 'state.json']);
    expect((await readFile(join(entryDir, 'file-0.pcap'))).equals(Buffer.concat(file.chunks))).toBe(true);
    expect(JSON.parse(await readFile(join(entryDir, 'capture.json'), 'utf8'))).toMatchObject({
      id: 'r1',
      sinks: ['local'],
      files: [{ name: 'cap-r1.pcap', bytes: file.bytes }],
    });
    expect(await metricValue(metrics, 'pcapd_spool_files')).toBe(1);
    expect(await metricValue(metrics, 'pcapd_spool_pending', { sink: 'local', state: 'retrying' })).toBe(1);

    await local.fix();
    const delivered = await waitFor('the spooled delivery', () => changes.find((change) => change.kind === 'delivered'));

    expect(delivered.deliveries).toEqual([{ sink: 'local', locations: [join(local.root, 'cap-r1.pcap')] }]);
    expect(delivered.pending).toEqual([]);
    expect((await readFile(join(local.root, 'cap-r1.pcap'))).equals(Buffer.concat(file.chunks))).toBe(true);
    await waitFor('the entry removed', () => spool.stats().captures === 0);
    expect(await readdir(join(dir, 'spool', 'entries'))).toEqual([]);
    expect(await metricValue(metrics, 'pcapd_spool_culled_total', { reason: 'delivered' })).toBe(1);
    expect(await metricValue(metrics, 'pcapd_delivery_retries_total', { sink: 'local', outcome: 'ok' })).toBe(1);
    expect(await metricValue(metrics, 'pcapd_spool_files')).toBe(0);
  });

  it('retries with exponential backoff (capped at retrymax), counting each failure', async () => {
    const local = await breakableLocal();
    const { spool, metrics } = await openSpool(() => [local.sink], { retrybase: 1, retrymax: 2 }, { random: () => 1 });
    const { key } = await spool.add(finishedCapture([smallPcap('b.pcap')]), [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('b'));
    const store = new SpoolStore(join(dir, 'spool'));
    const waits: number[] = [];
    for (const failures of [2, 3]) {
      const entry = await waitFor(`failure ${failures}`, async () => {
        const read = await store.readEntry(key);
        return read?.kind === 'valid' && (read.state.sinks['local']?.failures ?? 0) >= failures ? read : undefined;
      });
      const sinkState = entry.state.sinks['local'];
      waits.push(Date.parse(sinkState?.nextAttemptAt ?? '') - Date.parse(sinkState?.lastAttemptAt ?? ''));
    }
    // After failure 2: base·2 = 2 s; after failure 3: 4 s, capped at retrymax 2 s.
    expect(waits).toEqual([2000, 2000]);
    expect(await metricValue(metrics, 'pcapd_delivery_retries_total', { sink: 'local', outcome: 'error' })).toBeGreaterThanOrEqual(2);
  }, 20_000);

  it('keeps a capture whose failure is not retriable without trying again, until retryNow', async () => {
    const s3 = versitygw();
    const client = testClient(s3);
    const bucket = uniqueBucket('later');
    const sink = new S3Sink({ settings: s3Settings(s3, { bucket }), log });
    const harness = await openSpool(() => [sink]);
    const { spool, changes } = harness;
    const capture = finishedCapture([smallPcap('nf-r5.pcap')], makeJob({ id: 'r5' }));
    const first = await sink.deliver(capture).catch((err: unknown) => err);
    expect(first).toMatchObject({ retriable: false });

    const { view } = await spool.add(capture, [{ sink: 's3', error: first }], makeSpooledOutcome('r5'));
    expect(view.pending).toEqual([]);
    expect(view.failures).toEqual([expect.objectContaining({ sink: 's3', code: 'PCAPD_ERR_SINK_S3', segment: 0 })]);
    await tracerTried(harness, 's3');
    expect(changes.filter((change) => change.record.id === 'r5')).toEqual([]);
    expect(await metricValue(harness.metrics, 'pcapd_spool_pending', { sink: 's3', state: 'failed' })).toBe(2); // r5 and the tracer

    try {
      await createBucket(client, bucket);
      expect(spool.retryNow(['r5'])).toHaveLength(1);
      const delivered = await waitFor('delivery after retryNow', () => changes.find((change) => change.kind === 'delivered'));
      expect(delivered.deliveries).toEqual([{ sink: 's3', locations: [`s3://${bucket}/nf-r5.pcap`] }]);
      expect(delivered.failures).toEqual([]);
      expect((await getObjectBytes(client, bucket, 'nf-r5.pcap')).equals(Buffer.concat(capture.files[0]?.chunks ?? []))).toBe(true);
    } finally {
      sink.close();
      await removeBucket(client, bucket);
    }
  });

  it('never retries a failure its sink called not retriable, though the sink would take the capture now', async () => {
    const root = join(dir, 'local-up');
    const harness = await openSpool(() => [new LocalSink({ rootDir: root, log })]);
    const { key, view } = await harness.spool.add(
      finishedCapture([smallPcap('final-r7.pcap')], makeJob({ id: 'r7' })),
      [{ sink: 'local', error: sinkError('local', false) }],
      makeSpooledOutcome('r7'),
    );
    expect(view.failures).toEqual([expect.objectContaining({ sink: 'local', code: 'PCAPD_ERR_SINK_LOCAL' })]);
    expect(view.pending).toEqual([]);

    await tracerTried(harness, 'local');
    // The tracer, retriable, was delivered; the capture before it was never tried.
    expect((await readdir(root)).sort()).toEqual([`.tracer-${tracers}.pcap.json`, `tracer-${tracers}.pcap`]);
    const entry = await harness.spool.store.readEntry(key);
    expect(entry?.kind === 'valid' ? entry.state.sinks['local'] : undefined).toMatchObject({ failed: true, failures: 1 });
    expect(await metricValue(harness.metrics, 'pcapd_delivery_retries_total', { sink: 'local', outcome: 'ok' })).toBe(1);
    expect(await metricValue(harness.metrics, 'pcapd_spool_pending', { sink: 'local', state: 'failed' })).toBe(1);

    // Only an explicit retry tries it again, and then it arrives.
    expect(harness.spool.retryNow(['r7'])).toEqual([key]);
    await waitFor('r7 delivered after retryNow', () => harness.changes.find((change) => change.kind === 'delivered' && change.record.id === 'r7'));
    expect((await readdir(root)).sort()).toEqual(['.final-r7.pcap.json', `.tracer-${tracers}.pcap.json`, 'final-r7.pcap', `tracer-${tracers}.pcap`]);
  });

  it('after a restart, resumes at once and never re-sends to a sink whose delivered marker is on disk', async () => {
    const s3 = versitygw();
    const client = testClient(s3);
    const bucket = uniqueBucket('resume');
    await createBucket(client, bucket);
    const local = await breakableLocal();
    const s3Down = new S3Sink({ settings: s3Settings({ ...s3, endpoint: 'http://127.0.0.1:9' }, { bucket }), log });
    const s3Up = new S3Sink({ settings: s3Settings(s3, { bucket }), log });
    try {
      const first = await openSpool(() => [local.sink, s3Down], { retrybase: 1, retrymax: 1 });
      const capture = finishedCapture([smallPcap('resume-r6.pcap')], makeJob({ id: 'r6' }));
      await first.spool.add(
        capture,
        [
          { sink: 'local', error: sinkError('local') },
          { sink: 's3', error: sinkError('s3') },
        ],
        makeSpooledOutcome('r6'),
      );
      await local.fix();
      await waitFor('the local delivery', () => first.changes.find((change) => change.kind === 'delivered'));
      await first.spool.close();

      // The local sink would fail now if tried again; it must not be.
      await local.breakAgain();
      const restarted = await openSpool(() => [local.sink, s3Up], { retrybase: 60, retrymax: 60 });
      const delivered = await waitFor('s3 after the restart', () => restarted.changes.find((change) => change.kind === 'delivered'), 10_000);

      expect(delivered.deliveries.map((delivery) => delivery.sink).sort()).toEqual(['local', 's3']);
      expect(await listKeys(client, bucket)).toEqual(['resume-r6.pcap']);
      expect(await metricValue(restarted.metrics, 'pcapd_delivery_retries_total', { sink: 'local', outcome: 'error' })).toBe(0);
      expect(await metricValue(restarted.metrics, 'pcapd_delivery_retries_total', { sink: 's3', outcome: 'ok' })).toBe(1);
    } finally {
      s3Down.close();
      s3Up.close();
      await removeBucket(client, bucket);
    }
  });

  it('retries each sink on its own: a sink that hangs holds up neither the other sinks nor other captures', async () => {
    const cloudshark = await startCloudsharkServer();
    cloudshark.holdUploads(true);
    const local = await breakableLocal();
    const hanging = new CloudsharkSink({
      settings: ConfigSchema.shape.cloudshark.parse({ scheme: 'http', host: '127.0.0.1', port: cloudshark.port, token: cloudshark.token, upload: true }),
      log,
    });
    try {
      const { spool, changes } = await openSpool(() => [local.sink, hanging]);
      for (const id of ['h1', 'h2']) {
        await spool.add(
          finishedCapture([smallPcap(`${id}.pcap`)], makeJob({ id })),
          [
            { sink: 'local', error: sinkError('local') },
            { sink: 'cloudshark', error: sinkError('cloudshark') },
          ],
          makeSpooledOutcome(id),
        );
      }
      await cloudshark.waitForAttempt(1);
      await local.fix();
      await waitFor('both local deliveries while Cloudshark hangs', () => changes.filter((change) => change.kind === 'delivered').length === 2);
      expect((await readdir(local.root)).sort()).toEqual(['.h1.pcap.json', '.h2.pcap.json', 'h1.pcap', 'h2.pcap']);
      cloudshark.holdUploads(false);
      await waitFor('both captures delivered to Cloudshark as well', () => spool.stats().captures === 0);
      expect(cloudshark.uploads.map((upload) => upload.filename).sort()).toEqual(['h1.pcap', 'h2.pcap']);
    } finally {
      await hanging.close();
      await cloudshark.stop();
    }
  });

  it('culls undelivered captures past spool.maxage and beyond spool.maxbytes, reporting each as never delivered', async () => {
    const local = await breakableLocal();
    const harness = await openSpool(() => [local.sink], { maxage: 60, maxbytes: 3 * MIB, retrybase: 3600, retrymax: 3600 });
    const mib = (name: string) => finishedCapture([deliverable(name, pcapChunks(MIB).chunks)], makeJob({ id: name }));
    await harness.spool.add(mib('old'), [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('old'));
    harness.clock.offsetMs = 30_000;
    await harness.spool.add(mib('mid'), [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('mid'));
    await harness.spool.add(mib('new'), [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('new'));
    expect((await harness.spool.cull({ dryRun: true })).map((item) => item.reason)).toEqual([]);

    // A fourth MiB does not fit in 3 MiB: the oldest undelivered one makes room.
    harness.clock.offsetMs = 45_000;
    await harness.spool.add(mib('newest'), [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('newest'));
    harness.clock.offsetMs = 61_000 + 30_000;
    const removed = await harness.spool.cull();

    expect(removed.map((item) => item.reason)).toEqual(['age', 'age']);
    expect(await metricValue(harness.metrics, 'pcapd_spool_culled_total', { reason: 'size' })).toBe(1);
    expect(await metricValue(harness.metrics, 'pcapd_spool_culled_total', { reason: 'age' })).toBe(2);
    const culled = harness.changes.filter((change) => change.kind === 'culled');
    expect(culled.map((change) => change.record.id)).toEqual(['old', 'mid', 'new']);
    expect(culled[0]?.failures).toEqual([
      { sink: 'local', code: 'PCAPD_ERR_SPOOL_CULLED', segment: 0, message: 'removed from the spool to stay within spool.maxbytes' },
    ]);
    expect(harness.spool.stats().captures).toBe(1);
  });

  it('refuses a capture larger than spool.maxbytes with PCAPD_ERR_SPOOL_FULL, counted', async () => {
    const { spool, metrics } = await openSpool(() => [], { maxbytes: MIB });
    const capture = finishedCapture([deliverable('huge.pcap', pcapChunks(2 * MIB).chunks)]);
    await expect(spool.add(capture, [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('huge'))).rejects.toMatchObject({
      code: 'PCAPD_ERR_SPOOL_FULL',
      message: expect.stringContaining('larger than spool.maxbytes'),
    });
    expect(await metricValue(metrics, 'pcapd_spool_write_failures_total', { reason: 'maxbytes' })).toBe(1);
  });

  it('refuses a second pcapd on the same spool, and takes over a lock whose process is gone', async () => {
    await openSpool(() => []);
    const second = await openSpool(() => [], {}, { open: false });
    await expect(second.spool.open(0)).rejects.toMatchObject({ code: 'PCAPD_ERR_SPOOL_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
    await spools[0]?.close();

    // A lock left by a process that has exited (a pid nothing runs under now).
    const store = new SpoolStore(join(dir, 'spool'));
    await writeFile(store.lock.path, JSON.stringify({ pid: 2 ** 22 - 7, role: 'daemon', startTicks: '1', acquiredAt: new Date().toISOString() }));
    const third = await openSpool(() => [], {}, { open: false });
    await expect(third.spool.open(0)).resolves.toBeUndefined();
    expect(JSON.parse(await readFile(store.lock.path, 'utf8'))).toMatchObject({ pid: process.pid, role: 'daemon' });
  });

  it('at startup removes what a crash left half-written and keeps a damaged entry for inspection', async () => {
    const spoolDir = join(dir, 'spool');
    await mkdir(join(spoolDir, 'tmp', 'half-written'), { recursive: true });
    await writeFile(join(spoolDir, 'tmp', 'half-written', 'file-0.pcap'), 'partial');
    await mkdir(join(spoolDir, 'entries', 'damaged'), { recursive: true });
    await writeFile(join(spoolDir, 'entries', 'damaged', 'file-0.pcap'), 'capture bytes');
    const { spool } = await openSpool(() => []);
    expect(await readdir(join(spoolDir, 'tmp'))).toEqual([]);
    const entries = await spool.store.list();
    expect(entries).toEqual([expect.objectContaining({ key: 'damaged', kind: 'invalid', problem: 'capture.json: missing' })]);
  });

  it('serves retry and cull requests a `pcapd spool` command leaves in control/', async () => {
    const local = await breakableLocal();
    const { spool } = await openSpool(() => [local.sink], { retrybase: 3600, retrymax: 3600 });
    const { key } = await spool.add(finishedCapture([smallPcap('ctl.pcap')]), [{ sink: 'local', error: sinkError('local') }], makeSpooledOutcome('ctl'));
    await local.fix();
    const store = new SpoolStore(join(dir, 'spool'));
    const id = await store.control.writeRequest({ action: 'retry', targets: [key], requestedAt: new Date().toISOString() });
    const result = await waitFor('the answer', () => store.control.takeResult(id));
    expect(result).toEqual({ ok: true, message: 'the running pcapd retries 1 capture(s) now', rearmed: [key] });
    await waitFor('the retried entry delivered and removed', async () => (await readdir(join(dir, 'spool', 'entries'))).length === 0);
  });
});

describe('SpoolStore: outcomes written by earlier versions', () => {
  it('reads back an entry whose outcome an earlier pcapd wrote (a segment of a running capture, no pending list) as a valid outcome', async () => {
    const store = new SpoolStore(join(dir, 'spool'));
    await store.init();
    const id = 'old-outcome';
    const entry = await store.add(finishedCapture([smallPcap(`${id}.pcap`)], makeJob({ id })), ['s3'], makeSpooledOutcome(id), { sinks: {} }, new Date());
    // As the previous code stored it: state forced to done, the capture's end unknown, no `pending` yet.
    const old = {
      id,
      node: 'sensor1',
      source: 'redis',
      tags: [],
      state: 'done',
      requestedAt: '2024-05-06T07:08:09.000Z',
      startedAt: '2024-05-06T07:08:09.012345678Z',
      packets: 0,
      bytes: 0,
      limits: makeJob().limits,
      clamps: [],
      interfaces: [],
      segments: 1,
      deliveries: [],
      deliveryFailures: [],
    };
    const recordPath = join(entry.dir, 'capture.json');
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as Record<string, unknown>;
    await writeFile(recordPath, JSON.stringify({ ...record, outcome: old }));
    const read = await store.readEntry(entry.key);
    expect(read?.kind).toBe('valid');
    const outcome = read?.kind === 'valid' ? read.record.outcome : undefined;
    expect(outcome).toEqual(old);
    expect(CaptureOutcomeSchema.parse(outcome)).toMatchObject({ state: 'done', startedAt: old.startedAt });
  });
});

describe('Spool on a full disk', () => {
  let mount: string;

  beforeAll(async () => {
    mount = await mkdtemp(join(tmpdir(), 'pcapd-spool-tmpfs-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', mount]);
  });

  afterAll(async () => {
    await run('umount', [mount]);
    await rm(mount, { recursive: true, force: true });
  });

  it('fails with PCAPD_ERR_SPOOL_FULL naming ENOSPC, counts it, leaves nothing behind, and spools again once there is room', async () => {
    const { spool, metrics } = await openSpool(() => [], { dir: join(mount, 'spool') });
    const big = finishedCapture([deliverable('big.pcap', pcapChunks(MIB).chunks)]);
    await expect(spool.add(big, [{ sink: 's3', error: sinkError('s3') }], makeSpooledOutcome('big'))).rejects.toMatchObject({
      code: 'PCAPD_ERR_SPOOL_FULL',
      message: expect.stringMatching(/spool disk full \(ENOSPC\)/),
    });
    expect(await metricValue(metrics, 'pcapd_spool_write_failures_total', { reason: 'ENOSPC' })).toBe(1);
    expect(await readdir(join(mount, 'spool', 'tmp'))).toEqual([]);
    expect(await readdir(join(mount, 'spool', 'entries'))).toEqual([]);

    const { view } = await spool.add(finishedCapture([smallPcap('small.pcap')]), [{ sink: 's3', error: sinkError('s3') }], makeSpooledOutcome('small'));
    expect(view.pending).toHaveLength(1);
  });
});
