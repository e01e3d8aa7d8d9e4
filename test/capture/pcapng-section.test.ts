/**
 * Lines added to a finished pcapng's section comment (alerts merged into a
 * flow capture) are read back by capinfos and tshark: the comment holds the
 * old and new lines, every packet is still there, and the growth bound holds.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { appendSectionComment } from '../../src/capture/pcapng-section.js';
import { capinfos, readPackets } from '../helpers/capture-files.js';
import { run } from '../helpers/exec.js';
import { writeTrafficPcap } from '../helpers/frames.js';

let dir: string;
let original: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-section-'));
  const pcap = join(dir, 'in.pcap');
  await writeTrafficPcap(pcap, 50, 200);
  const pcapng = join(dir, 'in.pcapng');
  await run('editcap', ['-F', 'pcapng', '--capture-comment', 'pcapd capture first', pcap, pcapng]);
  original = await readFile(pcapng);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The file as the recorder hands it over: several chunks, the first holding the section header. */
function chunked(file: Buffer): Buffer[] {
  return [file.subarray(0, 300), file.subarray(300, 4000), file.subarray(4000)];
}

describe('appendSectionComment', () => {
  it('adds lines after the existing comment and keeps every packet', async () => {
    const updated = appendSectionComment(chunked(original), ['merged alert sid 1 at t1', 'merged alert sid 2 at t2'], 4096);
    expect(updated).toBeDefined();
    const file = Buffer.concat(updated?.chunks ?? []);
    expect(file.length).toBe(original.length + (updated?.addedBytes ?? 0));
    const path = join(dir, 'out.pcapng');
    await writeFile(path, file);
    const info = await capinfos(path);
    expect(info.raw).toContain('pcapd capture first');
    expect(info.raw).toContain('merged alert sid 1 at t1');
    expect(info.raw).toContain('merged alert sid 2 at t2');
    expect((await readPackets(path)).map((packet) => packet.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('adds only the lines that fit in the bytes allowed, and none when none fits', async () => {
    const lines = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)];
    const some = appendSectionComment(chunked(original), lines, 90);
    expect(some?.linesAdded).toBe(2);
    expect(some?.addedBytes).toBeLessThanOrEqual(90);
    expect(appendSectionComment(chunked(original), lines, 10)).toBeUndefined();
  });

  it('leaves a file alone that does not start with a section header', () => {
    expect(appendSectionComment([Buffer.from('not a pcapng file at all, just bytes')], ['x'], 100)).toBeUndefined();
  });
});
