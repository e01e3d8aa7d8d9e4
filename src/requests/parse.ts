/**
 * parseRequest(): one raw message from any listener -> a CaptureJob for this
 * node, `ignored` when it targets another node, or a PcapdError with a stable
 * code. Everything is checked before anything is opened: pcapdaemon crashed
 * or leaked handles on requests it should have refused up front.
 */
import { validateFilter } from '../capture/devices.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import type { CaptureJob } from '../model/job.js';
import { buildJob } from './build-job.js';
import { quoteFlowIds } from './eve-message.js';
import { checkFilterSize } from './filter-size.js';
import { checkFolder } from './folder.js';
import { flowInterfaceChoice, flowNodeTarget, flowRequestOf } from './flow-request.js';
import { checkFreshness } from './freshness.js';
import { interfaceChoiceOf, resolveInterfaces } from './interfaces.js';
import { matchesNode, nodeTargetOf } from './node-match.js';
import { checkReply } from './reply-destination.js';
import { checkS3Overrides } from './s3-fields.js';
import { checkSignedFreshness, openRequest } from './signature.js';
import { validateRequest } from './validate-request.js';

export interface ParseContext {
  config: Config;
  /** This node's name, matched by node / nodere. */
  node: string;
  /** The listener that delivered the message: "http", "redis", "kafka", "sqs". */
  source: string;
  clock: Clock;
  interfaceExists(name: string): boolean;
  newId(): string;
}

export type ParseResult = { kind: 'accepted'; job: CaptureJob } | { kind: 'ignored'; why: 'other-node' };

/** Throws PcapdError when the request is refused. */
export function parseRequest(body: string | Buffer, ctx: ParseContext): ParseResult {
  const { config } = ctx;
  const nowMs = ctx.clock.nowMs();
  const opened = openRequest(requestObject(decodeBody(body, config.general.maxrequestbytes)), config.signing, requestObject);
  const request = validateRequest(opened.raw);
  if (opened.signed) checkSignedFreshness(request, config.signing.window, nowMs);
  const flowRequest = flowRequestOf(request, config);
  const alert = flowRequest?.flow.alert;
  const target = alert === undefined ? nodeTargetOf(request) : flowNodeTarget(request, alert, config);
  const interfaceExists = ctx.interfaceExists.bind(ctx);
  // A request that names no interface is refused whichever node it targets.
  if (alert === undefined) interfaceChoiceOf(request);
  if (!matchesNode(target, ctx.node)) return { kind: 'ignored', why: 'other-node' };
  checkFreshness(request.timestamp, config.general.staleafter, nowMs);
  const choice = alert === undefined ? interfaceChoiceOf(request) : flowInterfaceChoice(request, alert, config, interfaceExists);
  const { interfaces, skipped } = resolveInterfaces(choice, config, interfaceExists);
  const filter = flowRequest?.filter ?? request.bpf ?? '';
  checkFilterSize(filter);
  validateFilter(filter);
  // pcapdaemon clients send "" for "no folder" (Go's zero value).
  const folder = request.folder === undefined || request.folder === '' ? undefined : checkFolder(request.folder);
  checkS3Overrides(request, config);
  if (request.reply !== undefined) checkReply(request.reply, config);
  else if (request.replyon !== undefined) {
    throw new PcapdError('PCAPD_ERR_REPLY_INVALID', '/replyon: says which events go to reply, and the request has no reply');
  }
  return { kind: 'accepted', job: buildJob({ request, ctx, nowMs, interfaces, skipped, filter, folder, flow: flowRequest?.flow }) };
}

// Size and encoding first: nothing larger than maxrequestbytes is parsed.

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeBody(body: string | Buffer, maxBytes: number): string {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (bytes > maxBytes) {
    throw new PcapdError('PCAPD_ERR_REQUEST_TOO_LARGE', `the request is ${bytes} bytes; general.maxrequestbytes allows ${maxBytes}`);
  }
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch (err: unknown) {
    throw new PcapdError('PCAPD_ERR_REQUEST_JSON', 'the request is not valid UTF-8 (JSON must be UTF-8)', {
      cause: err,
    });
  }
}

function requestObject(text: string): Record<string, unknown> {
  return parseJsonObject(quoteFlowIds(text), 'the request');
}
