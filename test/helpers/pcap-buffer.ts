/**
 * Valid classic pcap files built in memory, as the capture core hands them to
 * sinks: a list of chunks (a 24-byte header, then records), never one
 * contiguous buffer. For sink tests that need a large capture (100 MB)
 * without capturing 100 MB of traffic.
 */
import { randomBytes } from 'node:crypto';

import type { CaptureFormat } from '../../src/config/schema.js';
import type { CaptureJob } from '../../src/model/job.js';
import type { DeliverableFile, FinishedCapture } from '../../src/model/finished-capture.js';
import { udpFrame } from './frames.js';
import { makeJob } from './job.js';

export function pcapHeader(snaplenBytes = 65_535): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(snaplenBytes, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  return header;
}

/**
 * A classic pcap of about `targetBytes` (never more), in chunks of about
 * `chunkBytes`: UDP frames of `frameBytes` carrying their sequence number,
 * the rest of each frame random so no two parts of the file are alike.
 */
export function pcapChunks(
  targetBytes: number,
  options: { frameBytes?: number; chunkBytes?: number } = {},
): { chunks: Buffer[]; bytes: number; packets: number } {
  const frameBytes = options.frameBytes ?? 1514;
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const recordBytes = 16 + frameBytes;
  const header = pcapHeader();
  const packets = Math.max(0, Math.floor((targetBytes - header.length) / recordBytes));
  const chunks: Buffer[] = [header];
  const perChunk = Math.max(1, Math.floor(chunkBytes / recordBytes));
  const payload = randomBytes(frameBytes);
  for (let first = 0; first < packets; first += perChunk) {
    const count = Math.min(perChunk, packets - first);
    const chunk = Buffer.allocUnsafe(count * recordBytes);
    for (let i = 0; i < count; i++) {
      const sequence = first + i;
      const at = i * recordBytes;
      chunk.writeUInt32LE(1_700_000_000 + Math.floor(sequence / 1000), at);
      chunk.writeUInt32LE((sequence % 1000) * 1000, at + 4);
      chunk.writeUInt32LE(frameBytes, at + 8);
      chunk.writeUInt32LE(frameBytes, at + 12);
      payload.copy(chunk, at + 16);
      udpFrame(frameBytes, sequence).copy(chunk, at + 16, 0, 46);
    }
    chunks.push(chunk);
  }
  return { chunks, bytes: header.length + packets * recordBytes, packets };
}

export function deliverable(
  name: string,
  chunks: Buffer[],
  options: { format?: CaptureFormat; packets?: number; interfaces?: string[] } = {},
): DeliverableFile {
  return {
    name,
    format: options.format ?? (name.endsWith('.pcapng') ? 'pcapng' : 'pcap'),
    chunks,
    bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
    packets: options.packets ?? 0,
    interfaces: options.interfaces ?? ['eth0'],
  };
}

export function finishedCapture(files: DeliverableFile[], job: CaptureJob = makeJob(), extra: Partial<FinishedCapture> = {}): FinishedCapture {
  return { job, segment: 0, final: true, reason: 'packets', startedAt: new Date('2024-05-06T07:08:09.500Z'), files, ...extra };
}

/** A small valid pcap with `packets` records, as one capture file. */
export function smallPcap(name: string, packets = 10): DeliverableFile {
  const { chunks, packets: count } = pcapChunks(24 + packets * (16 + 100), { frameBytes: 100, chunkBytes: 512 });
  return deliverable(name, chunks, { packets: count });
}
