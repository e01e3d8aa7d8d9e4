/**
 * A CaptureJob is a request that passed validation on this node: targets
 * matched, aliases resolved, limits defaulted and clamped. Everything
 * downstream (scheduler, capture, sinks, result events) works from it.
 */
import type { CaptureFormat } from '../config/schema.js';
import type { FlowAlert } from '../flows/eve.js';
import type { CaptureRequest } from './request.js';

export interface JobInterface {
  name: string;
  /** The alias the request used for this interface, if any. */
  alias?: string;
}

export interface JobLimits {
  packets: number;
  bytes: number;
  durationSeconds: number;
  /** Idle seconds after the last packet; 0 turns the idle stop off. */
  timeoutSeconds: number;
  segmentSeconds: number;
  segmentBytes: number;
  /** Time segments cut on the clock (UTC multiples of segmentSeconds). */
  segmentAlign: boolean;
  /** Seconds before arming the file starts from a warm interface's ring; 0: none. */
  lookbackSeconds: number;
}

/** A flow capture: the request carried a Suricata alert (`eve`) instead of a BPF. */
export interface JobFlow {
  /** The alert that started the capture. */
  alert: FlowAlert;
  /**
   * What makes two alerts the same flow (merged into one capture): Suricata's
   * flow_id, else the Community ID with the VLAN ids and interface.
   */
  key: string;
  /** pcapd's own Community ID (v1) of the flow, so the file joins Zeek and Suricata logs (none for ICMP without a type). */
  communityId?: string;
  /** "tcp 10.0.0.1:51234 <-> 10.0.0.2:443", for logs and the section comment. */
  description: string;
  /** TCP: end once both FINs are acknowledged, or on RST (reason flow-end). */
  tcpClose: boolean;
  /** Seconds without a packet of the flow that end it (reason flow-idle). */
  idleSeconds: number;
}

/** A limit the request asked above the configured maximum, and what was applied. */
export interface Clamp {
  field: 'packets' | 'bytes' | 'timeout' | 'duration' | 'snap' | 'lookback' | 'segmentbytes' | 'ringbytes';
  requested: number;
  applied: number;
}

/** A named capture's ring of files: its oldest local files are deleted beyond these; 0: no bound. */
export interface JobRing {
  files: number;
  bytes: number;
}

export interface CaptureJob {
  /** The request's id, or a generated one. */
  id: string;
  /** A long-running capture's name (validated, unique among running captures); the local sink records it beside each file, so GET /files filters by it. */
  name?: string;
  ring?: JobRing;
  /** Listener that delivered the request: "http", "redis", "kafka", "sqs". */
  source: string;
  receivedAt: Date;
  /** This node's name (what node/nodere matched). */
  node: string;
  request: CaptureRequest;
  interfaces: JobInterface[];
  filter: string;
  snaplenBytes: number;
  format: CaptureFormat;
  limits: JobLimits;
  clamps: Clamp[];
  tags: string[];
  alertid?: string | number;
  customer?: string;
  /** Validated relative folder ("a/b"), never absolute, never ".."; may hold strftime fields and {name}, rendered per segment. */
  folder?: string;
  packetDebug: boolean;
  logRequest: boolean;
  reply?: string;
  flow?: JobFlow;
  /** What pcapd did not do as asked, and why (e.g. S3 fields while S3 is off); in the result and the log. */
  notes?: string[];
}
