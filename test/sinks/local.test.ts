/**
 * The local sink on real folders and files: a temp root per test, a tiny
 * tmpfs for a full disk, tshark to read a written capture back.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { CaptureJob } from '../../src/model/job.js';
import { createLogger } from '../../src/log/logger.js';
import { LocalSink } from '../../src/sinks/local.js';
import { readSidecar } from '../../src/sinks/local-meta.js';
import type { DeliverableFile, FinishedCapture } from '../../src/model/finished-capture.js';
import { readPackets } from '../helpers/capture-files.js';
import { run } from '../helpers/exec.js';
import { udpFrame } from '../helpers/frames.js';
import { makeJob } from '../helpers/job.js';

let base: string;
let root: string;
let outside: string;
let logLines: string[];

function newSink(rootDir = root): LocalSink {
  const { log } = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  return new LocalSink({ rootDir, log });
}

function file(name: string, chunks: Buffer[]): DeliverableFile {
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return { name, format: name.endsWith('.pcap') ? 'pcap' : 'pcapng', chunks, bytes, packets: 0, interfaces: ['eth0'] };
}

function capture(files: DeliverableFile[], job: CaptureJob = makeJob()): FinishedCapture {
  return { job, segment: 0, final: true, reason: 'packets', startedAt: new Date(), files };
}

function randomChunks(count: number, sizeBytes: number): Buffer[] {
  return Array.from({ length: count }, () => randomBytes(sizeBytes));
}

async function expectSinkError(promise: Promise<unknown>, text: RegExp | string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'PcapdError', code: 'PCAPD_ERR_SINK_LOCAL', message: expect.stringMatching(text) });
}

/** Every entry below `dir`, recursively, as relative paths. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.sort();
}

/** A classic pcap (Ethernet) handed over in many small chunks, as the capture core does. */
function pcapChunks(packetCount: number): Buffer[] {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65_535, 16);
  header.writeUInt32LE(1, 20);
  const chunks: Buffer[] = [header];
  for (let sequence = 0; sequence < packetCount; sequence++) {
    const frame = udpFrame(60, sequence);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1_700_000_000 + sequence, 0);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    chunks.push(record, frame);
  }
  return chunks;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'pcapd-local-sink-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  const dir = await mkdtemp(join(base, 'case-'));
  root = join(dir, 'root');
  outside = join(dir, 'outside');
  await mkdir(root);
  await mkdir(outside);
  logLines = [];
});

describe('LocalSink', () => {
  it('writes each file byte for byte from its chunks and returns absolute paths', async () => {
    const chunks = randomChunks(5, 1000);
    const delivery = await newSink().deliver(capture([file('a.pcapng', chunks), file('b.pcap', [Buffer.from('second')])]));
    expect(delivery).toEqual({ sink: 'local', locations: [join(root, 'a.pcapng'), join(root, 'b.pcap')] });
    expect(delivery.locations.every((path) => isAbsolute(path))).toBe(true);
    expect((await readFile(join(root, 'a.pcapng'))).equals(Buffer.concat(chunks))).toBe(true);
    expect(await readFile(join(root, 'b.pcap'), 'utf8')).toBe('second');
  });

  it('writes a capture that tshark reads back intact, from more chunks than one writev takes', async () => {
    // 2 chunks per packet: 4001 chunks, beyond IOV_MAX (1024).
    const chunks = pcapChunks(2000);
    const [path] = (await newSink().deliver(capture([file('trace.pcap', chunks)]))).locations;
    expect(path).toBeDefined();
    const packets = await readPackets(path ?? '');
    expect(packets.map((packet) => packet.sequence)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(await run('capinfos', ['-c', '-M', path ?? ''])).toMatch(/Number of packets:\s+2000/);
  });

  it('writes files with mode 0640 whatever the umask', async () => {
    const previous = process.umask(0o077);
    try {
      await newSink().deliver(capture([file('m.pcapng', [Buffer.from('x')])]));
    } finally {
      process.umask(previous);
    }
    expect((await stat(join(root, 'm.pcapng'))).mode & 0o777).toBe(0o640);
  });

  it('leaves no temp file behind, only the file and its sidecar', async () => {
    await newSink().deliver(capture([file('clean.pcapng', randomChunks(3, 10))]));
    expect(await tree(root)).toEqual(['.clean.pcapng.json', 'clean.pcapng']);
  });

  it('records the request id, name, node, interfaces and start time in a sidecar beside each file', async () => {
    const startedAt = new Date('2026-03-04T05:06:07.890Z');
    const job = { ...makeJob({ id: 'side-1', alertid: 77 }), name: 'sip-trunk' };
    const finished: FinishedCapture = {
      job,
      segment: 2,
      final: false,
      reason: 'segment',
      startedAt,
      files: [{ ...file('s.pcap', [Buffer.from('x')]), packets: 5, interfaces: ['veth9'] }],
    };
    const [path] = (await newSink().deliver(finished)).locations;
    expect(await readSidecar(path ?? '')).toEqual({
      id: 'side-1',
      name: 'sip-trunk',
      node: job.node,
      interfaces: ['veth9'],
      format: 'pcap',
      startedAt: '2026-03-04T05:06:07.890Z',
      segment: 2,
      packets: 5,
      alertid: 77,
    });
    expect((await stat(join(root, '.s.pcap.json'))).mode & 0o777).toBe(0o640);
  });

  it('creates the request folder below the root with mode 0750', async () => {
    const previous = process.umask(0o077);
    let locations: string[];
    try {
      ({ locations } = await newSink().deliver(capture([file('f.pcapng', [Buffer.from('x')])], makeJob({ folder: 'team/case-1' }))));
    } finally {
      process.umask(previous);
    }
    expect(locations).toEqual([join(root, 'team', 'case-1', 'f.pcapng')]);
    expect((await stat(join(root, 'team'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(root, 'team', 'case-1'))).mode & 0o777).toBe(0o750);
  });

  it('creates a missing root', async () => {
    const missingRoot = join(root, 'not', 'yet');
    const { locations } = await newSink(missingRoot).deliver(capture([file('r.pcapng', [Buffer.from('x')])]));
    expect(locations).toEqual([join(missingRoot, 'r.pcapng')]);
  });

  it.each(['../outside', 'a/../../outside', '..'])('refuses folder %j, which leaves the root, though the job calls it valid', async (folder) => {
    await expectSinkError(newSink().deliver(capture([file('x.pcapng', [Buffer.from('x')])], makeJob({ folder }))), /leaves/);
    expect(await tree(outside)).toEqual([]);
    expect(await tree(root)).toEqual([]);
  });

  it('refuses an absolute folder', async () => {
    await expectSinkError(newSink().deliver(capture([file('x.pcapng', [Buffer.from('x')])], makeJob({ folder: outside }))), /not a relative path/);
    expect(await tree(outside)).toEqual([]);
  });

  it('refuses a symlink inside the root that points outside, creating nothing through it', async () => {
    await symlink(outside, join(root, 'escape'));
    const sink = newSink();
    await expectSinkError(sink.deliver(capture([file('x.pcapng', [Buffer.from('x')])], makeJob({ folder: 'escape' }))), /leads outside/);
    await expectSinkError(sink.deliver(capture([file('x.pcapng', [Buffer.from('x')])], makeJob({ folder: 'escape/sub' }))), /leads outside/);
    expect(await tree(outside)).toEqual([]);
  });

  it('follows a symlink that stays inside the root', async () => {
    await mkdir(join(root, 'real'));
    await symlink(join(root, 'real'), join(root, 'alias'));
    const { locations } = await newSink().deliver(capture([file('x.pcapng', [Buffer.from('x')])], makeJob({ folder: 'alias' })));
    expect(locations).toEqual([join(root, 'real', 'x.pcapng')]);
  });

  it('never replaces an existing file: a second capture with the same name is written beside it', async () => {
    const sink = newSink();
    const first = await sink.deliver(capture([file('same.pcapng', [Buffer.from('first')])]));
    const second = await sink.deliver(capture([file('same.pcapng', [Buffer.from('second')])]));
    expect(first.locations).toEqual([join(root, 'same.pcapng')]);
    expect(second.locations).toEqual([join(root, 'same-1.pcapng')]);
    expect(await readFile(join(root, 'same.pcapng'), 'utf8')).toBe('first');
    expect(await readFile(join(root, 'same-1.pcapng'), 'utf8')).toBe('second');
    expect(logLines.some((line) => line.includes('already taken'))).toBe(true);
  });

  it('does not write through a symlink planted at the file name', async () => {
    await symlink(join(outside, 'target'), join(root, 'planted.pcapng'));
    const { locations } = await newSink().deliver(capture([file('planted.pcapng', [Buffer.from('x')])]));
    expect(locations).toEqual([join(root, 'planted-1.pcapng')]);
    expect(await tree(outside)).toEqual([]);
  });

  it.each(['../up.pcapng', 'a/b.pcapng', '.hidden.pcapng', ''])('refuses file name %j', async (name) => {
    await expectSinkError(newSink().deliver(capture([file(name, [Buffer.from('x')])])), /not a plain file name/);
    expect(await tree(root)).toEqual([]);
  });

  it('is all or nothing: a failing file removes the files already written by the same delivery', async () => {
    await expectSinkError(
      newSink().deliver(capture([file('ok.pcap', [Buffer.from('x')]), file('bad/name.pcap', [Buffer.from('y')])])),
      /not a plain file name/,
    );
    expect(await tree(root)).toEqual([]);
  });

  it('says a refused name or folder is not retriable, and a file-system failure is', async () => {
    await expect(newSink().deliver(capture([file('a/b.pcap', [Buffer.from('x')])]))).rejects.toMatchObject({ sink: 'local', retriable: false });
    await expect(newSink().deliver(capture([file('x.pcap', [Buffer.from('x')])], makeJob({ folder: '../out' })))).rejects.toMatchObject({ retriable: false });
    await writeFile(join(root, 'blocker'), 'x');
    await expect(newSink().deliver(capture([file('x.pcap', [Buffer.from('x')])], makeJob({ folder: 'blocker/sub' })))).rejects.toMatchObject({
      retriable: true,
    });
  });

  it('reports a folder that is a file with the path and errno code', async () => {
    await writeFile(join(root, 'plain'), 'x');
    await expectSinkError(newSink().deliver(capture([file('x.pcapng', [Buffer.from('x')])], makeJob({ folder: 'plain/sub' }))), /plain.*ENOTDIR/);
  });
});

describe('LocalSink on a full disk', () => {
  let mountDir: string;

  beforeAll(async () => {
    mountDir = await mkdtemp(join(tmpdir(), 'pcapd-local-sink-tmpfs-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mountDir]);
  });

  afterAll(async () => {
    await run('umount', [mountDir]);
    await rm(mountDir, { recursive: true, force: true });
  });

  afterEach(() => {
    logLines = [];
  });

  it('fails with PCAPD_ERR_SINK_LOCAL naming ENOSPC, leaves no temp file, and writes again once there is room', async () => {
    const sink = newSink(mountDir);
    const big = randomChunks(16, 16 * 1024); // 256 KiB into 64 KiB
    await expectSinkError(sink.deliver(capture([file('big.pcapng', big)])), new RegExp(`${join(mountDir, 'big.pcapng')}.*ENOSPC`));
    await expect(sink.deliver(capture([file('big.pcapng', big)]))).rejects.toMatchObject({ retriable: true });
    expect(await tree(mountDir)).toEqual([]);

    const small = randomChunks(2, 512);
    const { locations } = await sink.deliver(capture([file('small.pcapng', small)]));
    expect(locations).toEqual([join(mountDir, 'small.pcapng')]);
    expect((await readFile(join(mountDir, 'small.pcapng'))).equals(Buffer.concat(small))).toBe(true);
    expect(await tree(mountDir)).toEqual(['.small.pcapng.json', 'small.pcapng']);
  });
});
