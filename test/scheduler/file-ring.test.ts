import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/log/logger.js';
import { FileRings } from '../../src/scheduler/file-ring.js';

const { log } = createLogger({ level: 'silent' });
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-ring-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: number): Promise<{ path: string; bytes: number }> {
  const path = join(dir, name);
  await writeFile(path, Buffer.alloc(bytes));
  return { path, bytes };
}

describe('FileRings', () => {
  it('keeps the newest N files of a name and deletes the oldest', async () => {
    const rings = new FileRings();
    for (let i = 0; i < 5; i++) await rings.add('a', { files: 3, bytes: 0 }, [await file(`a-${i}`, 10)], log);
    expect((await readdir(dir)).sort()).toEqual(['a-2', 'a-3', 'a-4']);
  });

  it('keeps files up to a total size, the newest always', async () => {
    const rings = new FileRings();
    await rings.add('b', { files: 0, bytes: 250 }, [await file('b-0', 100), await file('b-1', 100)], log);
    const removed = await rings.add('b', { files: 0, bytes: 250 }, [await file('b-2', 100)], log);
    expect(removed).toEqual([join(dir, 'b-0')]);
    expect(await rings.add('b', { files: 0, bytes: 250 }, [await file('b-3', 1000)], log)).toEqual([join(dir, 'b-1'), join(dir, 'b-2')]);
    expect((await readdir(dir)).sort()).toEqual(['b-3']);
  });

  it("keeps each name's ring apart, and counts a file deleted by someone else as gone", async () => {
    const rings = new FileRings();
    await rings.add('x', { files: 1, bytes: 0 }, [await file('x-0', 1)], log);
    await rings.add('y', { files: 1, bytes: 0 }, [await file('y-0', 1)], log);
    await rm(join(dir, 'x-0'));
    expect(await rings.add('x', { files: 1, bytes: 0 }, [await file('x-1', 1)], log)).toEqual([join(dir, 'x-0')]);
    expect((await readdir(dir)).sort()).toEqual(['x-1', 'y-0']);
  });
});
