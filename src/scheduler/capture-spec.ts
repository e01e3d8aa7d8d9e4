/** Turns a validated CaptureJob into the native capture's spec. */
import type { CaptureSpec } from '../capture/capture.js';
import type { WarmInterfaces } from '../capture/warm-interfaces.js';
import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import type { CaptureJob } from '../model/job.js';
import { flowCommentLines, flowOutcomeOf } from './flow-captures.js';

export type WarmReaders = Pick<WarmInterfaces, 'readerFor'>;

/**
 * The pcapng section comment: what a person opening the file in Wireshark
 * sees first, so it says why the file exists.
 */
export function sectionComment(job: CaptureJob): string {
  const lines = [`pcapd capture ${job.id}`, `node: ${job.node}`, `requested: ${job.receivedAt.toISOString()} via ${job.source}`];
  if (job.alertid !== undefined) lines.push(`alertid: ${job.alertid}`);
  if (job.customer !== undefined) lines.push(`customer: ${job.customer}`);
  if (job.tags.length > 0) lines.push(`tags: ${job.tags.join(',')}`);
  const aliases = job.interfaces.filter((i) => i.alias !== undefined).map((i) => `${i.alias}=${i.name}`);
  if (aliases.length > 0) lines.push(`aliases: ${aliases.join(',')}`);
  lines.push(`bpf: ${job.filter === '' ? '(none)' : job.filter}`);
  const flow = flowOutcomeOf(job);
  if (flow !== undefined) lines.push(...flowCommentLines(flow));
  return lines.join('\n');
}

export function captureSpec(job: CaptureJob, config: Config): CaptureSpec {
  return {
    interfaces: job.interfaces.map((iface) => (iface.alias === undefined ? { name: iface.name } : { name: iface.name, description: `alias ${iface.alias}` })),
    filter: job.filter,
    snaplenBytes: job.snaplenBytes,
    format: job.format,
    promiscuous: config.general.promiscuous,
    bufferBytes: config.general.bufferbytes,
    comment: sectionComment(job),
    packetDebug: job.packetDebug,
    maxSummaryLines: config.general.packetdebuglines,
    limits: {
      packets: job.limits.packets,
      bytes: job.limits.bytes,
      durationMs: job.limits.durationSeconds * 1000,
      idleMs: job.limits.timeoutSeconds * 1000,
      segmentBytes: job.limits.segmentBytes,
      segmentMs: job.limits.segmentSeconds * 1000,
    },
    ...(job.flow === undefined ? {} : { flow: { tcpClose: job.flow.tcpClose, idleMs: job.flow.idleSeconds * 1000 } }),
  };
}

/**
 * A capture on exactly one warm interface that is up attaches to its reader
 * (no ring to build, lookback served); every other capture opens its own
 * handles. Lookback has only the warm path: while the interface is down
 * (reopened with backoff) there is no ring to serve it from.
 */
export function withWarmReader(spec: CaptureSpec, job: CaptureJob, warm: WarmReaders | undefined): CaptureSpec {
  const [only] = job.interfaces;
  const reader = job.interfaces.length === 1 && only !== undefined ? warm?.readerFor(only.name) : undefined;
  if (reader !== undefined) return { ...spec, warm: reader, lookbackMs: job.limits.lookbackSeconds * 1000 };
  if (job.limits.lookbackSeconds > 0) {
    throw new PcapdError(
      'PCAPD_ERR_INTERFACE_DOWN',
      `warm interface ${only?.name ?? '?'} is not open (it is reopened with backoff): no lookback ring to serve from`,
    );
  }
  return spec;
}

/** Largest native chunk plus the prefetched spare: memory a capture may hold beyond its byte limit. */
const CHUNK_SLACK_BYTES = 2 * 4 * 1024 * 1024;

/**
 * Memory a capture may hold at once: its byte limit, or for a segmented
 * capture two segments (one being delivered while the next fills), plus the
 * native buffer's chunk slack.
 */
export function memoryReservationBytes(job: CaptureJob): number {
  const { bytes, segmentBytes } = job.limits;
  const held = segmentBytes > 0 ? Math.min(bytes, 2 * segmentBytes) : bytes;
  return held + CHUNK_SLACK_BYTES;
}
