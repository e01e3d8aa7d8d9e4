/**
 * GET /files and GET /files/<path> through the running daemon: captures on a
 * veth pair written by the local sink, listed with their sidecar fields,
 * filtered and paged, downloaded whole (read back with capinfos and tshark)
 * and by byte range, and path tricks refused with their code. Raw paths go
 * through node:http, which sends them as written (fetch would resolve
 * "..", "%2e%2e" before they left).
 */
import { request as httpRequest } from 'node:http';
import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { byteRange, downloadPathOf } from '../../src/http/files.js';
import { FileListSchema } from '../../src/http/openapi.js';
import { capinfos, readPackets } from '../helpers/capture-files.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { captureToLocalFile } from '../helpers/local-capture.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let daemon: RunningDaemon;
let link: TestLink;
let beforeCaptures: Date;
/** id → the path the local sink wrote, relative to the root. */
const written = new Map<string, string>();

function rawGet(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  const { port } = new URL(daemon.baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: Number(port), path, headers, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

async function capture(id: string, packets: number, extra: Record<string, unknown> = {}): Promise<void> {
  const { path } = await captureToLocalFile(daemon, link, id, packets, extra);
  written.set(id, path.slice(daemon.captureDir.length + 1));
}

async function listAll(query: string): Promise<{ pages: number; paths: string[] }> {
  const paths: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const { status, body } = await daemon.api(`/files?${query}${cursor === undefined ? '' : `&cursor=${cursor}`}`);
    expect(status).toBe(200);
    const page = FileListSchema.parse(body);
    paths.push(...page.files.map((file) => file.path));
    cursor = page.next;
    pages++;
  } while (cursor !== undefined && pages < 20);
  return { pages, paths };
}

beforeAll(async () => {
  daemon = await startDaemon();
  link = await createTestLink();
  beforeCaptures = new Date(Date.now() - 1000);
  await capture('files-a', 20);
  await capture('files-b', 30, { format: 'pcap' });
  await capture('files-c', 40, { folder: 'incidents/42' });
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  await destroyAllTestLinks();
});

describe('GET /files', () => {
  it('lists every file the local sink wrote with its size, time, request id, node and interface', async () => {
    const { status, body } = await daemon.api('/files');
    expect(status).toBe(200);
    const { files, next } = FileListSchema.parse(body);
    expect(next).toBeUndefined();
    expect(files.map((file) => file.path).sort()).toEqual([...written.values()].sort());
    for (const file of files) {
      const onDisk = await stat(join(daemon.captureDir, file.path));
      expect(file.bytes).toBe(onDisk.size);
      expect(Date.parse(file.modifiedAt)).toBe(Math.floor(onDisk.mtimeMs));
      expect(file.interfaces).toEqual([link.hostIf]);
      expect(Date.parse(file.startedAt ?? '')).toBeGreaterThanOrEqual(beforeCaptures.getTime());
    }
    expect(files.find((file) => file.id === 'files-b')).toMatchObject({ format: 'pcap', packets: 30, segment: 0 });
    expect(files.find((file) => file.id === 'files-c')).toMatchObject({ path: expect.stringMatching(/^incidents\/42\//), format: 'pcapng', packets: 40 });
  });

  it('filters by request id, interface and time range', async () => {
    const only = async (query: string): Promise<string[]> => (await listAll(query)).paths;
    expect(await only('id=files-b')).toEqual([written.get('files-b')]);
    expect(await only('id=no-such-id')).toEqual([]);
    expect((await only(`interface=${link.hostIf}`)).sort()).toEqual([...written.values()].sort());
    expect(await only('interface=no-such-if0')).toEqual([]);
    expect(await only('name=no-such-capture')).toEqual([]);
    expect((await only(`from=${beforeCaptures.toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`)).length).toBe(3);
    expect(await only(`from=${new Date(Date.now() + 3_600_000).toISOString()}`)).toEqual([]);
    expect(await only('to=2001-01-01T00:00:00Z')).toEqual([]);
  });

  it('pages with limit and cursor: every file once, in the order of one full listing', async () => {
    const full = await listAll('limit=1000');
    const paged = await listAll('limit=1');
    expect(full.pages).toBe(1);
    expect(paged.paths).toEqual(full.paths);
    expect(paged.pages).toBeGreaterThanOrEqual(3);
    expect(new Set(paged.paths).size).toBe(3);
  });

  it('refuses an unknown parameter, a bad time, limit or cursor with PCAPD_ERR_REQUEST_INVALID', async () => {
    for (const query of [
      'idd=x',
      'from=yesterday',
      'to=1',
      'limit=0',
      'limit=1001',
      'cursor=Li4vY29uZmlnLnRvbWw',
      'id=a&id=b',
      'from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z',
    ]) {
      const { status, body } = await daemon.api(`/files?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code, query).toBe('PCAPD_ERR_REQUEST_INVALID');
    }
  });
});

describe('GET /files/<path>', () => {
  it('streams the whole file with its content type; capinfos and tshark read the download back', async () => {
    for (const [id, path] of written) {
      const onDisk = await readFile(join(daemon.captureDir, path));
      const served = await rawGet(`/files/${path}`);
      expect(served.status).toBe(200);
      expect(served.headers['accept-ranges']).toBe('bytes');
      expect(served.headers['content-type']).toBe(path.endsWith('.pcapng') ? 'application/x-pcapng' : 'application/vnd.tcpdump.pcap');
      expect(served.body.equals(onDisk)).toBe(true);
      const copy = join(daemon.dir, `download-${id}${path.endsWith('.pcapng') ? '.pcapng' : '.pcap'}`);
      await writeFile(copy, served.body);
      const packets = (await readPackets(copy)).map((packet) => packet.sequence);
      expect((await capinfos(copy)).packets).toBe(packets.length);
      expect(packets).toEqual(Array.from({ length: packets.length }, (_, i) => i));
    }
  });

  it('answers HEAD with the headers alone, and leaves no file open after downloads, whole, ranged or HEAD', async () => {
    const path = written.get('files-a')!;
    const size = (await stat(join(daemon.captureDir, path))).size;
    const openFds = async (): Promise<number> => (await readdir(`/proc/${daemon.process.pid}/fd`)).length;
    const before = await openFds();
    for (let i = 0; i < 20; i++) {
      const head = await rawGet(`/files/${path}`, {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(size));
      expect(head.body.length).toBe(0);
      expect((await rawGet(`/files/${path}`, { range: 'bytes=0-9' })).body.length).toBe(10);
      expect((await rawGet(`/files/${path}`)).body.length).toBe(size);
    }
    await waitFor('file handles closed', async () => ((await openFds()) <= before ? true : undefined), 5_000);
  });

  it('answers a single Range with 206 and exactly those bytes, and one past the end with 416', async () => {
    const path = written.get('files-c')!;
    const onDisk = await readFile(join(daemon.captureDir, path));
    const size = onDisk.length;
    for (const [header, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=100-', 100, size - 1],
      ['bytes=-50', size - 50, size - 1],
      [`bytes=${size - 10}-${size + 500}`, size - 10, size - 1],
    ] as const) {
      const served = await rawGet(`/files/${path}`, { range: header });
      expect(served.status, header).toBe(206);
      expect(served.headers['content-range'], header).toBe(`bytes ${start}-${end}/${size}`);
      expect(served.body.equals(onDisk.subarray(start, end + 1)), header).toBe(true);
    }
    const beyond = await rawGet(`/files/${path}`, { range: `bytes=${size}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${size}`);
    expect(JSON.parse(beyond.body.toString()).error.code).toBe('PCAPD_ERR_RANGE_NOT_SATISFIABLE');
    // Several ranges: the whole file, as RFC 9110 allows.
    const several = await rawGet(`/files/${path}`, { range: 'bytes=0-1,5-6' });
    expect(several.status).toBe(200);
    expect(several.body.equals(onDisk)).toBe(true);
  });

  it('refuses path tricks with PCAPD_ERR_PATH_INVALID and never serves what lies outside the root', async () => {
    const inside = written.get('files-a')!;
    // Targets outside the root: the daemon's config and a capture-looking file beside it.
    const outsidePcap = join(daemon.dir, 'outside.pcap');
    await writeFile(outsidePcap, await readFile(join(daemon.captureDir, inside)));
    await symlink(outsidePcap, join(daemon.captureDir, 'escape.pcap'));
    await symlink(daemon.dir, join(daemon.captureDir, 'up'));
    await mkdir(join(daemon.captureDir, 'real'), { recursive: true });
    const tricks = [
      '/files/../config.toml',
      '/files/../outside.pcap',
      '/files/incidents/../../outside.pcap',
      '/files/%2e%2e/outside.pcap',
      '/files/%2E%2E%2Foutside.pcap',
      '/files/incidents%2f42/x.pcapng',
      '/files/..%5coutside.pcap',
      '/files/%00.pcap',
      '/files//etc/passwd',
      '/files/incidents\\..\\..\\outside.pcap',
      '/files/./' + inside,
      '/files/real//' + inside,
      '/files/escape.pcap',
      '/files/up/outside.pcap',
      `/files/.${inside}.json`,
      '/files/config.toml',
      '/files/',
    ];
    for (const path of tricks) {
      const answer = await rawGet(path);
      expect(answer.status, path).toBe(400);
      expect(JSON.parse(answer.body.toString()).error.code, path).toBe('PCAPD_ERR_PATH_INVALID');
    }
    const missing = await rawGet('/files/incidents/no-such-file.pcapng');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString()).error.code).toBe('PCAPD_ERR_FILE_NOT_FOUND');
    // Symlinks are never listed, so nothing outside the root is even named.
    expect((await listAll('limit=1000')).paths).not.toContain('escape.pcap');
    expect((await listAll('limit=1000')).paths.some((path) => path.startsWith('up/'))).toBe(false);
  });

  it('lists and serves a file with no sidecar from what the file system says', async () => {
    const source = join(daemon.captureDir, written.get('files-a')!);
    await mkdir(join(daemon.captureDir, 'old'), { recursive: true });
    const old = join(daemon.captureDir, 'old', 'before-sidecars.pcapng');
    await writeFile(old, await readFile(source));
    await utimes(old, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'));
    const { body } = await daemon.api('/files?to=2025-06-01T00:00:00Z');
    expect(FileListSchema.parse(body).files).toEqual([
      { path: 'old/before-sidecars.pcapng', bytes: (await stat(old)).size, modifiedAt: '2025-01-01T00:00:00.000Z', format: 'pcapng' },
    ]);
    expect((await rawGet('/files/old/before-sidecars.pcapng')).body.equals(await readFile(old))).toBe(true);
  });
});

describe('the path and range rules', () => {
  it('reads one Range header per RFC 9110 against the file size', () => {
    expect(byteRange(undefined, 10)).toEqual({ kind: 'full' });
    expect(byteRange('bytes=2-4', 10)).toEqual({ kind: 'partial', start: 2, end: 4 });
    expect(byteRange('bytes=8-', 10)).toEqual({ kind: 'partial', start: 8, end: 9 });
    expect(byteRange('bytes=-3', 10)).toEqual({ kind: 'partial', start: 7, end: 9 });
    expect(byteRange('bytes=-30', 10)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(byteRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(byteRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(byteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(byteRange('bytes=5-2', 10)).toEqual({ kind: 'full' });
    expect(byteRange('items=0-1', 10)).toEqual({ kind: 'full' });
    expect(byteRange('bytes=0-1,3-4', 10)).toEqual({ kind: 'full' });
  });

  it('refuses encoded dots, slashes, backslashes and NULs before decoding', () => {
    for (const url of ['/files/%2e%2e/x.pcap', '/files/a%2Fb.pcap', '/files/a%5Cb.pcap', '/files/a%00.pcap', '/files/%E0%A4%A.pcap']) {
      expect(() => downloadPathOf(url), url).toThrow(expect.objectContaining({ code: 'PCAPD_ERR_PATH_INVALID' }));
    }
    expect(downloadPathOf('/files/a%20b/c.pcap?x=1')).toBe('a b/c.pcap');
  });
});
