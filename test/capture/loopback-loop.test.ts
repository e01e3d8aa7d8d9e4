/**
 * A million packets through one capture on loopback: the long path through
 * chunk growth, block handling and hand-over. Run as part of the suite and,
 * under AddressSanitizer, by `npm run test:asan`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { startCapture } from '../../src/capture/capture.js';
import { capinfos } from '../helpers/capture-files.js';
import { run } from '../helpers/exec.js';
import { writeTrafficPcap } from '../helpers/frames.js';

const FRAMES_PER_LOOP = 100_000;
const LOOPS = 10;
const TOTAL = FRAMES_PER_LOOP * LOOPS;
// A port no other test uses: this capture listens on the shared loopback.
const PORT = 9317;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-loop-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('captures a million-packet loop on loopback and accounts for every packet', { timeout: 180_000 }, async () => {
  const burst = join(dir, 'burst.pcap');
  await writeTrafficPcap(burst, FRAMES_PER_LOOP, 64, { dstPort: PORT });
  const handle = startCapture({
    interfaces: [{ name: 'lo' }],
    filter: `udp dst port ${PORT}`,
    snaplenBytes: 65535,
    format: 'pcapng',
    bufferBytes: 32 * 1024 * 1024,
    limits: { packets: 0, bytes: 0, durationMs: 150_000, idleMs: 1_000 },
  });
  await handle.armed;
  await run('tcpreplay', ['-q', '-i', 'lo', '--topspeed', `--loop=${LOOPS}`, burst], 150_000);
  const result = await handle.done;

  expect(result.reason).toBe('timeout');
  const [iface] = result.interfaces;
  // libpcap skips loopback's outgoing copy; a packet is either written or was
  // counted as a kernel drop (which counts both copies).
  expect(result.packets).toBeLessThanOrEqual(TOTAL);
  expect(result.packets + (iface?.dropped ?? 0)).toBeGreaterThanOrEqual(TOTAL);
  if (iface?.dropped === 0) expect(result.packets).toBe(TOTAL);
  expect(iface?.written).toBe(result.packets);

  const [file] = result.files;
  const path = join(dir, 'loop.pcapng');
  await writeFile(path, Buffer.concat(file?.chunks ?? []));
  const info = await capinfos(path);
  expect(info.packets).toBe(result.packets);
  expect(info.sizeBytes).toBe(result.bytes);
  expect(file?.chunks.length).toBeGreaterThan(10); // grew by chunks, never by copying
});
