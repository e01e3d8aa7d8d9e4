/**
 * S3 upload benchmark: the same 100 MB buffer uploaded by pcapd's S3 sink
 * (lib-storage multipart, s3.queuesize parts in parallel) and by one plain
 * PutObject, in the same invocation, against the same versitygw.
 *
 *   scripts/test-services.sh start versitygw && set -a && . /var/tmp/pcapd-test-services/env && set +a
 *   npx tsx bench/s3-upload.ts
 *   BENCH_SAMPLES=9 BENCH_MB=100 BENCH_QUEUE_SIZES=1,4,8 BENCH_RTT_MS=40 npx tsx bench/s3-upload.ts
 *
 * Two paths to the same server:
 *  - loopback: the client beside the server. One TCP stream is not limited
 *    by the path here, only by CPU and disk (2 cores shared with the server),
 *    so this shows what multipart costs: more requests, and versitygw writes
 *    each part to a file and joins the files on CompleteMultipartUpload.
 *  - a modelled WAN path (BENCH_RTT_MS, default 40; 0 skips it), as from a
 *    sensor to a regional S3 endpoint: a relay (bench/lib/delay-line.ts)
 *    delays each direction by half the RTT and allows each connection one
 *    send window (net.ipv4.tcp_wmem max) per round trip, the bound a real
 *    path puts on one TCP stream; parallel parts multiply it, which is what
 *    multipart is for. A model, in userspace, because the kernels of these
 *    machines have no netem (tc reports every qdisc kind unknown).
 *
 * Each sample uploads with every method, the order rotating per sample so
 * neither side always gets the warmer server; every upload is a new key,
 * deleted before the next. Reported: median (min–max) seconds and MB/s per
 * method, and the ratio PutObject time / sink time per sample. The goal
 * (≥ 1.5×) is reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { ConfigSchema } from '../src/config/schema.js';
import { createLogger } from '../src/log/logger.js';
import { S3Sink } from '../src/sinks/s3.js';
import { makeJob } from '../test/helpers/job.js';
import { deliverable, finishedCapture, pcapChunks } from '../test/helpers/pcap-buffer.js';
import { createBucket, removeBucket, testClient, uniqueBucket, versitygw, type S3TestServer } from '../test/helpers/s3.js';
import { formatSpread, pairedRatios, spread } from './lib/stats.js';

const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 5);
const MEGABYTES = Number(process.env['BENCH_MB'] ?? 100);
const QUEUE_SIZES = (process.env['BENCH_QUEUE_SIZES'] ?? '4').split(',').map(Number);
const PART_BYTES = Number(process.env['BENCH_PART_BYTES'] ?? 8 * 1024 * 1024);
const RTT_MS = Number(process.env['BENCH_RTT_MS'] ?? 40);
const GOAL_RATIO = 1.5;
/** The capture core hands files over in chunks of about this size; the sink gets slices of the one buffer. */
const CHUNK_BYTES = 1024 * 1024;
const PUT = 'plain PutObject';

interface Method {
  name: string;
  upload(key: string): Promise<void>;
  close(): void;
}

function chunksOf(buffer: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += CHUNK_BYTES) chunks.push(buffer.subarray(at, at + CHUNK_BYTES));
  return chunks;
}

function methodsFor(server: S3TestServer, client: S3Client, bucket: string, buffer: Buffer): Method[] {
  const { log } = createLogger({ level: 'silent' });
  const sinks = QUEUE_SIZES.map((queueSize): Method => {
    const sink = new S3Sink({
      settings: ConfigSchema.shape.s3.parse({
        endpoint: server.endpoint,
        accessid: server.accessKey,
        accesskey: server.secretKey,
        region: 'us-east-1',
        pathstyle: true,
        bucket,
        partsize: PART_BYTES,
        queuesize: queueSize,
      }),
      log,
    });
    return {
      name: `pcapd S3 sink (queuesize ${queueSize})`,
      upload: async (key) => {
        await sink.deliver(finishedCapture([deliverable(key, chunksOf(buffer))], makeJob({ id: key })));
      },
      close: () => sink.close(),
    };
  });
  const put: Method = {
    name: PUT,
    upload: async (key) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: buffer, ContentType: 'application/vnd.tcpdump.pcap' }));
    },
    close: () => undefined,
  };
  return [...sinks, put];
}

async function timed(method: Method, client: S3Client, bucket: string, tag: string): Promise<number> {
  const key = `bench-${tag}-${randomBytes(4).toString('hex')}.pcap`;
  const started = process.hrtime.bigint();
  await method.upload(key);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  return elapsed;
}

/** All samples of every method against one endpoint; prints the table. */
async function measure(server: S3TestServer, label: string): Promise<void> {
  const client = testClient(server);
  const bucket = uniqueBucket('bench');
  await createBucket(client, bucket);
  // One contiguous buffer: PutObject and the sink send exactly the same bytes.
  const buffer = Buffer.concat(pcapChunks(MEGABYTES * 1_000_000).chunks);
  const methods = methodsFor(server, client, bucket, buffer);
  const seconds = new Map(methods.map((method) => [method.name, [] as number[]]));
  try {
    for (const method of methods) await timed(method, client, bucket, 'warmup');
    for (let sample = 0; sample < SAMPLES; sample++) {
      for (let i = 0; i < methods.length; i++) {
        const method = methods[(i + sample) % methods.length];
        if (method) seconds.get(method.name)?.push(await timed(method, client, bucket, `s${sample}`));
      }
    }
  } finally {
    for (const method of methods) method.close();
    await removeBucket(client, bucket);
  }
  printResults(label, server.endpoint, seconds, buffer.length);
}

function printResults(label: string, endpoint: string, seconds: Map<string, number[]>, bytes: number): void {
  console.log(
    `\n${label} (${endpoint}), ${bytes} bytes in parts of ${PART_BYTES} (${Math.ceil(bytes / PART_BYTES)} parts), ${SAMPLES} samples after one warm-up`,
  );
  console.log('  time: median (min–max)');
  for (const [name, values] of seconds) {
    const mbPerSecond = values.map((value) => bytes / 1e6 / value);
    console.log(`    ${name.padEnd(30)} ${formatSpread(spread(values), 2)} s   ${formatSpread(spread(mbPerSecond), 0)} MB/s`);
  }
  console.log('  speed-up, PutObject time / sink time per sample: median (min–max)');
  const reference = seconds.get(PUT) ?? [];
  for (const [name, values] of seconds) {
    if (name === PUT) continue;
    const ratio = spread(pairedRatios(reference, values));
    const verdict = ratio === null ? 'n/a' : ratio.median >= GOAL_RATIO ? 'met' : 'MISSED';
    console.log(`    ${name.padEnd(30)} ${formatSpread(ratio, 2)}×   goal ≥ ${GOAL_RATIO}×: ${verdict}`);
  }
}

async function printMachine(): Promise<void> {
  const wmem = (await readFile('/proc/sys/net/ipv4/tcp_wmem', 'utf8')).trim().split(/\s+/).at(-1) ?? '?';
  const rows: Array<[string, string]> = [
    ['CPU', `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['Node', process.version],
    ['tcp_wmem max', `${wmem} bytes (one stream's send window)`],
    // The machine is shared; a busy neighbour shows up as spread, so say how busy it was.
    [
      'load average',
      loadavg()
        .map((load) => load.toFixed(2))
        .join(' '),
    ],
    ['server', 'versitygw (posix backend) on this host'],
  ];
  console.log('S3 upload: pcapd S3 sink vs one plain PutObject');
  for (const [name, value] of rows) console.log(`  ${name.padEnd(14)} ${value}`);
}

/**
 * The same run through a modelled long path (see bench/lib/delay-line.ts),
 * relayed by a process of its own so relaying does not share this process's
 * JavaScript thread with the clients being measured.
 */
async function measureOverWan(server: S3TestServer, rttMs: number): Promise<void> {
  const target = new URL(server.endpoint);
  const windowBytes = Number((await readFile('/proc/sys/net/ipv4/tcp_wmem', 'utf8')).trim().split(/\s+/).at(-1));
  const relay = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./lib/delay-line.ts', import.meta.url)), target.hostname, target.port, String(rttMs), String(windowBytes)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      relay.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
      relay.once('exit', (code) => reject(new Error(`the delay line exited with ${code}`)));
    });
    const label = `Modelled WAN path: ${rttMs} ms RTT, ${windowBytes} B window per connection (userspace delay line)`;
    await measure({ ...server, endpoint: `http://127.0.0.1:${port}` }, label);
  } finally {
    relay.kill();
  }
}

async function main(): Promise<void> {
  const server = versitygw();
  await printMachine();
  await measure(server, 'Loopback (client beside the server)');
  if (RTT_MS > 0) await measureOverWan(server, RTT_MS);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
