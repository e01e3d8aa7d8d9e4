/**
 * The limits a capture runs with: what the request asked, defaulted where it
 * left a limit out (or sent 0, pcapdaemon's "unset"), and clamped to the
 * configured maxima; every clamp is recorded for the log, the metrics and
 * the result. Lookback is clamped further to what the warm ring keeps.
 */
import type { Config } from '../config/schema.js';
import { warmEntryOf } from '../config/warm.js';
import { PcapdError } from '../errors.js';
import type { Clamp, JobFlow, JobInterface, JobLimits } from '../model/job.js';
import type { CaptureRequest } from '../model/request.js';
import { flowLookbackSeconds } from './flow-request.js';

interface LimitRule {
  field: Clamp['field'];
  /** Used when the request leaves the limit out or sends 0 (pcapdaemon semantics). */
  fallback: number;
  max: number;
}

export function applyLimit(requested: number | undefined, rule: LimitRule, clamps: Clamp[]): number {
  // A default above its maximum is a config inconsistency, not the request's doing: no clamp recorded.
  if (requested === undefined || requested === 0) return Math.min(rule.fallback, rule.max);
  if (requested <= rule.max) return requested;
  clamps.push({ field: rule.field, requested, applied: rule.max });
  return rule.max;
}

export function limitsOf(request: CaptureRequest, general: Config['general']): { limits: JobLimits; snaplenBytes: number; clamps: Clamp[] } {
  const clamps: Clamp[] = [];
  const limit = (requested: number | undefined, field: Clamp['field'], fallback: number, max: number): number =>
    applyLimit(requested, { field, fallback, max }, clamps);
  const g = general;
  const limits: JobLimits = {
    packets: limit(request.packets, 'packets', g.maxpackets, g.maxpackets),
    bytes: limit(request.bytes, 'bytes', g.maxbytes, g.maxbytes),
    durationSeconds: limit(request.duration, 'duration', g.maxduration, g.maxduration),
    timeoutSeconds: limit(request.timeout, 'timeout', g.defaulttimeout, g.maxtimeout),
    segmentSeconds: request.segment?.seconds ?? 0,
    segmentBytes: request.segment?.bytes ?? 0,
    lookbackSeconds: 0,
  };
  const snaplenBytes = limit(request.snap, 'snap', g.snaplength, g.maxsnaplength);
  return { limits, snaplenBytes, clamps };
}

/**
 * Lookback is served from a warm interface's ring: a request for it must name
 * exactly one interface, and that one warm. It is clamped to
 * general.maxlookback and to what the ring keeps (lookbackseconds). A flow
 * capture that asks none starts back at its flow's start where a ring is.
 */
export function lookbackOf(
  request: CaptureRequest,
  interfaces: readonly JobInterface[],
  flow: JobFlow | undefined,
  config: Config,
  nowMs: number,
  clamps: Clamp[],
): number {
  const asked = request.lookback ?? 0;
  if (asked === 0 && flow === undefined) return 0;
  const [only] = interfaces;
  const warm = interfaces.length === 1 && only !== undefined ? warmEntryOf(config, only.name) : undefined;
  if (asked === 0) return warm === undefined || flow === undefined ? 0 : flowLookbackSeconds(flow.alert, config, nowMs, warm.lookbackseconds);
  if (warm === undefined) {
    const named = interfaces.map((iface) => iface.name).join(', ');
    throw new PcapdError(
      'PCAPD_ERR_LOOKBACK_NOT_WARM',
      interfaces.length === 1
        ? `/lookback: interface ${named} is not warm, so no packets from before the request are kept (mark it warm in an [[interface]] block)`
        : `/lookback: needs exactly one warm interface, the request names ${interfaces.length} (${named})`,
    );
  }
  return applyLimit(asked, { field: 'lookback', fallback: 0, max: Math.min(config.general.maxlookback, warm.lookbackseconds) }, clamps);
}
