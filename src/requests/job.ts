/**
 * A CaptureJob is a request that passed validation on this node: targets
 * matched, aliases resolved, limits defaulted and clamped. Everything
 * downstream (scheduler, capture, sinks, result events) works from it.
 */
import type { CaptureFormat } from '../capture/capture.js';
import type { CaptureRequest } from './schema.js';

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
  /** Seconds before arming the file starts from a warm interface's ring; 0: none. */
  lookbackSeconds: number;
}

/** A limit the request asked above the configured maximum, and what was applied. */
export interface Clamp {
  field: 'packets' | 'bytes' | 'timeout' | 'duration' | 'snap' | 'lookback';
  requested: number;
  applied: number;
}

export interface CaptureJob {
  /** The request's id, or a generated one. */
  id: string;
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
  /** Validated relative folder ("a/b"), never absolute, never "..". */
  folder?: string;
  packetDebug: boolean;
  logRequest: boolean;
  reply?: string;
}
