/**
 * Test traffic: Ethernet/IPv4/UDP frames of an exact size, each carrying its
 * sequence number in the first four payload bytes, written to a classic pcap
 * that tcpreplay sends. The addresses (10.99.0.0/24) exist on no interface, so
 * the frames are captured and then dropped by the receiving kernel.
 */
import { writeFile } from 'node:fs/promises';

export const TEST_UDP_PORT = 9999;
export const TEST_FILTER = `udp dst port ${TEST_UDP_PORT}`;
const MIN_FRAME_BYTES = 46; // Ethernet 14 + IPv4 20 + UDP 8 + sequence 4

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function udpFrame(sizeBytes: number, sequence: number, dstPort = TEST_UDP_PORT, dstAddress = '10.99.0.2'): Buffer {
  if (sizeBytes < MIN_FRAME_BYTES) throw new Error(`frame size ${sizeBytes} < ${MIN_FRAME_BYTES}`);
  const frame = Buffer.alloc(sizeBytes);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(frame, 0);
  frame.writeUInt16BE(0x0800, 12);
  const ipBytes = sizeBytes - 14;
  frame[14] = 0x45;
  frame.writeUInt16BE(ipBytes, 16);
  frame[22] = 64; // TTL
  frame[23] = 17; // UDP
  Buffer.from([10, 99, 0, 1]).copy(frame, 26);
  Buffer.from(dstAddress.split('.').map(Number)).copy(frame, 30);
  frame.writeUInt16BE(ipv4Checksum(frame.subarray(14, 34)), 24);
  frame.writeUInt16BE(40000, 34);
  frame.writeUInt16BE(dstPort, 36);
  frame.writeUInt16BE(ipBytes - 20, 38);
  frame.writeUInt32BE(sequence, 42);
  return frame;
}

/**
 * Writes Ethernet frames to a classic pcap file for tcpreplay, `gapUs`
 * microseconds apart in their timestamps.
 */
export async function writeFramesPcap(path: string, frames: readonly Buffer[], gapUs = 1): Promise<void> {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [header];
  frames.forEach((frame, i) => {
    const record = Buffer.alloc(16);
    const us = i * gapUs;
    record.writeUInt32LE(1 + Math.floor(us / 1_000_000), 0);
    record.writeUInt32LE(us % 1_000_000, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    parts.push(record, frame);
  });
  await writeFile(path, Buffer.concat(parts));
}

/** Writes `count` frames of `sizeBytes` (sequence firstSequence..) to a pcap file for tcpreplay. */
export async function writeTrafficPcap(
  path: string,
  count: number,
  sizeBytes: number,
  options: { firstSequence?: number; dstPort?: number; dstAddress?: string } = {},
): Promise<void> {
  const first = options.firstSequence ?? 0;
  const frames = Array.from({ length: count }, (_, i) => udpFrame(sizeBytes, first + i, options.dstPort, options.dstAddress));
  await writeFramesPcap(path, frames);
}
