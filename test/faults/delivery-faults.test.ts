/**
 * Guaranteed delivery under faults, with the real daemon and real servers:
 * versitygw is stopped and restarted with scripts/test-services.sh (this
 * file runs alone, after every other test: see vitest.config.ts), the
 * Cloudshark endpoint goes down and comes back, and pcapd is killed with
 * SIGKILL in the middle of uploads and started again on the same spool.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createFixture, mergeEdits, metricValue, watchReplies, type Edits } from '../helpers/brokers.js';
import { startCloudsharkServer, type CloudsharkServer } from '../helpers/cloudshark-server.js';
import { postJson, REPO, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { createBucket, getObjectBytes, listKeys, removeBucket, splitS3Location, testClient, uniqueBucket, versitygw } from '../helpers/s3.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const SERVICES = join(REPO, 'scripts/test-services.sh');
const MB = 1_000_000;

let client: S3Client;
let bucket: string;
let cloudshark: CloudsharkServer;
let link: TestLink;
let dir: string;
let daemons: RunningDaemon[];

async function versitygwIs(state: 'down' | 'up'): Promise<void> {
  // restart keeps versitygw's data (the test bucket); start would wipe it.
  await run(SERVICES, [state === 'down' ? 'stop' : 'restart', 'versitygw'], 120_000);
}

function edits(s3Endpoint: string): Record<string, Record<string, string>> {
  const s3 = versitygw();
  return {
    general: { node: '"sensor-faults"', snaplength: '2000' },
    s3: {
      upload: 'true',
      endpoint: JSON.stringify(s3Endpoint),
      bucket: JSON.stringify(bucket),
      accessid: JSON.stringify(s3.accessKey),
      accesskey: JSON.stringify(s3.secretKey),
      region: '"us-east-1"',
      pathstyle: 'true',
      partsize: String(5 * 1024 * 1024),
    },
    cloudshark: { upload: 'true', scheme: '"http"', host: '"127.0.0.1"', port: String(cloudshark.port), token: JSON.stringify(cloudshark.token) },
    spool: { retrybase: '1', retrymax: '2' },
  };
}

async function start(s3Endpoint: string, extra: Edits = {}): Promise<RunningDaemon> {
  const daemon = await startDaemon({ dir, edits: mergeEdits(edits(s3Endpoint), extra) });
  daemons.push(daemon);
  return daemon;
}

async function capture(daemon: RunningDaemon, id: string, frames: number, frameBytes: number, extra: Record<string, unknown> = {}): Promise<any> {
  const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: frames, timeout: 1, id, alertid: 7, ...extra };
  expect((await daemon.api('/captures', postJson(request))).status).toBe(202);
  await daemon.waitForState(id, ['capturing']);
  const traffic = join(dir, `traffic-${id}.pcap`);
  await writeTrafficPcap(traffic, frames, frameBytes);
  await link.replay(traffic, { pps: 20_000 });
  return daemon.waitForState(id, ['done', 'failed'], 30_000);
}

/** Polls GET /captures/:id until every sink has the capture. */
async function waitDelivered(daemon: RunningDaemon, id: string, sinks: string[], timeoutMs = 45_000): Promise<any> {
  const wanted = JSON.stringify([...sinks].sort());
  let last: unknown;
  return waitFor(
    `${id} delivered to ${sinks.join(', ')}`,
    async () => {
      const { status, body } = await daemon.api(`/captures/${id}`);
      last = body;
      if (status !== 200) return undefined;
      const delivered = JSON.stringify(body.deliveries.map((delivery: { sink: string }) => delivery.sink).sort());
      return delivered === wanted && body.pending.length === 0 ? body : undefined;
    },
    { timeoutMs, intervalMs: 200, detail: () => `last seen: ${JSON.stringify(last)}` },
  );
}

/**
 * Waits until nothing can send a capture again, so that counting copies
 * afterwards proves there is no duplicate rather than that none came yet.
 * Every upload is a first try (over once the capture reports every sink
 * delivered) or a spool try, and a spool try ends before its entry is
 * removed, which happens only once every sink has it. So: the spool has
 * removed `removed` entries as delivered (counted by this daemon), its
 * folder and gauge are empty, and Cloudshark has no upload open.
 */
async function waitSettled(daemon: RunningDaemon, removed: number): Promise<void> {
  const seen = async (): Promise<{ culled: number; files: number; entries: string[]; uploadsOpen: number }> => ({
    culled: await metricValue(daemon, 'pcapd_spool_culled_total', { reason: 'delivered' }),
    files: await metricValue(daemon, 'pcapd_spool_files'),
    entries: await readdir(join(dir, 'spool', 'entries')),
    uploadsOpen: cloudshark.inFlight,
  });
  let last: unknown;
  await waitFor(
    `${removed} spool entries delivered and removed, no upload open`,
    async () => {
      const now = await seen();
      last = now;
      return now.culled >= removed && now.files === 0 && now.entries.length === 0 && now.uploadsOpen === 0;
    },
    { timeoutMs: 30_000, detail: () => `last seen: ${JSON.stringify(last)}` },
  );
  expect(await metricValue(daemon, 'pcapd_spool_culled_total', { reason: 'delivered' })).toBe(removed);
}

function location(outcome: any, sink: string): string {
  return outcome.deliveries.find((delivery: { sink: string }) => delivery.sink === sink).locations[0];
}

/** Every sink has exactly one copy of the capture, byte for byte the local file. */
async function expectOneCopyEach(outcome: any): Promise<void> {
  const local = await readFile(location(outcome, 'local'));
  const [objectBucket, key] = splitS3Location(location(outcome, 's3'));
  expect((await getObjectBytes(client, objectBucket, key)).equals(local)).toBe(true);
  const name = /[^/]+$/.exec(location(outcome, 'local'))?.[0];
  const uploads = cloudshark.uploads.filter((upload) => upload.filename === name);
  expect(uploads).toHaveLength(1);
  expect(uploads[0]?.bytes.equals(local)).toBe(true);
  expect(location(outcome, 'cloudshark')).toBe(`http://127.0.0.1:${cloudshark.port}/captures/${uploads[0]?.id}`);
}

beforeAll(async () => {
  client = testClient(versitygw());
  cloudshark = await startCloudsharkServer();
});

afterAll(async () => {
  await cloudshark.stop();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-faults-'));
  daemons = [];
  bucket = uniqueBucket('faults');
  await createBucket(client, bucket);
  cloudshark.uploads.length = 0;
  cloudshark.holdUploads(false);
  await cloudshark.start();
});

afterEach(async () => {
  for (const daemon of daemons) await daemon.stop();
  await destroyAllTestLinks();
  const status = await run(SERVICES, ['status', 'versitygw']).catch(() => 'stopped');
  if (!status.includes('running')) await versitygwIs('up');
  await removeBucket(client, bucket);
  await rm(dir, { recursive: true, force: true });
});

describe('S3 and Cloudshark down when captures finish', () => {
  it('spools them, keeps running, and delivers each exactly once per sink when both come back', async () => {
    // The requester hears twice on its reply channel: delivered locally with
    // two sinks pending, then delivered everywhere.
    const redis = await createFixture('redis');
    const replies = await watchReplies('redis');
    await versitygwIs('down');
    await cloudshark.stop();
    const daemon = await start(versitygw().endpoint, redis.edits());
    link = await createTestLink();

    const first = await capture(daemon, 'fault-1', 40, 600, { reply: replies.reply });
    expect(first.state).toBe('done');
    expect(first.deliveries.map((delivery: { sink: string }) => delivery.sink)).toEqual(['local']);
    expect(first.pending.map((pending: { sink: string; code: string }) => `${pending.sink}:${pending.code}`).sort()).toEqual([
      'cloudshark:PCAPD_ERR_SINK_CLOUDSHARK',
      's3:PCAPD_ERR_SINK_S3',
    ]);
    // It keeps running: another capture while both are still down.
    const second = await capture(daemon, 'fault-2', 20, 600);
    expect(second.pending).toHaveLength(2);
    expect((await daemon.api('/healthz')).status).toBe(200);
    expect((await daemon.api('/metrics')).body).toMatch(/pcapd_spool_files 2/);
    await daemon.waitForLog((line) => line.msg === 'spooled capture not delivered; retrying later' && line['sink'] === 's3');

    await versitygwIs('up');
    await cloudshark.start();
    const delivered = [
      await waitDelivered(daemon, 'fault-1', ['local', 's3', 'cloudshark']),
      await waitDelivered(daemon, 'fault-2', ['local', 's3', 'cloudshark']),
    ];

    for (const outcome of delivered) await expectOneCopyEach(outcome);
    const sinksOf = (event: Record<string, unknown>, field: 'deliveries' | 'pending'): string[] =>
      ((event[field] ?? []) as Array<{ sink: string }>).map((entry) => entry.sink).sort();
    const firstEvent = await replies.next();
    expect(firstEvent).toMatchObject({ id: 'fault-1', state: 'done' });
    expect([sinksOf(firstEvent, 'deliveries'), sinksOf(firstEvent, 'pending')]).toEqual([['local'], ['cloudshark', 's3']]);
    // Each late arrival is reported, until one event has every sink and nothing pending.
    let late = await replies.next();
    while (sinksOf(late, 'pending').length > 0) {
      expect(late['id']).toBe('fault-1');
      late = await replies.next();
    }
    expect(late['id']).toBe('fault-1');
    expect(sinksOf(late, 'deliveries')).toEqual(['cloudshark', 'local', 's3']);
    await replies.close();
    await redis.close();
    // Nothing left that could send again: then exactly one copy each, and one successful retry per sink and capture.
    await waitSettled(daemon, 2);
    expect(cloudshark.uploads).toHaveLength(2);
    expect(cloudshark.attempts).toBe(2);
    expect(await listKeys(client, bucket)).toHaveLength(2);
    const metrics = (await daemon.api('/metrics')).body as string;
    expect(metrics).toMatch(/pcapd_delivery_retries_total\{sink="s3",outcome="ok"\} 2\n/);
    expect(metrics).toMatch(/pcapd_delivery_retries_total\{sink="cloudshark",outcome="ok"\} 2\n/);
  }, 120_000);
});

/** S3 reached through a pass-through that can hold an upload mid-way, new for each test. */
function s3ThroughProxy(): () => TcpProxy {
  let proxy: TcpProxy | undefined;
  beforeEach(async () => {
    const target = new URL(versitygw().endpoint);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  });
  afterEach(async () => {
    await proxy?.stop();
  });
  return () => {
    if (proxy === undefined) throw new Error('the S3 proxy is started in beforeEach');
    return proxy;
  };
}

describe('pcapd killed with SIGKILL in the middle of the uploads from its spool', () => {
  const proxy = s3ThroughProxy();

  it('delivers after the restart, exactly once per sink, and aborts the multipart upload the killed try left', async () => {
    // S3 is reached through a pass-through that can hold an upload mid-way.
    const endpoint = `http://127.0.0.1:${proxy().port}`;
    await versitygwIs('down');
    await cloudshark.stop();
    const daemon = await start(endpoint);
    link = await createTestLink();
    const outcome = await capture(daemon, 'killed-1', 8000, 1400);
    expect(outcome.bytes).toBeGreaterThan(10 * MB);
    expect(outcome.pending).toHaveLength(2);

    // Both come back, but each upload stalls part-way: S3 after 7 MB (a multipart upload of 5 MiB
    // parts is under way), Cloudshark while it receives the body.
    proxy().stallAfterBytes(7 * MB);
    cloudshark.holdUploads(true);
    await versitygwIs('up');
    await cloudshark.start();
    await proxy().waitStalled();
    await cloudshark.waitForAttempt(1);
    const key = `${/[^/]+$/.exec(location(outcome, 'local'))?.[0]}`;
    const unfinished = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    expect(unfinished.Uploads).toHaveLength(1);

    daemon.process.kill('SIGKILL');
    await daemon.exited;
    await cloudshark.waitForAttempt(1);
    expect(cloudshark.uploads).toEqual([]);

    proxy().stallAfterBytes(undefined);
    cloudshark.holdUploads(false);
    const restarted = await start(endpoint);
    await restarted.waitForLog((line) => line.msg === 'spool resumed: retrying captures left from before');
    const delivered = await waitDelivered(restarted, 'killed-1', ['local', 's3', 'cloudshark']);

    expect(delivered).toMatchObject({ id: 'killed-1', state: 'done', packets: 8000, alertid: 7 });
    await expectOneCopyEach(delivered);
    expect((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).toEqual([]);
    await waitSettled(restarted, 1);
    expect(cloudshark.uploads).toHaveLength(1);
    expect(await listKeys(client, bucket)).toEqual([key]);
    expect((await readdir(daemon.captureDir)).sort()).toEqual([`.${key}.json`, key]);
    await restarted.waitForLog((line) => line.msg === 'aborted a multipart upload an earlier try left unfinished');
  }, 180_000);
});

describe("pcapd killed with SIGKILL in the middle of a capture's first upload", () => {
  const proxy = s3ThroughProxy();

  it('finds the write-ahead copy at the restart and delivers it, exactly once per sink', async () => {
    // Every sink is up; S3 and Cloudshark stall part-way through the capture's first upload.
    const endpoint = `http://127.0.0.1:${proxy().port}`;
    proxy().stallAfterBytes(7 * MB);
    cloudshark.holdUploads(true);
    const daemon = await start(endpoint);
    link = await createTestLink();
    const request = { node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: 8000, timeout: 1, id: 'first-try-1', alertid: 7 };
    expect((await daemon.api('/captures', postJson(request))).status).toBe(202);
    await daemon.waitForState('first-try-1', ['capturing']);
    const traffic = join(dir, 'traffic-first-try-1.pcap');
    await writeTrafficPcap(traffic, 8000, 1400);
    await link.replay(traffic, { pps: 20_000 });
    await daemon.waitForState('first-try-1', ['delivering'], 30_000);
    await proxy().waitStalled();
    await cloudshark.waitForAttempt(1);
    // The copy is in the spool (written while the uploads run), the local sink marked in it.
    await waitFor('the write-ahead copy, the local sink marked in it', async () => {
      const [entry] = await readdir(join(dir, 'spool', 'entries'));
      return entry === undefined ? undefined : readFile(join(dir, 'spool', 'entries', entry, 'delivered-local.json'));
    });

    daemon.process.kill('SIGKILL');
    await daemon.exited;
    expect(cloudshark.uploads).toEqual([]);
    expect(await listKeys(client, bucket)).toEqual([]);

    proxy().stallAfterBytes(undefined);
    cloudshark.holdUploads(false);
    const restarted = await start(endpoint);
    await restarted.waitForLog((line) => line.msg === 'spool resumed: retrying captures left from before');
    const delivered = await waitDelivered(restarted, 'first-try-1', ['local', 's3', 'cloudshark']);
    expect(delivered).toMatchObject({ id: 'first-try-1', state: 'done', packets: 8000 });
    await expectOneCopyEach(delivered);
    await waitSettled(restarted, 1);
    expect(cloudshark.uploads).toHaveLength(1);
    const key = /[^/]+$/.exec(location(delivered, 'local'))?.[0];
    expect(await listKeys(client, bucket)).toEqual([key]);
    // Not written a second time by the local sink either.
    expect((await readdir(daemon.captureDir)).sort()).toEqual([`.${key}.json`, key]);
  }, 180_000);
});
