/**
 * The Cloudshark sink: each capture file POSTed to Cloudshark's upload API,
 *   POST <scheme>://<host>[:<port>]/api/v1/<token>/upload
 * as multipart/form-data (undici's FormData, sent with undici's request()): `file`, `filename`
 * and `additional_tags`, the tags pcapdaemon sent: customer:X, alertid:N,
 * the request's tags, alias:Y, node:H, interface:I, snaplength:S. Cloudshark
 * answers {"filename", "id"}; the id is recorded and the capture's page,
 * <origin>/captures/<id>, is the delivery's location.
 *
 * FormData needs the file as a Blob, which copies the capture's chunks once
 * more into memory while the upload runs (as large as general.maxbytes).
 *
 * pcapdaemon skipped TLS certificate checks; pcapd checks them, against
 * cloudshark.cafile when an appliance has its own CA.
 *
 * Errors become SinkError PCAPD_ERR_SINK_CLOUDSHARK, retriable for network
 * errors, timeouts, 5xx, 408 and 429; not for other 4xx (a wrong token, a
 * file Cloudshark refuses).
 */
import { readFileSync } from 'node:fs';

import { Agent, FormData, request } from 'undici';

import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errnoCode, errorMessage, SinkError } from '../errors.js';
import { readJsonObject } from '../json.js';
import type { Log } from '../log/logger.js';
import type { Sink } from './sink.js';
import { CONTENT_TYPES, type DeliverableFile, type Delivery, type FinishedCapture } from '../model/finished-capture.js';

type CloudsharkSettings = Config['cloudshark'];

export interface CloudsharkSinkOptions {
  settings: CloudsharkSettings;
  log: Log;
  clock?: Clock;
}

/** Longest error body quoted in a message. */
const MAX_QUOTED_BODY_CHARS = 300;

/** scheme://host[:port], the port left out when it is 0 (the scheme's default). */
export function cloudsharkOrigin(settings: Pick<CloudsharkSettings, 'scheme' | 'host' | 'port'>): string {
  const host = settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host;
  return `${settings.scheme}://${host}${settings.port === 0 ? '' : `:${settings.port}`}`;
}

/** A tag value: Cloudshark splits additional_tags at commas, so a value must not carry one. */
function tagValue(value: string): string {
  return value.replace(/[,\s]+/gu, '_');
}

/** additional_tags as pcapdaemon built them (capture.go), for one file of the capture. */
export function cloudsharkTags(capture: FinishedCapture, file: DeliverableFile): string {
  const { job } = capture;
  const tags: string[] = [];
  if (job.customer !== undefined && job.customer !== '') tags.push(`customer:${tagValue(job.customer)}`);
  if (job.alertid !== undefined) tags.push(`alertid:${tagValue(String(job.alertid))}`);
  tags.push(...job.tags.map(tagValue));
  const aliases = new Set(
    job.interfaces.filter((iface) => file.interfaces.includes(iface.name) && iface.alias !== undefined).map((iface) => iface.alias ?? ''),
  );
  for (const alias of aliases) tags.push(`alias:${tagValue(alias)}`);
  tags.push(`node:${tagValue(job.node)}`, `interface:${tagValue(file.interfaces.join('+'))}`, `snaplength:${job.snaplenBytes}`);
  return tags.join(',');
}

function statusRetriable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Cloudshark's error answer: {"status": …, "exceptions": ["…"]}; anything else is quoted, shortened. */
function errorDetail(body: string): string {
  const exceptions = readJsonObject(body)?.['exceptions'];
  if (Array.isArray(exceptions)) return exceptions.map(String).join('; ');
  return body.length > MAX_QUOTED_BODY_CHARS ? `${body.slice(0, MAX_QUOTED_BODY_CHARS)}…` : body;
}

function uploadAnswer(body: string): { id?: string; filename?: string } {
  const parsed = readJsonObject(body) ?? {};
  const answer: { id?: string; filename?: string } = {};
  const { id, filename } = parsed;
  if (typeof id === 'string' || typeof id === 'number') answer.id = String(id);
  if (typeof filename === 'string') answer.filename = filename;
  return answer;
}

export class CloudsharkSink implements Sink {
  readonly name = 'cloudshark';
  readonly #settings: CloudsharkSettings;
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #agent: Agent;
  readonly #origin: string;

  constructor(options: CloudsharkSinkOptions) {
    this.#settings = options.settings;
    this.#log = options.log.child({ component: 'sink', sink: 'cloudshark' });
    this.#clock = options.clock ?? systemClock;
    this.#origin = cloudsharkOrigin(options.settings);
    // Read once here, so a missing CA file stops pcapd at start (or a reload), not at the first upload.
    const ca = options.settings.cafile === undefined ? undefined : readFileSync(options.settings.cafile);
    this.#agent = new Agent(ca === undefined ? {} : { connect: { ca } });
  }

  async deliver(capture: FinishedCapture): Promise<Delivery> {
    const log = this.#log.child({ reqId: capture.job.id });
    const locations: string[] = [];
    const ids: string[] = [];
    for (const file of capture.files) {
      const startMs = this.#clock.nowMs();
      const id = await this.#upload(capture, file);
      const location = id === undefined ? `${this.#origin}/captures` : `${this.#origin}/captures/${encodeURIComponent(id)}`;
      log.info({ id, location, bytes: file.bytes, durationMs: this.#clock.nowMs() - startMs }, 'Cloudshark upload done');
      locations.push(location);
      ids.push(id ?? '');
    }
    return { sink: this.name, locations, ids };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** The upload URL without the token, for messages: the token is a secret. */
  #safeUrl(): string {
    return `${this.#origin}/api/v1/***/upload`;
  }

  async #upload(capture: FinishedCapture, file: DeliverableFile): Promise<string | undefined> {
    const form = new FormData();
    form.append('file', new Blob([...file.chunks], { type: CONTENT_TYPES[file.format] }), file.name);
    form.append('filename', file.name);
    form.append('additional_tags', cloudsharkTags(capture, file));
    const url = `${this.#origin}/api/v1/${encodeURIComponent(this.#settings.token)}/upload`;
    const timeoutMs = this.#settings.timeout * 1000;
    let status: number;
    let body: string;
    try {
      // request(), not fetch(): fetch refuses the "bad ports" of the Fetch standard (6000, 6665–6669…),
      // where an appliance may well listen.
      const response = await request(url, {
        method: 'POST',
        body: form,
        dispatcher: this.#agent,
        ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      });
      status = response.statusCode;
      body = await response.body.text();
    } catch (err: unknown) {
      const errno = errnoCode(err);
      const code = errno === undefined ? '' : ` (${errno})`;
      throw new SinkError('PCAPD_ERR_SINK_CLOUDSHARK', this.name, `upload of ${file.name} to ${this.#safeUrl()} failed${code}: ${errorMessage(err)}`, {
        retriable: true,
        cause: err,
      });
    }
    if (status < 200 || status > 299) {
      throw new SinkError(
        'PCAPD_ERR_SINK_CLOUDSHARK',
        this.name,
        `upload of ${file.name} to ${this.#safeUrl()} answered HTTP ${status}: ${errorDetail(body)}`,
        {
          retriable: statusRetriable(status),
        },
      );
    }
    const answer = uploadAnswer(body);
    // 2xx means Cloudshark stored it: retrying for a missing id would upload a duplicate.
    if (answer.id === undefined) this.#log.warn({ reqId: capture.job.id, status, file: file.name }, 'Cloudshark stored the upload but returned no capture id');
    return answer.id;
  }
}
