/**
 * Reading capture files back with independent readers: tshark for packets,
 * capinfos for file and interface properties.
 */
import { run } from './exec.js';
import { TEST_UDP_PORT } from './frames.js';

export interface ReadPacket {
  timeEpochNs: bigint;
  frameLen: number;
  capLen: number;
  interfaceId: number;
  interfaceName: string;
  /** The sequence number test frames carry (first 4 bytes of UDP payload), or -1. */
  sequence: number;
}

function epochToNs(text: string): bigint {
  const [seconds = '0', fraction = ''] = text.split('.');
  return BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9));
}

export async function readPackets(path: string): Promise<ReadPacket[]> {
  const out = await run('tshark', [
    '-r',
    path,
    '-n',
    // The test port's payload is the sequence number, never a protocol: without this, tshark's
    // heuristics read about 1 in 28 of them as DNS and data.data comes back empty.
    '-d',
    `udp.port==${TEST_UDP_PORT},data`,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-e',
    'frame.time_epoch',
    '-e',
    'frame.len',
    '-e',
    'frame.cap_len',
    '-e',
    'frame.interface_id',
    '-e',
    'frame.interface_name',
    '-e',
    'data.data',
  ]);
  return out
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [epoch = '0', len = '0', cap = '0', id = '', name = '', data = ''] = line.split('|');
      return {
        timeEpochNs: epochToNs(epoch),
        frameLen: Number(len),
        capLen: Number(cap),
        interfaceId: id === '' ? 0 : Number(id),
        interfaceName: name,
        sequence: data.length >= 8 ? Number.parseInt(data.replaceAll(':', '').slice(0, 8), 16) : -1,
      };
    });
}

export interface CapInfo {
  fileType: string;
  encapsulation: string;
  precision: string;
  packets: number;
  sizeBytes: number;
  comment: string;
  interfaces: Array<Record<string, string>>;
  raw: string;
}

export async function capinfos(path: string): Promise<CapInfo> {
  // -M: exact numbers, no SI prefixes ("1000 k").
  const raw = await run('capinfos', ['-M', path]);
  const field = (label: string): string => {
    const match = raw.match(new RegExp(`^${label}:\\s*(.*)$`, 'm'));
    return match?.[1]?.trim() ?? '';
  };
  const interfaces: Array<Record<string, string>> = [];
  for (const block of raw.split(/^Interface #\d+ info:$/m).slice(1)) {
    const entry: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const match = line.match(/^\s+([^=]+?) = (.*)$/);
      if (match?.[1] && match[2] !== undefined) entry[match[1]] = match[2].trim();
    }
    interfaces.push(entry);
  }
  return {
    fileType: field('File type'),
    encapsulation: field('File encapsulation'),
    precision: field('File timestamp precision'),
    packets: Number(field('Number of packets').replace(/\D/g, '')),
    sizeBytes: Number(field('File size').replace(/\D/g, '')),
    comment: field('Capture comment'),
    interfaces,
    raw,
  };
}
