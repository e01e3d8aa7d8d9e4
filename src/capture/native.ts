/**
 * The native capture addon (src/capture/native/), typed once. Nothing else
 * imports the .node file; everything goes through this module.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import type { CaptureFormat } from '../config/schema.js';
import { PcapdError } from '../errors.js';

export interface NativeInterfaceInfo {
  name: string;
  description: string;
  /** LINKTYPE_* value as written in the file header. */
  linktype: number;
  snaplen: number;
  nanosecond: boolean;
}

export interface NativeInterfaceCounters extends NativeInterfaceInfo {
  /** False when pcap_stats never succeeded (the interface vanished). */
  statsValid: boolean;
  received: number;
  dropped: number;
  ifDropped: number;
  written: number;
}

export interface NativeFile {
  chunks: Buffer[];
  bytes: number;
  packets: number;
  firstNs: bigint;
  lastNs: bigint;
  segment: number;
  /** When this segment began (realtime ns): arming, or the cut that opened it. */
  startNs: bigint;
  /** Indexes into the capture's interface list. */
  interfaces: number[];
}

export type NativeStopReason = 'packets' | 'bytes' | 'duration' | 'timeout' | 'flow-end' | 'flow-idle' | 'cancelled' | 'shutdown' | 'error';

/**
 * End a capture with the one flow its filter selects (src/capture/native/flow_tracker.h),
 * decided in native code on the packets it writes.
 */
export interface NativeFlowOptions {
  /** Reason 'flow-end' once both FINs are acknowledged (the final ACK is written last), or on a RST. */
  tcpClose: boolean;
  /**
   * Reason 'flow-idle' after this long without a packet, counted from the
   * newest packet written (warm lookback included) or from arming; 0 for off.
   */
  idleMs: number;
}

export interface NativeArmed {
  startNs: bigint;
  interfaces: NativeInterfaceInfo[];
  /** Warm captures: how far before arming the file starts (0 without lookback). */
  lookbackNs: bigint;
  /** Warm captures: packets written from the lookback ring. */
  lookbackPackets: number;
}

export interface NativeDone {
  reason: NativeStopReason;
  error?: string;
  startNs: bigint;
  endNs: bigint;
  firstNs: bigint;
  lastNs: bigint;
  packets: number;
  bytes: number;
  files: NativeFile[];
  interfaces: NativeInterfaceCounters[];
  summaries: string[];
  summariesOmitted: number;
  threadCpuNs: number;
  prefetchCpuNs: number;
}

export interface NativeFailed {
  code: string;
  message: string;
}

export type NativeEvent =
  | { name: 'armed'; payload: NativeArmed }
  | { name: 'segment'; payload: { files: NativeFile[] } }
  | { name: 'done'; payload: NativeDone }
  | { name: 'failed'; payload: NativeFailed };

export interface NativeCaptureOptions {
  interfaces: Array<{ name: string; description?: string }>;
  filter: string;
  snaplen: number;
  promisc: boolean;
  bufferBytes: number;
  format: CaptureFormat;
  comment: string;
  application: string;
  hardware?: string;
  limits: {
    packets: number;
    bytes: number;
    /** 0: no duration limit. */
    durationMs: number;
    idleMs: number;
    segmentBytes: number;
    segmentMs: number;
    /** Cut time segments on multiples of segmentMs in UTC (the first one shortened to the next boundary). */
    segmentAlign?: boolean;
  };
  packetDebug: boolean;
  maxSummaryLines: number;
  mergeHoldbackMs?: number;
  /** Attach to this warm interface (exactly one entry in `interfaces`) instead of opening a handle. */
  warm?: NativeWarmInterface;
  /** Warm captures: start with the ring's packets of this many ms before arming. */
  lookbackMs?: number;
  /** End with the flow (TCP close, or idle); absent: no flow tracking, nothing parsed. */
  flow?: NativeFlowOptions;
}

export interface NativeWarmInterfaceOptions {
  name: string;
  description?: string;
  snaplen: number;
  promisc: boolean;
  bufferBytes: number;
  /** Lookback ring size (allocated at once); 0 keeps no ring. */
  lookbackBytes: number;
  /** Packets older than this leave the ring; 0: bounded by bytes only. */
  lookbackMs: number;
  /** What the ring keeps (BPF); empty: everything. */
  lookbackFilter: string;
}

export interface NativeWarmStats {
  up: boolean;
  received: number;
  dropped: number;
  ifDropped: number;
  packetsRead: number;
  attached: number;
  ringCapacityBytes: number;
  ringUsedBytes: number;
  ringPackets: number;
  ringOldestNs: bigint;
  cpuNs: number;
}

export type NativeWarmEvent =
  | { name: 'up'; payload: { name: string; linktype: number; snaplen: number; nanosecond: boolean } }
  | { name: 'down'; payload: NativeFailed }
  | { name: 'closed'; payload: Record<string, never> };

export interface NativeWarmInterface {
  start(): void;
  stop(): void;
  stats(): NativeWarmStats;
}

export interface NativeCapture {
  start(): void;
  cancel(reason?: 'cancelled' | 'shutdown'): void;
  /** Closes the current segment (if it holds packets) and delivers it; capturing goes on. */
  rotate(): void;
  /** `segment`: the number of the segment being written. */
  progress(): { packets: number; bytes: number; segment: number };
}

export interface NativeDeviceAddress {
  family: 'ipv4' | 'ipv6' | 'link' | 'other';
  address: string | null;
  netmask: string | null;
  broadcast: string | null;
}

export interface NativeDevice {
  name: string;
  description: string;
  loopback: boolean;
  up: boolean;
  running: boolean;
  wireless: boolean;
  connection: 'connected' | 'disconnected' | 'not-applicable' | 'unknown';
  addresses: NativeDeviceAddress[];
}

export type NativeFilterCheck = { ok: true; instructions: number } | { ok: false; error: string };

export interface NativeAddon {
  Capture: new (options: NativeCaptureOptions, onEvent: (name: NativeEvent['name'], payload: NativeEvent['payload']) => void) => NativeCapture;
  WarmInterface: new (
    options: NativeWarmInterfaceOptions,
    onEvent: (name: NativeWarmEvent['name'], payload: NativeWarmEvent['payload']) => void,
  ) => NativeWarmInterface;
  listDevices(): NativeDevice[];
  validateFilter(filter: string, dlt?: number, snaplen?: number): NativeFilterCheck;
  libVersion(): string;
  resources(): NativeResources;
}

/** What the addon holds, process-wide (see captureResources()). */
export interface NativeResources {
  /** JavaScript Capture objects not yet collected. */
  captureObjects: number;
  /** Capture threads started and not yet joined (a finished one keeps its stack until joined). */
  captureThreads: number;
  /** Warm interface reader threads started and not yet joined. */
  warmReaderThreads: number;
  /** Filters compiled for user space (validation, warm captures, lookback rings) since the addon loaded. */
  filtersCompiled: number;
  /** Of those asked for, how many the addon's cache of compiled programs answered without compiling. */
  filtersReused: number;
}

const ADDON_CANDIDATES = [
  // Running from src/ (tests) and from dist/ (the installed daemon).
  new URL('./native/build/Release/pcapd_native.node', import.meta.url),
  new URL('../../src/capture/native/build/Release/pcapd_native.node', import.meta.url),
];

let loaded: NativeAddon | undefined;

/** Loads the addon once. PCAPD_NATIVE_ADDON selects another build (the ASan one). */
export function nativeAddon(): NativeAddon {
  if (loaded) return loaded;
  const override = process.env['PCAPD_NATIVE_ADDON'];
  const path = override ?? ADDON_CANDIDATES.map((url) => fileURLToPath(url)).find((candidate) => existsSync(candidate));
  if (path === undefined) {
    throw new PcapdError('PCAPD_ERR_NATIVE_LOAD', 'native addon not built: run `npm run build:native`');
  }
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err: unknown) {
    throw new PcapdError('PCAPD_ERR_NATIVE_LOAD', `cannot load ${path}`, { cause: err });
  }
  return loaded;
}
