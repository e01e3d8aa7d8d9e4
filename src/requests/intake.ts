/**
 * The single entry for every listener: raw message in, decision out. Parses
 * and validates (parseRequest), counts and logs every outcome with its stable
 * code, and submits accepted jobs to the scheduler. Listener-specific details
 * never get past this point.
 */
import { randomUUID } from 'node:crypto';

import { listDevices } from '../capture/devices.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errorCodeOf, errorMessage } from '../errors.js';
import type { IntakeResult, RawRequest } from '../listeners/listener.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { parseRequest } from './parse.js';

/** Untrusted bodies are logged only this far, under a fixed key. */
const LOGGED_BODY_CHARS = 512;
/** Interface names are re-read this often, and on a miss at most once a second (a flood of unknown names must not turn into a flood of pcap_findalldevs calls). */
const DEVICE_CACHE_MS = 5_000;
const DEVICE_MISS_REFRESH_MS = 1_000;

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
    try {
      const parsed = parseRequest(raw.body, {
        config: this.deps.config(),
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
      metrics.requestsAccepted.inc({ source: raw.source });
      return submitted;
    } catch (err: unknown) {
      const code = errorCodeOf(err) ?? 'PCAPD_ERR_REQUEST_INVALID';
      const message = errorMessage(err);
      metrics.requestsRejected.inc({ source: raw.source, reason: code });
      log.warn({ source: raw.source, code, reason: message, untrusted: preview(raw.body) }, 'request rejected');
      return { kind: 'rejected', code, message };
    }
  };

  private interfaceExists(name: string): boolean {
    const now = this.deps.clock.nowMs();
    const age = now - this.devicesReadAtMs;
    if (age > DEVICE_CACHE_MS || (!this.devices.has(name) && age > DEVICE_MISS_REFRESH_MS)) {
      this.devices = new Set(listDevices().map((device) => device.name));
      this.devicesReadAtMs = now;
    }
    return this.devices.has(name);
  }
}

function preview(body: string | Buffer): string {
  const text = typeof body === 'string' ? body : body.subarray(0, LOGGED_BODY_CHARS * 4).toString('utf8');
  return text.length > LOGGED_BODY_CHARS ? `${text.slice(0, LOGGED_BODY_CHARS)}…` : text;
}
