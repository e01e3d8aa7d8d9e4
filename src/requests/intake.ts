/**
 * The single entry for every listener: raw message in, decision out. Parses
 * and validates (parseRequest), counts and logs every outcome with its stable
 * code, and submits accepted jobs to the scheduler. Listener-specific details
 * never get past this point.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';

import { listDevices } from '../capture/devices.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errorCodeOf, errorMessage, type ErrorCode } from '../errors.js';
import type { IntakeResult, RawRequest } from './intake-contract.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { REQUEST_ID_PATTERN } from '../model/request.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { eveMessageOf, messageKindOf } from './eve-message.js';
import { parseRequest } from './parse.js';
import { requestObjectOf } from './signature.js';

/** Rejections whose body cannot be trusted to say its own id or reply. */
const UNREADABLE: ReadonlySet<ErrorCode> = new Set([
  'PCAPD_ERR_REQUEST_TOO_LARGE',
  'PCAPD_ERR_REQUEST_JSON',
  'PCAPD_ERR_REQUEST_UNSIGNED',
  'PCAPD_ERR_SIGNATURE_INVALID',
]);
/** Untrusted bodies are logged only this far, under a fixed key. */
const LOGGED_BODY_CHARS = 512;
/**
 * libpcap's device list (which also has pseudo-devices such as "any" and
 * "nflog") is re-read at most this often: a flood of requests naming unknown
 * interfaces must not become a flood of pcap_findalldevs calls. A network
 * interface created since is found through /sys/class/net at the cost of one
 * stat.
 */
const DEVICE_CACHE_MS = 5_000;

export interface IntakeDeps {
  config(): Config;
  node(): string;
  scheduler: Scheduler;
  log: Log;
  metrics: Metrics;
  clock: Clock;
}

export class Intake {
  private readonly deps: IntakeDeps;
  private devices = new Set<string>();
  private devicesReadAtMs = Number.NEGATIVE_INFINITY;

  constructor(deps: IntakeDeps) {
    this.deps = deps;
  }

  readonly handle = async (raw: RawRequest): Promise<IntakeResult> => {
    const { metrics, log } = this.deps;
    metrics.requestsReceived.inc({ source: raw.source });
    let body = raw.body;
    try {
      const config = this.deps.config();
      if (messageKindOf(config, raw.source) === 'eve') {
        const message = eveMessageOf(raw.body, config.general.maxrequestbytes);
        if (message.kind === 'other') {
          metrics.eveIgnored.inc({ source: raw.source, event_type: message.eventType });
          return { kind: 'ignored', why: 'not-an-alert' };
        }
        body = message.body;
      }
      const parsed = parseRequest(body, {
        config,
        node: this.deps.node(),
        source: raw.source,
        clock: this.deps.clock,
        interfaceExists: (name) => this.interfaceExists(name),
        newId: () => randomUUID(),
      });
      if (parsed.kind === 'ignored') {
        metrics.requestsIgnored.inc({ source: raw.source });
        log.debug({ source: raw.source }, 'request for another node ignored');
        return { kind: 'ignored', why: parsed.why };
      }
      const { job } = parsed;
      if (job.logRequest) log.info({ reqId: job.id, source: raw.source, request: job.request }, 'request received');
      if (job.notes !== undefined) log.info({ reqId: job.id, notes: job.notes }, 'request fields ignored');
      for (const clamp of job.clamps) {
        metrics.limitsClamped.inc({ field: clamp.field });
        log.info({ reqId: job.id, ...clamp }, 'request limit clamped to the configured maximum');
      }
      const submitted = this.deps.scheduler.submit(job);
      if (submitted.kind === 'duplicate') {
        metrics.requestsDuplicate.inc({ source: raw.source });
        log.info({ reqId: job.id, source: raw.source }, 'duplicate request id: already captured or capturing');
        return submitted;
      }
      if (submitted.kind === 'merged') {
        metrics.flowAlertsMerged.inc({ source: raw.source });
        log.info(
          { reqId: submitted.id, source: raw.source, flow: job.flow?.description, signatureId: job.flow?.alert.signature?.id },
          'alert merged into the capture of its flow',
        );
        return submitted;
      }
      metrics.requestsAccepted.inc({ source: raw.source });
      // The result publisher sends the outcome where the request asked.
      if (job.reply === undefined) return submitted;
      const { replyon } = job.request;
      return replyon === undefined ? { ...submitted, reply: job.reply } : { ...submitted, reply: job.reply, replyOn: replyon };
    } catch (err: unknown) {
      return this.rejected(raw, body, err);
    }
  };

  /**
   * A refused request, with its id and reply when the body is readable, so
   * the result publisher can answer without parsing untrusted text again.
   * An error without a code is a bug in pcapd, not a bad request: it is
   * logged at error level with its stack and counted as PCAPD_ERR_INTERNAL.
   */
  private rejected(raw: RawRequest, body: string | Buffer, err: unknown): Extract<IntakeResult, { kind: 'rejected' }> {
    const { metrics, log } = this.deps;
    const known = errorCodeOf(err);
    const code = known ?? 'PCAPD_ERR_INTERNAL';
    const message = known === undefined ? `internal error while reading the request: ${errorMessage(err)}` : errorMessage(err);
    metrics.requestsRejected.inc({ source: raw.source, reason: code });
    if (known === undefined) {
      metrics.internalErrors.inc({ where: 'intake' });
      log.error({ source: raw.source, code, err, untrusted: preview(raw.body) }, 'request rejected: internal error');
    } else {
      log.warn({ source: raw.source, code, reason: message, untrusted: preview(raw.body) }, 'request rejected');
    }
    const request = UNREADABLE.has(code) ? undefined : requestObjectOf(body);
    const id = request?.['id'];
    const reply = request?.['reply'];
    return {
      kind: 'rejected',
      code,
      message,
      ...(typeof id === 'string' && REQUEST_ID_PATTERN.test(id) ? { id } : {}),
      ...(typeof reply === 'string' ? { reply } : {}),
    };
  }

  private interfaceExists(name: string): boolean {
    const now = this.deps.clock.nowMs();
    if (now - this.devicesReadAtMs > DEVICE_CACHE_MS) {
      this.devices = new Set(listDevices().map((device) => device.name));
      this.devicesReadAtMs = now;
    }
    return this.devices.has(name) || isNetworkInterface(name);
  }
}

function isNetworkInterface(name: string): boolean {
  // Names with a slash or dot-only names would walk out of /sys/class/net.
  if (name.includes('/') || name === '.' || name === '..') return false;
  return existsSync(`/sys/class/net/${name}`);
}

function preview(body: string | Buffer): string {
  const text = typeof body === 'string' ? body : body.subarray(0, LOGGED_BODY_CHARS * 4).toString('utf8');
  return text.length > LOGGED_BODY_CHARS ? `${text.slice(0, LOGGED_BODY_CHARS)}…` : text;
}
