/**
 * The contract every sink implements (local disk, S3, Cloudshark). A sink
 * receives a finished capture (or one closed segment of it) and either stores
 * every file or throws; it never half-succeeds silently.
 */
import type { CaptureFormat, StopReason } from '../capture/capture.js';
import type { CaptureJob } from '../requests/job.js';

export interface DeliverableFile {
  /** File name from the naming pattern, extension included ("sensor1-eth0-…-r42.pcapng"). */
  name: string;
  format: CaptureFormat;
  /** The file's bytes in order; write them in sequence rather than concatenating. */
  chunks: readonly Buffer[];
  bytes: number;
  packets: number;
  /** Interface names in this file. */
  interfaces: readonly string[];
}

export interface FinishedCapture {
  job: CaptureJob;
  /** 0 for an unsegmented capture. */
  segment: number;
  /** True for the capture's last (or only) segment. */
  final: boolean;
  /** Why the capture ended; "segment" for a segment closed while capturing went on. */
  reason: StopReason | 'segment';
  startedAt: Date;
  files: readonly DeliverableFile[];
}

export interface Delivery {
  sink: string;
  /** Where each file now is: a path, s3://bucket/key, a Cloudshark URL. */
  locations: string[];
}

export interface Sink {
  readonly name: string;
  deliver(capture: FinishedCapture): Promise<Delivery>;
}
