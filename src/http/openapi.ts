/**
 * The HTTP API described as an OpenAPI 3.1 document (GET /openapi.json).
 * Request bodies are described by the schemas the intake validates with (the
 * capture request, the signed envelope), error bodies by the error code list
 * and its HTTP statuses, and the small answers of the API by schemas that
 * test/http/openapi.test.ts checks real answers against; a route served but
 * not described here fails that test.
 */
import { z } from 'zod';

import type { StopReason } from '../capture/capture.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { requestJsonSchema } from '../model/request.js';
import { SignedRequestSchema } from '../requests/signature.js';
import { httpStatusFor } from './status.js';
import { MAX_WAIT_SECONDS, WAIT_VALUES } from './wait.js';

type JsonObject = Record<string, unknown>;

export const ErrorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('a stable error code (README: error codes)'),
      message: z.string().describe('what went wrong, for a person'),
    }),
  })
  .describe('every 4xx and 5xx answer');

export const AcceptedSchema = z
  .strictObject({
    id: z.string().describe('the request id (given, or made by pcapd)'),
    queued: z.boolean().describe('true while the capture waits for a slot (scheduler.queue)'),
    location: z.string().describe('where to follow the capture: /captures/{id}'),
  })
  .describe('the request is accepted');

export const IgnoredSchema = z
  .strictObject({
    ignored: z.literal(true),
    why: z.enum(['other-node', 'not-an-alert']).describe('other-node: the request targets other nodes'),
  })
  .describe('the request is for other nodes: nothing to do here');

export const MergedSchema = z
  .strictObject({
    id: z.string().describe('the flow capture the alert joined'),
    merged: z.literal(true),
    location: z.string(),
  })
  .describe('an EVE alert added to the running capture of its flow');

export const CancellingSchema = z.strictObject({ id: z.string(), cancelling: z.literal(true) }).describe('the capture is being cancelled');

export const RotatingSchema = z
  .strictObject({
    id: z.string(),
    rotating: z.literal(true),
    segment: z.number().int().describe('the segment being closed and delivered; capturing goes on in the next'),
  })
  .describe('the current segment is being closed and handed to the sinks');

export const HealthSchema = z
  .strictObject({
    ok: z.literal(true),
    capture: z.enum(['permitted', 'denied']).describe('denied: pcapd lacks CAP_NET_RAW/CAP_NET_ADMIN'),
  })
  .describe('pcapd serves');

/** Every reason a capture stops for, as the outcome's `reason` carries it (a Record, so a new one must be added here). */
const STOP_REASONS: Record<StopReason, true> = {
  packets: true,
  bytes: true,
  duration: true,
  timeout: true,
  'flow-end': true,
  'flow-idle': true,
  cancelled: true,
  shutdown: true,
  error: true,
};
const stopReasons = Object.keys(STOP_REASONS) as [StopReason, ...StopReason[]];
const capturedReasons = stopReasons.filter((reason): reason is Exclude<StopReason, 'error'> => reason !== 'error') as [
  Exclude<StopReason, 'error'>,
  ...Exclude<StopReason, 'error'>[],
];

const OutcomeErrorSchema = z.strictObject({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
});

const LiveViewSchema = z
  .strictObject({
    interfaces: z.array(z.string()),
    filter: z.string(),
    segment: z.number().int().describe('the segment being written (0 for the first)'),
    packetsPerSecond: z.number(),
    bitsPerSecond: z.number(),
    intervalSeconds: z.number().describe('the interval the rates are over'),
  })
  .describe('a running capture: interfaces, BPF, current segment and rates');

/** What every state has (the rest of the fields are described in the README, HTTP API). */
const outcomeBase = {
  id: z.string(),
  node: z.string(),
  source: z.string(),
  requestedAt: z.string(),
  packets: z.number().int(),
  bytes: z.number().int(),
};

const ended = {
  startedAt: z.string(),
  endedAt: z.string(),
  firstPacketAt: z.string().optional().describe('absent when it caught no packet'),
  lastPacketAt: z.string().optional(),
};

/**
 * A capture, one shape per state (src/model/outcome.ts): the fields a state
 * guarantees are required in it, and a state has none of a later one's.
 */
export const CaptureOutcomeSchema = z
  .discriminatedUnion('state', [
    z.looseObject({ ...outcomeBase, state: z.literal('queued') }).describe('waiting for a capture slot'),
    z.looseObject({ ...outcomeBase, state: z.literal('arming') }).describe('its handle and ring are being opened'),
    z
      .looseObject({ ...outcomeBase, state: z.literal('capturing'), startedAt: z.string(), live: LiveViewSchema })
      .describe('recording; packets and bytes are live counters'),
    z
      .looseObject({ ...outcomeBase, state: z.literal('delivering'), ...ended, reason: z.enum(stopReasons), error: OutcomeErrorSchema.optional() })
      .describe('capturing ended (reason), the sinks are being tried; error when reason is error'),
    z
      .looseObject({
        ...outcomeBase,
        state: z.literal('done'),
        reason: z.enum(capturedReasons).optional().describe('why capturing ended; absent only in a spooled copy read after a restart'),
        startedAt: z.string().optional().describe('absent when it was cancelled in the queue'),
        endedAt: z.string().optional(),
      })
      .describe('handed to every sink: deliveries, pending (in the spool) and deliveryFailures say where it is'),
    z
      .looseObject({
        ...outcomeBase,
        state: z.literal('failed'),
        error: OutcomeErrorSchema,
        reason: z.literal('error').optional().describe('set when capturing ended on the error; its packets were delivered'),
        startedAt: z.string().optional().describe('absent when it failed before recording'),
      })
      .describe('could not start, or failed while capturing'),
  ])
  .describe('a capture: state, limits and clamps, counters, deliveries (README: HTTP API)');

export const CaptureListSchema = z.strictObject({ captures: z.array(CaptureOutcomeSchema) });

export const LocalFileSchema = z
  .strictObject({
    path: z.string().describe('relative to general.localdir, "/"-separated: GET /files/{path} downloads it'),
    bytes: z.number().int(),
    modifiedAt: z.string().describe('when the local sink wrote it (ISO 8601)'),
    format: z.enum(['pcap', 'pcapng']),
    id: z.string().optional().describe('the request id (from the sidecar the local sink writes; absent for a file without one)'),
    name: z.string().optional().describe("the capture's name, for a named capture"),
    node: z.string().optional(),
    interfaces: z.array(z.string()).optional(),
    startedAt: z.string().optional().describe('when the capture started (ISO 8601)'),
    segment: z.number().int().optional(),
    packets: z.number().int().optional(),
    alertid: z.union([z.string(), z.number()]).optional(),
  })
  .describe('a capture file the local sink wrote');

export const FileListSchema = z
  .strictObject({
    files: z.array(LocalFileSchema),
    next: z.string().optional().describe('pass as ?cursor for the next page; absent on the last page'),
  })
  .describe('one page of capture files, in path order');

const SCHEMAS = {
  CaptureRequest: (() => {
    const { $schema: _dialect, ...schema } = requestJsonSchema();
    return schema;
  })(),
  SignedRequest: toSchema(SignedRequestSchema),
  Error: toSchema(ErrorBodySchema),
  Accepted: toSchema(AcceptedSchema),
  Ignored: toSchema(IgnoredSchema),
  Merged: toSchema(MergedSchema),
  Cancelling: toSchema(CancellingSchema),
  Rotating: toSchema(RotatingSchema),
  Health: toSchema(HealthSchema),
  CaptureOutcome: toSchema(CaptureOutcomeSchema),
  CaptureList: toSchema(CaptureListSchema),
  FileList: toSchema(FileListSchema),
} as const;

type SchemaName = keyof typeof SCHEMAS;

function toSchema(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }) as JsonObject;
  return rest;
}

function ref(name: SchemaName): JsonObject {
  return { $ref: `#/components/schemas/${name}` };
}

function json(description: string, schema: JsonObject): JsonObject {
  return { description, content: { 'application/json': { schema } } };
}

/** What any route may answer: a missing token, a bug, a request reaching the API while it closes. */
const ANY_ROUTE_ERRORS: readonly ErrorCode[] = ['PCAPD_ERR_UNAUTHORIZED', 'PCAPD_ERR_SHUTTING_DOWN', 'PCAPD_ERR_INTERNAL'];

/** Error answers grouped by the status each code is sent with, each naming its codes. */
function errors(...codes: ErrorCode[]): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...codes, ...ANY_ROUTE_ERRORS])) {
    const status = httpStatusFor(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, group]) => [String(status), json(group.join(', '), ref('Error'))]));
}

/** A capture file's body, in either format. */
const CAPTURE_FILE_CONTENT = {
  'application/vnd.tcpdump.pcap': { schema: { type: 'string', contentMediaType: 'application/vnd.tcpdump.pcap' } },
  'application/x-pcapng': { schema: { type: 'string', contentMediaType: 'application/x-pcapng' } },
};

const RANGE_HEADER = {
  name: 'Range',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'bytes=first-last, bytes=first- or bytes=-suffix; several ranges are answered with the whole file',
};

const ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: "the request id, or a named capture's name" };

/** What POST /captures refuses a request with (any listener's intake refuses the same). */
const REQUEST_REFUSALS: ErrorCode[] = [
  'PCAPD_ERR_REQUEST_JSON',
  'PCAPD_ERR_NAME_INVALID',
  'PCAPD_ERR_NAME_TAKEN',
  'PCAPD_ERR_REQUEST_INVALID',
  'PCAPD_ERR_REQUEST_UNKNOWN_FIELD',
  'PCAPD_ERR_REQUEST_TARGET',
  'PCAPD_ERR_REQUEST_INTERFACE',
  'PCAPD_ERR_REQUEST_STALE',
  'PCAPD_ERR_NODERE_INVALID',
  'PCAPD_ERR_ALIAS_UNKNOWN',
  'PCAPD_ERR_INTERFACE_UNKNOWN',
  'PCAPD_ERR_BPF_INVALID',
  'PCAPD_ERR_FOLDER_INVALID',
  'PCAPD_ERR_REPLY_INVALID',
  'PCAPD_ERR_EVE_INVALID',
  'PCAPD_ERR_LOOKBACK_NOT_WARM',
  'PCAPD_ERR_LIMIT_TOO_SMALL',
  'PCAPD_ERR_REQUEST_UNSIGNED',
  'PCAPD_ERR_SIGNATURE_INVALID',
  'PCAPD_ERR_OVERRIDE_NOT_ALLOWED',
  'PCAPD_ERR_REQUEST_TOO_LARGE',
  'PCAPD_ERR_REQUEST_DUPLICATE',
  'PCAPD_ERR_ADMISSION_FULL',
  'PCAPD_ERR_SHUTTING_DOWN',
];

function paths(): JsonObject {
  return {
    '/captures': {
      post: {
        operationId: 'submitCapture',
        summary: 'Submit a capture request',
        description:
          'The body is the JSON request (any content type), read by the same intake as every broker message. ' +
          'With ?wait the answer is the final outcome (200), or the state so far after timeout seconds (202); ' +
          'with ?wait=armed it comes once the capture records (state "capturing"), so traffic sent after it is captured.',
        parameters: [
          {
            name: 'wait',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: [...WAIT_VALUES] },
            allowEmptyValue: true,
            description: 'no value, done, 1 or true: wait for the outcome; armed: wait until recording',
          },
          {
            name: 'timeout',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1 },
            description:
              `seconds ?wait waits at most (default and cap: ${MAX_WAIT_SECONDS}; more waits ${MAX_WAIT_SECONDS}); ` +
              '0, a negative, fractional or non-numeric value, or timeout without wait, is refused (400 PCAPD_ERR_REQUEST_INVALID) before the request is taken',
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { oneOf: [ref('CaptureRequest'), ref('SignedRequest')] } } },
        },
        responses: {
          '200': json('with ?wait: the outcome; for other nodes: ignored; an EVE alert of a flow already captured: merged', {
            oneOf: [ref('CaptureOutcome'), ref('Ignored'), ref('Merged')],
          }),
          '202': json('accepted; with ?wait: the state when timeout ran out', { oneOf: [ref('Accepted'), ref('CaptureOutcome')] }),
          ...errors(...REQUEST_REFUSALS),
        },
      },
      get: {
        operationId: 'listCaptures',
        summary: 'Running, queued and recent captures (http.history finished ones)',
        responses: { '200': json('the captures', ref('CaptureList')), ...errors() },
      },
    },
    '/captures/{id}': {
      parameters: [ID_PARAMETER],
      get: {
        operationId: 'getCapture',
        summary: 'One capture: state, limits and clamps, counters, stop reason, deliveries',
        responses: { '200': json('the capture', ref('CaptureOutcome')), ...errors('PCAPD_ERR_CAPTURE_NOT_FOUND') },
      },
      delete: {
        operationId: 'cancelCapture',
        summary: 'Cancel a queued or running capture; a running one ends with reason cancelled and is delivered',
        responses: { '202': json('cancelling', ref('Cancelling')), ...errors('PCAPD_ERR_CAPTURE_NOT_FOUND') },
      },
    },
    '/captures/{id}/rotate': {
      parameters: [ID_PARAMETER],
      post: {
        operationId: 'rotateCapture',
        summary:
          'Close the current segment of a running capture and hand it to the sinks now; capturing goes on in the next segment (an empty segment is not delivered)',
        responses: { '202': json('rotating', ref('Rotating')), ...errors('PCAPD_ERR_CAPTURE_NOT_FOUND') },
      },
    },
    '/captures/{id}/pcap': {
      parameters: [ID_PARAMETER],
      get: {
        operationId: 'downloadCapture',
        summary: "Download a finished capture's file: the local sink's file from disk, else the copy retained in memory",
        parameters: [
          {
            name: 'file',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 0, default: 0 },
            description: "which file: the local sink's files in delivery order, or of a capture held in memory, one per interface of a pcap-format capture",
          },
          { ...RANGE_HEADER, description: `${RANGE_HEADER.description}; honoured for a file the local sink wrote` },
        ],
        responses: {
          '200': {
            description: 'the capture file',
            content: CAPTURE_FILE_CONTENT,
          },
          '206': { description: "the range asked of the local sink's file (Content-Range: bytes first-last/size)", content: CAPTURE_FILE_CONTENT },
          ...errors('PCAPD_ERR_CAPTURE_NOT_FOUND', 'PCAPD_ERR_CAPTURE_FILE_GONE', 'PCAPD_ERR_RANGE_NOT_SATISFIABLE'),
        },
      },
    },
    '/files': {
      get: {
        operationId: 'listFiles',
        summary: 'Capture files the local sink wrote under general.localdir and still holds, in path order, a page at a time',
        description:
          'Each page looks at no more than 5000 files, so with filters a page may hold fewer than limit files and still give next: ' +
          "follow next until it is absent. Time filters select files whose time overlaps [from, to]: a file spans from its capture's start to its modification time.",
        parameters: [
          { name: 'id', in: 'query', required: false, schema: { type: 'string' }, description: 'only files of this request id' },
          { name: 'name', in: 'query', required: false, schema: { type: 'string' }, description: 'only files of this named capture' },
          { name: 'interface', in: 'query', required: false, schema: { type: 'string' }, description: 'only files holding this interface' },
          {
            name: 'from',
            in: 'query',
            required: false,
            schema: { type: 'string', format: 'date-time' },
            description: 'only files holding time at or after this (ISO 8601)',
          },
          {
            name: 'to',
            in: 'query',
            required: false,
            schema: { type: 'string', format: 'date-time' },
            description: 'only files holding time at or before this (ISO 8601)',
          },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, description: 'files per page' },
          { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: "the previous page's next" },
        ],
        responses: { '200': json('a page of files', ref('FileList')), ...errors('PCAPD_ERR_REQUEST_INVALID') },
      },
    },
    '/files/{path}': {
      get: {
        operationId: 'downloadFile',
        summary: 'Download a capture file under general.localdir, streamed from disk; one byte range with Range: bytes=…',
        parameters: [
          {
            name: 'path',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            description:
              'the path GET /files lists, its "/" kept as is; encoded dots and slashes, "..", hidden or absolute paths and symlinks out of the root are refused',
          },
          RANGE_HEADER,
        ],
        responses: {
          '200': {
            description: 'the whole file (Accept-Ranges: bytes)',
            content: CAPTURE_FILE_CONTENT,
          },
          '206': {
            description: 'the range asked (Content-Range: bytes first-last/size)',
            content: CAPTURE_FILE_CONTENT,
          },
          ...errors('PCAPD_ERR_PATH_INVALID', 'PCAPD_ERR_FILE_NOT_FOUND', 'PCAPD_ERR_RANGE_NOT_SATISFIABLE'),
        },
      },
    },
    '/interfaces': {
      get: {
        operationId: 'listInterfaces',
        summary: 'Capturable interfaces, the configured aliases, and the warm interfaces with their rings',
        responses: {
          '200': json('interfaces', {
            type: 'object',
            required: ['interfaces', 'aliases', 'warm'],
            properties: { interfaces: { type: 'array' }, aliases: { type: 'array' }, warm: { type: 'array' } },
          }),
          ...errors('PCAPD_ERR_DEVICE_LIST'),
        },
      },
    },
    '/stats': {
      get: {
        operationId: 'getStats',
        summary: 'Version, uptime, capture permission, scheduler, warm interfaces, native capture objects',
        responses: {
          '200': json('statistics', {
            type: 'object',
            required: ['version', 'uptimeSeconds', 'scheduler', 'capture', 'warm', 'native'],
            properties: {
              version: { type: 'string' },
              uptimeSeconds: { type: 'integer' },
              scheduler: { type: 'object' },
              capture: { type: 'object' },
              warm: { type: 'array' },
              native: { type: 'object' },
            },
          }),
          ...errors(),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (README: metrics)',
        responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors() },
      },
    },
    '/schema/request': {
      get: {
        operationId: 'getRequestSchema',
        summary: 'The capture request JSON Schema',
        responses: { '200': json('JSON Schema (draft 2020-12)', { type: 'object' }), ...errors() },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        responses: { '200': json('OpenAPI 3.1', { type: 'object' }), ...errors() },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness, and whether pcapd may capture; never needs a token',
        security: [],
        responses: { '200': json('alive', ref('Health')), '500': json('PCAPD_ERR_INTERNAL', ref('Error')) },
      },
    },
  };
}

/** The document; the API builds it once and serves the same text to every GET. */
export function openApiDocument(version: string): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'pcapd',
      version,
      description: 'Message-triggered packet capture: submit, follow, cancel and download captures. Every error is {"error": {"code", "message"}}.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    // A token is needed only when http.token is set.
    security: [{}, { bearer: [] }],
    paths: paths(),
    components: {
      schemas: SCHEMAS,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'http.token, when it is set' } },
    },
  };
}
