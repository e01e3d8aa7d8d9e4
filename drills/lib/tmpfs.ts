/**
 * A small tmpfs the drill mounts, fills to the last byte and empties again:
 * a full disk under the spool or the local sink without touching any real one.
 */
import { mkdtemp, open, rm, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run } from '../../test/helpers/exec.js';

export interface SmallDisk {
  readonly path: string;
  /** Writes a filler file until the disk answers ENOSPC. */
  fill(): Promise<void>;
  /** Removes the filler: the space is back. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

const FILLER = '.drill-filler';

export async function mountSmallDisk(sizeBytes: number): Promise<SmallDisk> {
  const path = await mkdtemp(join(tmpdir(), 'pcapd-drill-disk-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path]);
  return {
    path,
    async fill() {
      const file = await open(join(path, FILLER), 'a');
      const block = Buffer.alloc(64 * 1024);
      try {
        // Bounded by the disk's size; halving the block fills the last page too.
        for (let size = block.length; size > 0;) {
          try {
            await file.write(block, 0, size);
          } catch (err: unknown) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            size = Math.floor(size / 2);
          }
        }
      } finally {
        await file.close();
      }
    },
    async free() {
      await unlink(join(path, FILLER)).catch(() => undefined);
    },
    async unmount() {
      await run('umount', ['-l', path]).catch(() => undefined);
      await rmdir(path).catch(() => rm(path, { recursive: true, force: true }));
    },
  };
}
