/**
 * A finished capture (or one closed segment of it) as delivery handles it: the
 * files with their bytes, the job they answer, and where a sink put them.
 * Shared by the scheduler, delivery, the sinks and the spool.
 */
import type { StopReason } from '../capture/capture.js';
import type { CaptureFormat } from '../config/schema.js';
import type { CaptureJob } from './job.js';

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
