/**
 * The contract every sink implements (local disk, S3, Cloudshark). A sink
 * receives a finished capture (or one closed segment of it) and either stores
 * every file or throws; it never half-succeeds silently.
 */
import type { CaptureFormat, StopReason } from '../capture/capture.js';
import type { CaptureJob } from '../requests/job.js';

/** The media type a remote sink labels each capture file format with. */
export const CONTENT_TYPES: Readonly<Record<CaptureFormat, string>> = { pcap: 'application/vnd.tcpdump.pcap', pcapng: 'application/x-pcapng' };

/** The bytes of a capture's files together. */
export function totalBytes(files: readonly { bytes: number }[]): number {
  return files.reduce((sum, file) => sum + file.bytes, 0);
}

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
  /**
   * 1 for the first try; higher for a retry from the spool. A sink may then
   * clean up what an interrupted try left behind (S3 aborts the multipart
   * upload a killed pcapd never finished).
   */
  attempt?: number;
}

export interface Delivery {
  sink: string;
  /** Where each file now is: a path, s3://bucket/key, a Cloudshark URL. */
  locations: string[];
  /** The sink's own id for each file, in the same order, where it has one (Cloudshark's capture id). */
  ids?: string[];
}

/**
 * A sink throws a SinkError (src/errors.ts) when it fails, with `retriable`
 * set; any other error counts as retriable. A sink must be safe to call again
 * with the same capture after a failure or a crash: it never leaves half a
 * delivery that a retry would duplicate.
 */
export interface Sink {
  readonly name: string;
  /**
   * True for a sink that only writes to this host's disk: its first try is as
   * quick and as durable as a spool write, so it gets no write-ahead copy.
   */
  readonly writesLocally?: boolean;
  deliver(capture: FinishedCapture): Promise<Delivery>;
  /** A reload replaced this sink: let go of its connections once the deliveries still running on them end. */
  close?(): void | Promise<void>;
}
