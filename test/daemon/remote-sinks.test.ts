/**
 * The real daemon delivering a real capture (veth + tcpreplay) to all three
 * sinks: the local disk, S3 on versitygw, and Cloudshark's upload API served
 * by the test; then with a spool on a tmpfs too small for the capture.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { readPackets } from '../helpers/capture-files.js';
import { startCloudsharkServer, type CloudsharkServer } from '../helpers/cloudshark-server.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { createBucket, getObjectBytes, listKeys, removeBucket, splitS3Location, testClient, uniqueBucket, versitygw } from '../helpers/s3.js';

let client: S3Client;
let bucket: string;
let otherBucket: string;
let cloudshark: CloudsharkServer;
let link: TestLink;

function sinkEdits(s3Endpoint: string, extraS3: Record<string, string> = {}): Record<string, Record<string, string>> {
  const s3 = versitygw();
  return {
    general: { node: '"sensor-remote"' },
    s3: {
      upload: 'true',
      endpoint: JSON.stringify(s3Endpoint),
      bucket: JSON.stringify(bucket),
      folder: '"pcaps"',
      accessid: JSON.stringify(s3.accessKey),
      accesskey: JSON.stringify(s3.secretKey),
      region: '"us-east-1"',
      pathstyle: 'true',
      ...extraS3,
    },
    cloudshark: { upload: 'true', scheme: '"http"', host: '"127.0.0.1"', port: String(cloudshark.port), token: JSON.stringify(cloudshark.token) },
    spool: { retrybase: '1', retrymax: '2' },
  };
}

async function capture(daemon: RunningDaemon, request: Record<string, unknown>, frames: number): Promise<any> {
  const id = String(request['id']);
  const submitted = await daemon.api('/captures', postJson({ node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, timeout: 1, ...request }));
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  await daemon.waitForState(id, ['capturing']);
  const traffic = join(daemon.dir, `traffic-${id}.pcap`);
  await writeTrafficPcap(traffic, frames, 1000);
  await link.replay(traffic, { pps: 5000 });
  return daemon.waitForState(id, ['done', 'failed'], 30_000);
}

beforeAll(async () => {
  client = testClient(versitygw());
  bucket = uniqueBucket('e2e');
  otherBucket = uniqueBucket('e2e-other');
  await createBucket(client, bucket);
  await createBucket(client, otherBucket);
  cloudshark = await startCloudsharkServer();
});

afterAll(async () => {
  await removeBucket(client, bucket);
  await removeBucket(client, otherBucket);
  await cloudshark.stop();
});

afterEach(async () => {
  await destroyAllTestLinks();
});

describe('a capture delivered to local disk, S3 and Cloudshark', () => {
  let daemon: RunningDaemon;

  beforeAll(async () => {
    daemon = await startDaemon({ edits: sinkEdits(versitygw().endpoint, { allowbuckets: JSON.stringify([`${otherBucket.slice(0, -8)}*`]) }) });
  });

  afterAll(async () => {
    await daemon.stop();
  });

  it('arrives everywhere with the same bytes, and the outcome names each location', async () => {
    link = await createTestLink();
    const outcome = await capture(daemon, { id: 'remote-1', packets: 50, alertid: 99, customer: 'acme', tags: 'e2e,remote', folder: 'case-1' }, 60);

    expect(outcome).toMatchObject({ state: 'done', reason: 'packets', packets: 50, pending: [], deliveryFailures: [] });
    const of = (sink: string): { locations: string[]; ids?: string[] } => outcome.deliveries.find((delivery: { sink: string }) => delivery.sink === sink);
    const [localPath] = of('local').locations;
    const [s3Location] = of('s3').locations;
    const [csLocation] = of('cloudshark').locations;
    const name = /[^/]+$/.exec(localPath ?? '')?.[0] ?? '';
    expect(localPath).toBe(join(daemon.captureDir, 'case-1', name));
    expect(s3Location).toBe(`s3://${bucket}/pcaps/case-1/${name}`);
    const [upload] = await cloudshark.waitForUploads(1);
    expect(csLocation).toBe(`http://127.0.0.1:${cloudshark.port}/captures/${upload?.id}`);
    expect(of('cloudshark').ids).toEqual([upload?.id]);

    const local = await readFile(localPath ?? '');
    expect((await readPackets(localPath ?? '')).length).toBe(50);
    expect((await getObjectBytes(client, bucket, `pcaps/case-1/${name}`)).equals(local)).toBe(true);
    expect(upload?.bytes.equals(local)).toBe(true);
    expect(upload?.filename).toBe(name);
    expect(upload?.tags).toEqual(['customer:acme', 'alertid:99', 'e2e', 'remote', 'node:sensor-remote', `interface:${link.hostIf}`, 'snaplength:500']);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `pcaps/case-1/${name}` }));
    expect(head.Metadata).toMatchObject({ node: 'sensor-remote', alertid: '99', customer: 'acme', tags: 'e2e,remote', reason: 'packets', packets: '50' });
  });

  it('honours an allowlisted bucket override and refuses one off the allowlist before capturing', async () => {
    link = await createTestLink();
    const outcome = await capture(daemon, { id: 'remote-2', packets: 5, bucket: otherBucket }, 10);
    const s3 = outcome.deliveries.find((delivery: { sink: string }) => delivery.sink === 's3');
    expect(splitS3Location(s3.locations[0])[0]).toBe(otherBucket);
    expect(await listKeys(client, otherBucket)).toHaveLength(1);

    const refused = await daemon.api(
      '/captures',
      postJson({ node: 'any', interface: [link.hostIf], id: 'remote-3', bucket: 'attacker-loot', endpoint: 'https://evil.example' }),
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({
      code: 'PCAPD_ERR_OVERRIDE_NOT_ALLOWED',
      message: expect.stringMatching(
        /bucket "attacker-loot" is not allowed .*; endpoint "https:\/\/evil.example" is not allowed \(s3.allowendpoints is empty\)/,
      ),
    });
  });
});

describe('a spool on a full disk', () => {
  let mount: string;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    mount = await mkdtemp(join(tmpdir(), 'pcapd-spool-full-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mount]);
    // S3 on a closed port: every upload fails and wants the spool, which has 64 KiB.
    daemon = await startDaemon({ edits: { ...sinkEdits('http://127.0.0.1:9'), spool: { dir: JSON.stringify(join(mount, 'spool')) } } });
  });

  afterAll(async () => {
    await daemon.stop();
    await run('umount', [mount]);
    await rm(mount, { recursive: true, force: true });
  });

  it('reports the capture as not kept for the failed sink, counts it, and keeps capturing and delivering what it can', async () => {
    link = await createTestLink();
    const outcome = await capture(daemon, { id: 'full-1', packets: 150, snap: 1500 }, 160);

    expect(outcome.state).toBe('done');
    expect(outcome.bytes).toBeGreaterThan(64 * 1024);
    expect(outcome.deliveries.map((delivery: { sink: string }) => delivery.sink).sort()).toEqual(['cloudshark', 'local']);
    expect(outcome.pending).toEqual([]);
    expect(outcome.deliveryFailures).toEqual([
      {
        sink: 's3',
        segment: 0,
        code: 'PCAPD_ERR_SPOOL_FULL',
        message: expect.stringMatching(/ECONNREFUSED.*the spool could not keep the capture: spool disk full \(ENOSPC\)/),
      },
    ]);
    const logged = await daemon.waitForLog((line) => line.msg.startsWith('capture could not be spooled'));
    expect(logged).toMatchObject({ level: 50, code: 'PCAPD_ERR_SPOOL_FULL', sinks: ['s3'], reqId: 'full-1' });
    const metrics = (await daemon.api('/metrics')).body as string;
    expect(metrics).toMatch(/pcapd_spool_write_failures_total\{reason="ENOSPC"\} 1/);
    expect(await readdir(join(mount, 'spool', 'tmp'))).toEqual([]);

    // Still capturing; a small capture fits in the spool and waits there for S3.
    const small = await capture(daemon, { id: 'full-2', packets: 3 }, 5);
    expect(small.deliveries.map((delivery: { sink: string }) => delivery.sink).sort()).toEqual(['cloudshark', 'local']);
    expect(small.pending).toEqual([expect.objectContaining({ sink: 's3', code: 'PCAPD_ERR_SINK_S3' })]);
    expect((await daemon.api('/metrics')).body as string).toMatch(/pcapd_spool_files 1/);
  });
});
