/**
 * startCapture(): the typed facade over the native core. One call opens the
 * interfaces on a capture thread (or attaches to a warm interface's reader,
 * see warm-interfaces.ts), records in memory and settles `done` once with the
 * finished file(s). JavaScript never sees individual packets.
 */
import type { CaptureFormat } from '../config/schema.js';
import { errorCodeOf, PcapdError } from '../errors.js';
import {
  nativeAddon,
  type NativeArmed,
  type NativeCaptureOptions,
  type NativeDone,
  type NativeEvent,
  type NativeFile,
  type NativeFlowOptions,
  type NativeResources,
  type NativeStopReason,
  type NativeWarmInterface,
} from './native.js';

export type StopReason = NativeStopReason;
export type FlowEndOptions = NativeFlowOptions;

export interface CaptureLimits {
  /** Stop after this many packets; 0 for no packet limit. */
  packets: number;
  /** The delivered file(s), headers included, never exceed this; 0 for none. */
  bytes: number;
  /** Wall-clock time from arming; required. */
  durationMs: number;
  /** Idle time after the last packet, counted only after the first; 0 for off (reason 'timeout'). */
  idleMs: number;
  /** Cut a new segment before a file would exceed this; 0 for off. */
  segmentBytes?: number;
  /** Cut a new segment this often; 0 for off. */
  segmentMs?: number;
}

export interface CaptureSpec {
  interfaces: ReadonlyArray<{ name: string; description?: string }>;
  filter: string;
  snaplenBytes: number;
  format: CaptureFormat;
  limits: CaptureLimits;
  promiscuous?: boolean;
  /** Kernel ring size per interface. */
  bufferBytes?: number;
  /** pcapng section comment: why this file exists. */
  comment?: string;
  packetDebug?: boolean;
  maxSummaryLines?: number;
  /** Called with each segment's files as soon as the segment closes. */
  onSegment?: (files: CaptureFile[]) => void;
  /** Attach to this warm interface's reader (the spec names exactly that interface). */
  warm?: NativeWarmInterface;
  /** Warm only: start with the lookback ring's packets of this many ms before arming. */
  lookbackMs?: number;
  /**
   * The filter selects one flow: end when it ends. `tcpClose`: reason
   * 'flow-end' once both FINs are acknowledged or on a RST, the completing
   * packet written last. `idleMs`: reason 'flow-idle' after that long without
   * a packet, counted from the newest packet written (warm lookback included)
   * or from arming, so a flow already quiet is not waited for; 0 for off.
   * The other limits still end it first when they are reached first.
   */
  flow?: FlowEndOptions;
}

export interface CaptureInterface {
  name: string;
  description: string;
  linktype: number;
  snaplenBytes: number;
  nanosecond: boolean;
}

export interface InterfaceResult extends CaptureInterface {
  statsValid: boolean;
  /** Packets that passed the kernel filter (pcap_stats ps_recv). */
  received: number;
  /** Dropped by the kernel because the ring was full (ps_drop). */
  dropped: number;
  /** Dropped by the interface or driver (ps_ifdrop). */
  ifDropped: number;
  /** Packets written to the file(s) for this interface. */
  written: number;
}

export interface CaptureFile {
  format: CaptureFormat;
  /** The file's bytes, in order; handed over from native memory without a copy. */
  chunks: Buffer[];
  bytes: number;
  packets: number;
  firstPacketNs: bigint | null;
  lastPacketNs: bigint | null;
  segment: number;
  /** Interface names in this file (one for classic pcap). */
  interfaces: string[];
}

export interface CaptureArmed {
  startedNs: bigint;
  interfaces: CaptureInterface[];
  /** How far before arming the file starts: the lookback served (0 without one). */
  lookbackNs: bigint;
  /** Packets written from the lookback ring. */
  lookbackPackets: number;
}

export interface CaptureResult {
  reason: StopReason;
  /** libpcap's message when reason is "error". */
  error?: string;
  startedNs: bigint;
  endedNs: bigint;
  firstPacketNs: bigint | null;
  lastPacketNs: bigint | null;
  packets: number;
  /** Bytes of every file of every segment. */
  bytes: number;
  /** The last segment's files (all files when not segmented). */
  files: CaptureFile[];
  interfaces: InterfaceResult[];
  packetSummaries: string[];
  packetSummariesOmitted: number;
  /** CPU time the capture thread spent from arming to close (benchmarks). */
  captureCpuNs: number;
  /** CPU time of the helper thread that prepares large buffer chunks. */
  prefetchCpuNs: number;
}

export interface CaptureHandle {
  /** Resolves once every interface is open and the filter installed. */
  readonly armed: Promise<CaptureArmed>;
  /** Settles once: the finished capture, or the error that prevented it. */
  readonly done: Promise<CaptureResult>;
  cancel(reason?: 'cancelled' | 'shutdown'): void;
  progress(): { packets: number; bytes: number };
}

export const APPLICATION_NAME = 'pcapd';

/**
 * Kernel ring per interface of a cold capture: 32 TPACKET_V3 blocks of 256
 * KiB. With a 1 ms block timeout a block may retire part-full, so the ring is
 * sized in blocks: 32 absorb a capture thread stall of 32 ms at low rates.
 * Measured (bench/capture-burst.ts, bench/arming.ts, one machine): 8 MiB
 * captured 1.000 of 200k 64 B and 100k 1514 B top-speed bursts as 32 MiB did,
 * and armed at p99 27 ms against 1.3 s for 32 MiB at 50 requests/s (building
 * and zeroing a ring is most of arming). Warm interfaces keep a larger one.
 */
export const DEFAULT_KERNEL_BUFFER_BYTES = 8 * 1024 * 1024;

function toOptions(spec: CaptureSpec): NativeCaptureOptions {
  return {
    interfaces: spec.interfaces.map((iface) => ({ name: iface.name, description: iface.description ?? '' })),
    filter: spec.filter,
    snaplen: spec.snaplenBytes,
    promisc: spec.promiscuous ?? true,
    bufferBytes: spec.bufferBytes ?? DEFAULT_KERNEL_BUFFER_BYTES,
    format: spec.format,
    comment: spec.comment ?? '',
    application: APPLICATION_NAME,
    limits: {
      packets: spec.limits.packets,
      bytes: spec.limits.bytes,
      durationMs: spec.limits.durationMs,
      idleMs: spec.limits.idleMs,
      segmentBytes: spec.limits.segmentBytes ?? 0,
      segmentMs: spec.limits.segmentMs ?? 0,
    },
    packetDebug: spec.packetDebug ?? false,
    maxSummaryLines: spec.maxSummaryLines ?? 1000,
    ...(spec.warm === undefined ? {} : { warm: spec.warm, lookbackMs: spec.lookbackMs ?? 0 }),
    ...(spec.flow === undefined ? {} : { flow: { tcpClose: spec.flow.tcpClose, idleMs: spec.flow.idleMs } }),
  };
}

function nsOrNull(packets: number, ns: bigint): bigint | null {
  return packets === 0 ? null : ns;
}

function toFile(file: NativeFile, format: CaptureFormat, names: readonly string[]): CaptureFile {
  return {
    format,
    chunks: file.chunks,
    bytes: file.bytes,
    packets: file.packets,
    firstPacketNs: nsOrNull(file.packets, file.firstNs),
    lastPacketNs: nsOrNull(file.packets, file.lastNs),
    segment: file.segment,
    interfaces: file.interfaces.map((index) => names[index] ?? `#${index}`),
  };
}

function toArmed(armed: NativeArmed): CaptureArmed {
  return {
    startedNs: armed.startNs,
    interfaces: armed.interfaces.map(({ snaplen, ...rest }) => ({ ...rest, snaplenBytes: snaplen })),
    lookbackNs: armed.lookbackNs,
    lookbackPackets: armed.lookbackPackets,
  };
}

function toResult(done: NativeDone, format: CaptureFormat, names: readonly string[]): CaptureResult {
  const result: CaptureResult = {
    reason: done.reason,
    startedNs: done.startNs,
    endedNs: done.endNs,
    firstPacketNs: nsOrNull(done.packets, done.firstNs),
    lastPacketNs: nsOrNull(done.packets, done.lastNs),
    packets: done.packets,
    bytes: done.bytes,
    files: done.files.map((file) => toFile(file, format, names)),
    interfaces: done.interfaces.map(({ snaplen, ...rest }) => ({ ...rest, snaplenBytes: snaplen })),
    packetSummaries: done.summaries,
    packetSummariesOmitted: done.summariesOmitted,
    captureCpuNs: done.threadCpuNs,
    prefetchCpuNs: done.prefetchCpuNs,
  };
  if (done.error !== undefined) result.error = done.error;
  return result;
}

function failure(code: string, message: string): PcapdError {
  const native = Object.assign(new Error(message), { code });
  return new PcapdError(errorCodeOf(native) ?? 'PCAPD_ERR_CAPTURE_FAILED', message, { cause: native });
}

export function startCapture(spec: CaptureSpec): CaptureHandle {
  const addon = nativeAddon();
  const names = spec.interfaces.map((iface) => iface.name);
  let resolveArmed!: (armed: CaptureArmed) => void;
  let rejectArmed!: (err: Error) => void;
  let resolveDone!: (result: CaptureResult) => void;
  let rejectDone!: (err: Error) => void;
  const armed = new Promise<CaptureArmed>((resolve, reject) => {
    resolveArmed = resolve;
    rejectArmed = reject;
  });
  const done = new Promise<CaptureResult>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A caller that only awaits `done` must not see an unhandled `armed` rejection.
  armed.catch(() => undefined);

  const onEvent = (name: NativeEvent['name'], payload: NativeEvent['payload']): void => {
    const event = { name, payload } as NativeEvent;
    switch (event.name) {
      case 'armed':
        resolveArmed(toArmed(event.payload));
        return;
      case 'segment':
        spec.onSegment?.(event.payload.files.map((file) => toFile(file, spec.format, names)));
        return;
      case 'done':
        resolveDone(toResult(event.payload, spec.format, names));
        return;
      case 'failed': {
        const err = failure(event.payload.code, event.payload.message);
        rejectArmed(err);
        rejectDone(err);
        return;
      }
      default: {
        const unreachable: never = event;
        throw new Error(`unknown native event ${JSON.stringify(unreachable)}`);
      }
    }
  };

  let native;
  try {
    native = new addon.Capture(toOptions(spec), onEvent);
  } catch (err: unknown) {
    throw new PcapdError(errorCodeOf(err) ?? 'PCAPD_ERR_NATIVE_ARGUMENT', err instanceof Error ? err.message : String(err), {
      cause: err,
    });
  }
  native.start();
  return {
    armed,
    done,
    cancel: (reason) => native.cancel(reason),
    progress: () => native.progress(),
  };
}

/**
 * Native capture objects and threads alive in this process. Once captures
 * end, threads fall to the number running at once, and objects to that once
 * the garbage collector has run: anything more is a leak.
 */
export function captureResources(): NativeResources {
  return nativeAddon().resources();
}
