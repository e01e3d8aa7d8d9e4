/**
 * Cloudshark's documented upload API, served inside the tests (Cloudshark
 * has no local server; this is the project's only test double):
 *
 *   POST /api/v1/<token>/upload   multipart/form-data: file (the capture),
 *                                 filename, additional_tags
 *   200 {"filename": "...", "id": "..."}; 401 for a wrong token,
 *   400 for a malformed upload, each as {"status": N, "exceptions": [...]}.
 *
 * The body is really parsed as multipart (undici's parser, through
 * Response.formData()), and what arrives is checked: the token, a `file`
 * part with a file name, a pcap or pcapng magic number, the declared
 * filename. Every stored upload is kept for the test to inspect.
 *
 * It can go down and come back on the same port (stop/start), hold uploads
 * without answering (for a pcapd killed mid-upload), and answer 503.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import { Response } from 'undici';

import { waitFor } from './wait.js';

export interface StoredUpload {
  id: string;
  filename: string;
  /** The file part's own file name (Content-Disposition). */
  partFilename: string;
  contentType: string;
  tags: string[];
  bytes: Buffer;
  receivedAt: number;
}

export interface CloudsharkServer {
  readonly token: string;
  readonly port: number;
  readonly uploads: StoredUpload[];
  /** Requests that reached the upload route, stored or not. */
  readonly attempts: number;
  /** Connections that sent an upload and hung up before it was answered. */
  readonly aborted: number;
  /** Upload requests begun and neither answered nor hung up yet: while 0, no upload can still land. */
  readonly inFlight: number;
  /** Uploads are read but not answered until released (or the client hangs up). */
  holdUploads(hold: boolean): void;
  /** The next `count` uploads get this status instead of being stored. */
  failNext(count: number, status: number): void;
  /** Resolves when an upload request starts arriving. */
  waitForAttempt(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when `n` uploads are stored. */
  waitForUploads(n: number, timeoutMs?: number): Promise<StoredUpload[]>;
  stop(): Promise<void>;
  /** Listens again, on the same port; nothing when it is listening. */
  start(): Promise<void>;
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a]);

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function refuse(response: ServerResponse, status: number, exception: string): void {
  send(response, status, { status, exceptions: [exception] });
}

export async function startCloudsharkServer(options: { token?: string; port?: number } = {}): Promise<CloudsharkServer> {
  const token = options.token ?? 'test-token-0123456789';
  const uploads: StoredUpload[] = [];
  const held = new Set<() => void>();
  const sockets = new Set<import('node:net').Socket>();
  let attempts = 0;
  let aborted = 0;
  let inFlight = 0;
  let hold = false;
  let failures = { count: 0, status: 503 };
  let nextId = 1;
  let port = options.port ?? 0;
  let server: Server | undefined;

  async function handleUpload(request: IncomingMessage, response: ServerResponse): Promise<void> {
    attempts += 1;
    inFlight += 1;
    response.once('close', () => (inFlight -= 1));
    let answered = false;
    response.on('finish', () => (answered = true));
    request.on('close', () => {
      if (!answered) aborted += 1;
    });
    if (hold) {
      // Take nothing more: the client's body stalls on TCP backpressure, as on a slow link.
      request.pause();
      await new Promise<void>((resolve) => {
        held.add(resolve);
        request.on('close', resolve);
      });
      if (request.destroyed) return;
      request.resume();
    }
    if (failures.count > 0) {
      failures = { ...failures, count: failures.count - 1 };
      request.resume();
      refuse(response, failures.status, 'service unavailable (test)');
      return;
    }
    const contentType = request.headers['content-type'] ?? '';
    if (!contentType.startsWith('multipart/form-data')) return refuse(response, 400, `expected multipart/form-data, got ${contentType}`);
    let form: Awaited<ReturnType<Response['formData']>>;
    try {
      form = await new Response(Readable.toWeb(request) as ReadableStream, { headers: { 'content-type': contentType } }).formData();
    } catch (err: unknown) {
      if (request.destroyed) return;
      return refuse(response, 400, `malformed multipart body: ${String(err)}`);
    }
    const file = form.get('file');
    if (file === null || typeof file === 'string') return refuse(response, 400, 'no file part');
    const bytes = Buffer.from(await file.arrayBuffer());
    if (bytes.length < 4 || !(PCAP_MAGICS.has(bytes.readUInt32LE(0)) || PCAP_MAGICS.has(bytes.readUInt32BE(0)))) {
      return refuse(response, 400, 'the file is not a pcap or pcapng capture');
    }
    const filename = form.get('filename');
    if (typeof filename !== 'string' || filename === '') return refuse(response, 400, 'no filename');
    if (file.name !== filename) return refuse(response, 400, `filename ${filename} differs from the file part's ${file.name}`);
    const tags = form.get('additional_tags');
    const id = `cs${String(nextId++).padStart(6, '0')}`;
    uploads.push({
      id,
      filename,
      partFilename: file.name,
      contentType: file.type,
      tags: typeof tags === 'string' && tags !== '' ? tags.split(',') : [],
      bytes,
      receivedAt: Date.now(),
    });
    send(response, 200, { filename, id });
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const match = /^\/api\/v1\/([^/]+)\/upload$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match) {
      request.resume();
      return refuse(response, 404, `no route ${request.method} ${request.url}`);
    }
    if (decodeURIComponent(match[1] ?? '') !== token) {
      request.resume();
      return refuse(response, 401, 'invalid API token');
    }
    handleUpload(request, response).catch((err: unknown) => {
      if (!response.headersSent && !request.destroyed) refuse(response, 500, String(err));
    });
  }

  async function start(): Promise<void> {
    if (server !== undefined) return;
    server = createServer(handle);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    const listening = server;
    try {
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (err: unknown) {
      server = undefined;
      throw err;
    }
    port = (listening.address() as AddressInfo).port;
  }

  async function stop(): Promise<void> {
    const current = server;
    server = undefined;
    if (!current) return;
    for (const release of held) release();
    held.clear();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  }

  const waitUntil = (what: string, check: () => boolean, timeoutMs: number): Promise<boolean> =>
    waitFor(what, check, { timeoutMs, intervalMs: 25, detail: () => `cloudshark test server: ${uploads.length} stored, ${attempts} attempts` });

  await start();
  return {
    token,
    get port() {
      return port;
    },
    uploads,
    get attempts() {
      return attempts;
    },
    get aborted() {
      return aborted;
    },
    get inFlight() {
      return inFlight;
    },
    holdUploads(value) {
      hold = value;
      if (!value) {
        for (const release of held) release();
        held.clear();
      }
    },
    failNext(count, status) {
      failures = { count, status };
    },
    async waitForAttempt(n, timeoutMs = 20_000) {
      await waitUntil(`${n} upload attempt(s)`, () => attempts >= n, timeoutMs);
    },
    async waitForUploads(n, timeoutMs = 20_000) {
      await waitUntil(`${n} upload(s)`, () => uploads.length >= n, timeoutMs);
      return uploads;
    },
    stop,
    start,
  };
}
