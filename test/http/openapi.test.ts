/**
 * GET /openapi.json: a valid OpenAPI 3 document that describes every route
 * the API serves, and whose schemas the API's real answers meet. The API is
 * built in-process (buildApi) with the daemon's own intake and scheduler on
 * the embedded default config, and asked through fastify's inject.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { systemClock } from '../../src/clock.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { buildApi } from '../../src/http/api.js';
import {
  AcceptedSchema,
  CancellingSchema,
  CaptureListSchema,
  CaptureOutcomeSchema,
  ErrorBodySchema,
  HealthSchema,
  IgnoredSchema,
  openApiDocument,
} from '../../src/http/openapi.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { Intake } from '../../src/requests/intake.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { waitFor } from '../helpers/wait.js';

const NODE = 'openapi-test-node';

let config: Config;
let scheduler: Scheduler;
let app: ReturnType<typeof buildApi>;

beforeAll(async () => {
  config = await loadConfigFile(DEFAULT_CONFIG_PATH);
  const metrics = new Metrics({ version: 'test', libpcap: 'test', defaults: false });
  const { log } = createLogger({ level: 'silent' });
  scheduler = new Scheduler({ config: () => config, log, metrics, clock: systemClock, deliver: async () => ({ deliveries: [], failures: [], pending: [] }) });
  const intake = new Intake({ config: () => config, node: () => NODE, scheduler, log, metrics, clock: systemClock });
  app = buildApi({
    config: () => config,
    scheduler,
    metrics,
    log,
    onRequest: intake.handle,
    version: '0.0.0-test',
    startedAtMs: Date.now(),
    warmInterfaces: () => [],
    capturePermission: () => ({ permitted: true, missing: [] }),
  });
  await app.ready();
});

afterAll(async () => {
  await scheduler?.drain(10_000);
  await app?.close();
});

async function get(url: string): Promise<{ status: number; body: unknown; contentType: string }> {
  const response = await app.inject({ method: 'GET', url });
  const contentType = String(response.headers['content-type']);
  return { status: response.statusCode, body: contentType.includes('json') ? response.json() : response.body, contentType };
}

/**
 * Every method and path fastify has registered, from its route listing
 * (printRoutes with full segments, one tree line per path segment).
 * HEAD is left out: fastify adds it to every GET by itself.
 */
function registeredRoutes(): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(match[2] ?? '');
    // A trailing wildcard is the one path parameter that may hold "/" (GET /files/{path}).
    const path = stack
      .join('')
      .replace(/:([A-Za-z]+)/g, '{$1}')
      .replace(/\/?\*$/, '/{path}');
    for (const method of (match[3] ?? '').split(', ')) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes.sort();
}

function documentedRoutes(document: Record<string, unknown>): string[] {
  const routes: string[] = [];
  for (const [path, item] of Object.entries(document['paths'] as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) if (method !== 'parameters') routes.push(`${method.toUpperCase()} ${path}`);
  }
  return routes.sort();
}

describe('GET /openapi.json', () => {
  it('serves a valid OpenAPI 3 document, the one openApiDocument builds', async () => {
    const { status, body, contentType } = await get('/openapi.json');
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    expect(body).toEqual(openApiDocument('0.0.0-test'));
    const validator = new Validator();
    const result = await validator.validate(body as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\./);
    // Every $ref resolves.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('describes every route the API serves, and no other', async () => {
    const { body } = await get('/openapi.json');
    const registered = registeredRoutes();
    expect(registered).toContain('POST /captures');
    expect(registered).toContain('DELETE /captures/{id}');
    expect(documentedRoutes(body as Record<string, unknown>)).toEqual(registered);
  });

  it('describes the request body with the request schema the intake validates with', async () => {
    const { body } = await get('/openapi.json');
    const document = body as { components: { schemas: Record<string, unknown> } };
    const { body: served } = await get('/schema/request');
    const { $schema: _dialect, ...requestSchema } = served as Record<string, unknown>;
    expect(document.components.schemas['CaptureRequest']).toEqual(requestSchema);
    expect(document.components.schemas['SignedRequest']).toMatchObject({ required: ['signed', 'signature'], additionalProperties: false });
  });

  it('gives every operation responses, and every error response the error body', async () => {
    const { body } = await get('/openapi.json');
    const paths = (body as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema: unknown }> }> }>> }).paths;
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === 'parameters') continue;
        const responses = Object.entries(operation.responses ?? {});
        expect(
          responses.some(([status]) => status.startsWith('2')),
          `${method} ${path}`,
        ).toBe(true);
        for (const [status, response] of responses) {
          if (Number(status) >= 400)
            expect(response.content?.['application/json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
  });
});

describe('the API answers as its document says', () => {
  it('answers errors with the documented error body', async () => {
    for (const [method, url, payload] of [
      ['GET', '/captures/nope', undefined],
      ['DELETE', '/captures/nope', undefined],
      ['GET', '/captures/nope/pcap', undefined],
      ['GET', '/no/such/route', undefined],
      ['POST', '/captures', '{"node":"any","interface":["lo"],"pakets":5}'],
      ['POST', '/captures', 'not json'],
      ['POST', '/captures?wait=soon', '{}'],
    ] as const) {
      const response = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
      expect(response.statusCode, `${method} ${url}`).toBeGreaterThanOrEqual(400);
      expect(() => ErrorBodySchema.parse(response.json()), `${method} ${url}`).not.toThrow();
    }
  });

  it('answers a request for another node as Ignored', async () => {
    const response = await app.inject({ method: 'POST', url: '/captures', payload: { node: 'another-node', interface: ['lo'], packets: 1 } });
    expect(response.statusCode).toBe(200);
    expect(IgnoredSchema.parse(response.json())).toEqual({ ignored: true, why: 'other-node' });
  });

  it('answers a capture as Accepted, then CaptureOutcome, CaptureList and Cancelling', async () => {
    // A capture on loopback for a port nothing sends to: it records nothing and is cancelled.
    const request = { node: NODE, interface: ['lo'], bpf: 'udp port 9', duration: 30, id: `openapi-${process.pid}` };
    const accepted = await app.inject({ method: 'POST', url: '/captures', payload: request });
    expect(accepted.statusCode).toBe(202);
    expect(AcceptedSchema.parse(accepted.json()).id).toBe(request.id);
    const outcome = await get(`/captures/${request.id}`);
    expect(outcome.status).toBe(200);
    expect(CaptureOutcomeSchema.parse(outcome.body).id).toBe(request.id);
    const list = await get('/captures');
    expect(CaptureListSchema.parse(list.body).captures.map((capture) => capture.id)).toContain(request.id);
    const cancelled = await app.inject({ method: 'DELETE', url: `/captures/${request.id}` });
    expect(cancelled.statusCode).toBe(202);
    expect(CancellingSchema.parse(cancelled.json())).toEqual({ id: request.id, cancelling: true });
    const ended = await waitFor('the cancelled capture to end', async () => {
      const { body } = await get(`/captures/${request.id}`);
      const parsed = CaptureOutcomeSchema.parse(body);
      return parsed.state === 'done' || parsed.state === 'failed' ? parsed : undefined;
    });
    expect(ended.reason).toBe('cancelled');
  });

  it('answers /healthz as Health', async () => {
    const { status, body } = await get('/healthz');
    expect(status).toBe(200);
    expect(HealthSchema.parse(body)).toEqual({ ok: true, capture: 'permitted' });
  });
});
