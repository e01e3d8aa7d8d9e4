/**
 * pcapd's HTTP API (fastify): submit, list, inspect, cancel and download
 * captures; interfaces, stats, Prometheus metrics, health. Request bodies are
 * taken as raw text and go through the same intake as every broker message, so
 * there is one schema and one set of error codes whatever the entry point.
 */
import { timingSafeEqual } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

import Fastify, { type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

import { captureResources } from '../capture/capture.js';
import { listDevices } from '../capture/devices.js';
import type { CapturePermission } from '../capture/permission.js';
import type { WarmInterfaceStatus } from '../capture/warm-interfaces.js';
import type { Config } from '../config/schema.js';
import { errnoCode, errorCodeOf, errorMessage, type ErrorCode } from '../errors.js';
import { raceTimeout, TIMED_OUT } from '../timers.js';
import type { IntakeResult, RequestHandler } from '../requests/intake-contract.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { CONTENT_TYPES } from '../model/finished-capture.js';
import { requestJsonSchema } from '../model/request.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { captureFormatOf } from '../sinks/local-files.js';
import { downloadFile, listFiles, sendCaptureFile } from './files.js';
import { openApiDocument } from './openapi.js';
import { errorBody, sendError } from './reply.js';
import { waitQueryOf, type WaitQuery } from './wait.js';

export interface ApiDeps {
  config(): Config;
  scheduler: Scheduler;
  metrics: Metrics;
  log: Log;
  onRequest: RequestHandler;
  version: string;
  startedAtMs: number;
  /** The warm interfaces' state, rings and counters. */
  warmInterfaces(): WarmInterfaceStatus[];
  /** Whether this process may capture (its capabilities), read at start. */
  capturePermission(): CapturePermission;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

type Compilers = Required<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>>;

/**
 * Fastify builds its default schema compilers (ajv with its formats,
 * fast-json-stringify) when the server is created, whether a route declares
 * a schema or not; pcapd's routes declare none (bodies go through the one
 * request schema), so the compilers are loaded only if a route ever does.
 * Measured: about 2 MB of an idle daemon's RSS.
 */
function onDemandCompilers(): Compilers {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  return {
    buildValidator: (...args: Parameters<Compilers['buildValidator']>) =>
      (fromFastify('@fastify/ajv-compiler') as () => Compilers['buildValidator'])()(...args),
    buildSerializer: (...args: Parameters<Compilers['buildSerializer']>) =>
      (fromFastify('@fastify/fast-json-stringify-compiler') as () => Compilers['buildSerializer'])()(...args),
  };
}

// The return type is inferred: it carries pcapd's pino logger type.
export function buildApi(deps: ApiDeps) {
  const { config, scheduler, metrics } = deps;
  const app = Fastify({
    // Fastify's per-request info lines would double every intake log line;
    // its warnings and errors still come through.
    loggerInstance: deps.log.child({}, { level: 'warn' }),
    // Slack over maxrequestbytes so the intake, not fastify, judges the size
    // and answers with pcapd's own code; fastify's limit still caps memory.
    bodyLimit: config().general.maxrequestbytes + 1024,
    // Requests that reach a closing server (on a connection already open: a
    // closing server takes no new one) are refused by the hook below in
    // pcapd's error shape; fastify's own 503 body has no code.
    return503OnClosing: false,
    // A path with a broken %-escape is refused by fastify's router before any
    // route or error handler runs: answered here in pcapd's error shape.
    frameworkErrors: (err, _request, reply) => {
      void sendError(reply, 'PCAPD_ERR_REQUEST_INVALID', err.message);
    },
    schemaController: { compilersFactory: onDemandCompilers() },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  let closing = false;
  // preClose runs once fastify has begun closing, before the server stops taking connections.
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    await refuseInHook(request, reply, 'PCAPD_ERR_SHUTTING_DOWN', 'pcapd is shutting down (or restarting its HTTP listener) and takes no new requests');
  });

  app.addHook('onRequest', async (request, reply) => {
    const token = config().http.token;
    if (token === undefined || request.url === '/healthz') return;
    if (!tokenMatches(request.headers.authorization, token)) await refuseInHook(request, reply, 'PCAPD_ERR_UNAUTHORIZED', 'missing or wrong bearer token');
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      status: `${Math.floor(reply.statusCode / 100)}xx`,
    });
  });

  /**
   * A request the API refuses before the intake sees it (a body over the
   * limit, a bad ?wait, no token, the API closing) is still a request received: counted and logged as the
   * intake counts its own refusals, so that for source "http" received =
   * accepted + rejected + ignored + duplicate + merged, as for every listener.
   */
  function refuseBeforeIntake(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
    metrics.requestsReceived.inc({ source: 'http' });
    metrics.requestsRejected.inc({ source: 'http', reason: code });
    request.log.warn({ source: 'http', code, reason: message }, 'request rejected');
    return sendError(reply, code, message);
  }

  /**
   * A refusal from a hook that guards every route: a capture request among
   * them is still a request received and refused, counted as above (a sender
   * with a stale token shows in the metrics as any other refusal does).
   */
  function refuseInHook(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
    const isCaptureRequest = request.method === 'POST' && request.routeOptions.url === '/captures';
    return isCaptureRequest ? refuseBeforeIntake(request, reply, code, message) : sendError(reply, code, message);
  }

  app.setNotFoundHandler((request, reply) => sendError(reply, 'PCAPD_ERR_NOT_FOUND', `no route ${request.method} ${request.url}`));

  app.setErrorHandler((err: unknown, request, reply) => {
    const fastifyCode = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return refuseBeforeIntake(request, reply, 'PCAPD_ERR_REQUEST_TOO_LARGE', `body larger than ${config().general.maxrequestbytes} bytes`);
    }
    const code = errorCodeOf(err);
    if (code) return sendError(reply, code, errorMessage(err));
    const status = typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : 500;
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody('PCAPD_ERR_REQUEST_INVALID', errorMessage(err)));
    metrics.internalErrors.inc({ where: 'http' });
    request.log.error({ err, code: 'PCAPD_ERR_INTERNAL' }, 'unexpected error in the HTTP API');
    return sendError(reply, 'PCAPD_ERR_INTERNAL', 'internal error');
  });

  app.post('/captures', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    let wait: WaitQuery;
    try {
      wait = waitQueryOf(request.query);
    } catch (err: unknown) {
      const code = errorCodeOf(err);
      if (code === undefined) throw err;
      return refuseBeforeIntake(request, reply, code, errorMessage(err));
    }
    const body = typeof request.body === 'string' ? request.body : '';
    const result = await deps.onRequest({ body, source: 'http' });
    return replyToIntake(result, wait, reply);
  });

  async function replyToIntake(result: IntakeResult, wait: WaitQuery, reply: FastifyReply): Promise<FastifyReply> {
    switch (result.kind) {
      case 'rejected':
        return sendError(reply, result.code, result.message);
      case 'ignored':
        return reply.code(200).send({ ignored: true, why: result.why });
      case 'duplicate':
        return sendError(reply, 'PCAPD_ERR_REQUEST_DUPLICATE', `request id ${result.id} was already accepted`);
      case 'merged':
        return reply.code(200).send({ id: result.id, merged: true, location: `/captures/${result.id}` });
      case 'accepted': {
        if (wait.kind === 'none') {
          return reply.code(202).send({ id: result.id, queued: result.queued, location: `/captures/${result.id}` });
        }
        // ?wait=armed answers as soon as packets are being recorded, so a client can send its
        // traffic right after; plain ?wait answers with the final result.
        const awaited = wait.until === 'armed' ? result.armed : result.outcome;
        const outcome = await raceTimeout(awaited, wait.timeoutMs);
        if (outcome === TIMED_OUT) return reply.code(202).send(scheduler.get(result.id));
        return reply.code(200).send(outcome);
      }
      default: {
        const unreachable: never = result;
        throw new Error(`unknown intake result ${JSON.stringify(unreachable)}`);
      }
    }
  }

  app.get('/captures', async () => ({ captures: scheduler.list() }));

  app.get('/captures/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const outcome = scheduler.get(request.params.id);
    if (!outcome) return sendError(reply, 'PCAPD_ERR_CAPTURE_NOT_FOUND', `no capture ${request.params.id}`);
    return outcome;
  });

  // :id is a capture's id or, for a named capture, its name.
  app.delete('/captures/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const id = scheduler.idOf(request.params.id) ?? request.params.id;
    if (!scheduler.cancel(request.params.id)) {
      return sendError(reply, 'PCAPD_ERR_CAPTURE_NOT_FOUND', `no running or queued capture ${request.params.id}`);
    }
    return reply.code(202).send({ id, cancelling: true });
  });

  app.post('/captures/:id/rotate', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const rotated = scheduler.rotate(request.params.id);
    if (!rotated) return sendError(reply, 'PCAPD_ERR_CAPTURE_NOT_FOUND', `no capture ${request.params.id} is capturing`);
    return reply.code(202).send({ id: rotated.id, rotating: true, segment: rotated.segment });
  });

  app.get('/captures/:id/pcap', async (request: FastifyRequest<{ Params: { id: string }; Querystring: { file?: string } }>, reply) => {
    const download = scheduler.download(scheduler.idOf(request.params.id) ?? request.params.id);
    const index = Number(request.query.file ?? 0);
    if (download?.kind === 'local') return sendLocalFile(reply, request.params.id, download.paths, index, request.headers.range);
    const file = Number.isInteger(index) ? download?.files[index] : undefined;
    if (!file) {
      return sendError(reply, 'PCAPD_ERR_CAPTURE_NOT_FOUND', `no retained file ${index} for capture ${request.params.id}`);
    }
    return reply
      .header('content-type', CONTENT_TYPES[file.format])
      .header('content-length', file.bytes)
      .header('content-disposition', `attachment; filename="${file.name}"`)
      .send(Readable.from(file.chunks));
  });

  app.get('/files', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>) => listFiles(config(), request.query));

  app.get('/files/*', async (request, reply) => downloadFile(config(), request.url, request.headers.range, reply));

  app.get('/interfaces', async () => ({
    interfaces: listDevices(),
    aliases: config().interface.map((entry) => ({ name: entry.name, alias: entry.alias })),
    warm: deps.warmInterfaces(),
  }));

  app.get('/stats', async () => ({
    version: deps.version,
    uptimeSeconds: Math.round((Date.now() - deps.startedAtMs) / 1000),
    scheduler: scheduler.stats(),
    capture: deps.capturePermission(),
    warm: deps.warmInterfaces(),
    // Should follow the captures running: more is a leak worth a bug report.
    native: captureResources(),
  }));

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  app.get('/schema/request', async () => requestJsonSchema());

  const openApiJson = JSON.stringify(openApiDocument(deps.version));
  app.get('/openapi.json', async (_request, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(openApiJson));

  // Alive whatever the capture permission: a pcapd that cannot capture still serves, and says so here.
  app.get('/healthz', async () => ({ ok: true, capture: deps.capturePermission().permitted ? 'permitted' : 'denied' }));

  return app;
}

/** Streams the file the local sink wrote (whole, or the one Range asked); pcapd keeps no second copy in memory. */
async function sendLocalFile(reply: FastifyReply, id: string, paths: readonly string[], index: number, range: string | undefined): Promise<FastifyReply> {
  const path = Number.isInteger(index) ? paths[index] : undefined;
  if (path === undefined) return sendError(reply, 'PCAPD_ERR_CAPTURE_NOT_FOUND', `capture ${id} has no file ${index}`);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err: unknown) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return sendError(reply, 'PCAPD_ERR_CAPTURE_FILE_GONE', `${path}, which the local sink wrote for capture ${id}, no longer exists`);
  }
  let stats;
  try {
    stats = await handle.stat();
  } catch (err: unknown) {
    await handle.close();
    throw err;
  }
  return sendCaptureFile(reply, { handle, path, bytes: stats.size, mtimeMs: stats.mtimeMs, format: captureFormatOf(path) ?? 'pcap' }, range);
}
