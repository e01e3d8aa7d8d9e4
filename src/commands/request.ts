/**
 * `pcapd request`: what alert hooks call. Builds a capture request from flags
 * or a JSON file, validates it here with the daemon's own parser, publishes it
 * through a configured listener and, with --wait, prints the result event(s).
 *
 * stdout carries only JSON (the sent request without --wait, else one result
 * event per line); what happened is told on stderr.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import pino from 'pino';

import { validateFilter } from '../capture/devices.js';
import { systemClock } from '../clock.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { errorCodeOf, errorMessage, PcapdError } from '../errors.js';
import { parseJsonObject, readJsonObject } from '../json.js';
import { quoteFlowIds } from '../requests/eve-message.js';
import { checkFolder } from '../requests/folder.js';
import { parseRequest } from '../requests/parse.js';
import { checkReply } from '../requests/reply-destination.js';
import { checkS3Overrides } from '../requests/s3-fields.js';
import type { CaptureRequest } from '../model/request.js';
import { signRequestText } from '../requests/signature.js';
import { parseDestination } from '../requests/reply-destination.js';
import { parseRequestArgs, REQUEST_USAGE, usageError, type RequestArgs, type Via, type WaitFor } from './request-args.js';
import { createTransport, type RequestTransport } from './request-transports.js';

const BROKER_VIAS = ['redis', 'kafka', 'sqs'] as const satisfies readonly Via[];

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface RequestCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  defaultConfigPath(): string;
}

export async function requestCommand(argv: readonly string[], io: RequestCommandIo): Promise<number> {
  const say = (line: string): void => void io.stderr.write(`pcapd request: ${line}\n`);
  let args: RequestArgs;
  try {
    args = parseRequestArgs(argv);
  } catch (err: unknown) {
    say(errorMessage(err));
    return EXIT_USAGE;
  }
  if (args.help) {
    io.stdout.write(`${REQUEST_USAGE}\n`);
    return EXIT_OK;
  }
  try {
    return await run(args, io, say);
  } catch (err: unknown) {
    say(errorMessage(err));
    return errorCodeOf(err) === 'PCAPD_ERR_USAGE' ? EXIT_USAGE : EXIT_FAILED;
  }
}

async function run(args: RequestArgs, io: RequestCommandIo, say: (line: string) => void): Promise<number> {
  const config = await loadConfigFile(args.configPath ?? io.defaultConfigPath());
  const via = args.via ?? defaultVia(config);
  const request = await buildRequest(args, io.stdin);
  const rejection = validateLocally(request, via, config, say);
  if (rejection !== undefined) {
    say(`refused here, not sent: ${rejection.code}: ${rejection.message}`);
    return EXIT_FAILED;
  }
  if (args.dryRun) {
    io.stdout.write(`${JSON.stringify(request)}\n`);
    return EXIT_OK;
  }
  // kafkajs logs to stderr, warnings only: stdout is for JSON.
  const log = pino({ level: 'warn', base: null }, pino.destination(2));
  const transport = createTransport(via, config, log, args.url === undefined ? {} : { url: args.url });
  try {
    return await send(transport, request, args, via, io, say, (sent) => wireText(sent, config));
  } finally {
    await transport.close();
  }
}

async function send(
  transport: RequestTransport,
  request: CaptureRequest,
  args: RequestArgs,
  via: Via,
  io: RequestCommandIo,
  say: (line: string) => void,
  encode: (request: CaptureRequest) => string,
): Promise<number> {
  const waitOnReply = args.wait && via !== 'http';
  if (waitOnReply) {
    if (request.reply === undefined) request.reply = await transport.openReply();
    else await transport.listenOn(request.reply);
    // The node says when the capture records, on the reply destination alone.
    if (args.waitFor === 'armed') request.replyon = ['armed'];
  }
  const deadlineMs = Date.now() + args.waitTimeoutSeconds * 1000;
  const report = await transport.send(encode(request), args.wait ? { waitSeconds: args.waitTimeoutSeconds, until: args.waitFor } : undefined);
  say(report.message);
  const ok = (event: unknown): boolean => succeeded(event, args.waitFor);
  for (const event of report.events ?? []) io.stdout.write(`${JSON.stringify(event)}\n`);
  if (!report.ok) return EXIT_FAILED;
  if (report.events !== undefined) return report.events.every(ok) ? EXIT_OK : EXIT_FAILED;
  if (!args.wait) {
    io.stdout.write(`${JSON.stringify(request)}\n`);
    return EXIT_OK;
  }
  return waitForEvents(transport, request.id ?? '', args.expect, deadlineMs, io, say, ok);
}

async function waitForEvents(
  transport: RequestTransport,
  id: string,
  expect: number,
  deadlineMs: number,
  io: RequestCommandIo,
  say: (line: string) => void,
  ok: (event: unknown) => boolean,
): Promise<number> {
  let received = 0;
  let allOk = true;
  while (received < expect) {
    const text = await transport.nextEvent(deadlineMs);
    if (text === undefined) {
      say(`PCAPD_ERR_WAIT_TIMEOUT: ${received} of ${expect} result event(s) arrived within --wait-timeout`);
      return EXIT_FAILED;
    }
    const event = readJsonObject(text);
    // A shared reply destination carries other requests' events too.
    if (event === undefined || event['id'] !== id) continue;
    received += 1;
    allOk &&= ok(event);
    io.stdout.write(`${JSON.stringify(event)}\n`);
  }
  return allOk ? EXIT_OK : EXIT_FAILED;
}

// ---- building and checking ----

/**
 * The only broker listener the config enables; else the HTTP API when it is
 * the only listener. A sensor's config usually has the API on beside one
 * broker, and the broker is what reaches every node.
 */
/**
 * The bytes sent: the request's JSON, inside a signed envelope when [signing]
 * has a secret (the first: the newest, during a rotation).
 */
function wireText(request: CaptureRequest, config: Config): string {
  const text = JSON.stringify(request);
  const [secret] = config.signing.secrets;
  return secret === undefined ? text : signRequestText(text, secret);
}

function defaultVia(config: Config): Via {
  const brokers = BROKER_VIAS.filter((via) => config[via].listen);
  if (brokers.length === 1 && brokers[0] !== undefined) return brokers[0];
  if (brokers.length === 0 && config.http.listen) return 'http';
  const which = brokers.length === 0 ? 'none is enabled' : `${brokers.join(', ')} are enabled`;
  throw usageError(`say which listener to send through with --via (${which} in the configuration)`);
}

async function buildRequest(args: RequestArgs, stdin: NodeJS.ReadableStream): Promise<CaptureRequest> {
  const fromFile = args.file === undefined ? {} : await readRequestFile(args.file, stdin);
  const request = { ...fromFile, ...args.fields } as Record<string, unknown>;
  if (args.eveFile !== undefined) request['eve'] = await readEveLine(args.eveFile, stdin);
  if (isObject(fromFile['segment']) && isObject(args.fields['segment'])) {
    request['segment'] = { ...fromFile['segment'], ...args.fields['segment'] };
  }
  // An id to find the result event by; a timestamp so a request stuck in a
  // queue is dropped as stale rather than captured an hour late.
  request['id'] ??= `req-${randomUUID()}`;
  request['timestamp'] ??= new Date().toISOString();
  return request;
}

/** A file's text, or standard input's for "-"; a usage error when it cannot be read. */
async function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  try {
    return path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw usageError(`cannot read ${path}: ${errorMessage(err)}`);
  }
}

async function readRequestFile(path: string, stdin: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  const text = await readInput(path, stdin);
  return parseJsonObject(text, path);
}

/** One EVE line; flow_id keeps its digits (JSON numbers above 2^53 would be rounded). */
async function readEveLine(path: string, stdin: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  const text = await readInput(path, stdin);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== 1) {
    throw usageError(`--eve ${path} must hold exactly one EVE line, it has ${lines.length} (pick one: grep '"event_type":"alert"' eve.json | head -1)`);
  }
  const event = readJsonObject(quoteFlowIds(lines[0] ?? ''));
  if (event === undefined) throw new PcapdError('PCAPD_ERR_REQUEST_JSON', `${path} must hold one EVE line: a JSON object`);
  return event;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The daemon's own parser, run here with this config. What only the
 * capturing node knows is not checked: whether its interfaces exist, and
 * whether it enables the listener a reply names.
 */
function validateLocally(request: CaptureRequest, via: Via, config: Config, say: (line: string) => void): { code: string; message: string } | undefined {
  const anyListener: Config = {
    ...config,
    redis: { ...config.redis, listen: true },
    kafka: { ...config.kafka, listen: true },
    sqs: { ...config.sqs, listen: true },
  };
  try {
    const parsed = parseRequest(wireText(request, config), {
      config: anyListener,
      node: request.node ?? 'pcapd-request',
      source: via,
      clock: systemClock,
      // Interface names exist (or not) on the capturing node; they are checked there.
      interfaceExists: () => true,
      newId: () => request.id ?? '',
    });
    if (parsed.kind === 'ignored') {
      // A nodere request: the checks after the node match, done one by one.
      validateFilter(request.bpf ?? '');
      if (request.folder !== undefined && request.folder !== '') checkFolder(request.folder);
      checkS3Overrides(request, config);
      if (request.reply !== undefined) checkReply(request.reply, anyListener);
    } else {
      for (const clamp of parsed.job.clamps) {
        say(`note: ${clamp.field} ${clamp.requested} is above this configuration's maximum; a node configured alike captures with ${clamp.applied}`);
      }
    }
  } catch (err: unknown) {
    return { code: errorCodeOf(err) ?? 'PCAPD_ERR_REQUEST_INVALID', message: errorMessage(err) };
  }
  if (request.interface !== undefined) say('note: interface names are checked by the capturing node, not here');
  if (request.reply !== undefined && typeof parseDestination(request.reply) !== 'string') {
    say(`note: result events go to ${request.reply} if the capturing node enables that listener`);
  }
  return undefined;
}

/** --wait: delivered without error; --wait=armed: recording. */
function succeeded(event: unknown, waitFor: WaitFor): boolean {
  if (!isObject(event)) return false;
  if (waitFor === 'armed') return event['state'] === 'capturing';
  return event['state'] === 'done' && event['error'] === undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
