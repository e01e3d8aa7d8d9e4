/**
 * Who holds the spool: one running pcapd, or one `pcapd spool` command that
 * changes it. Two daemons on one spool would deliver everything twice. The
 * lock file names its holder by pid and start time, so a lock left by a
 * dead process (or a reused pid) is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import { errnoCode, PcapdError } from '../errors.js';
import { CONTROL_FILE_MODE } from '../fs/durable.js';
import { readJsonObject } from '../json.js';

export interface LockInfo {
  pid: number;
  role: 'daemon' | 'cli';
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22): a reused pid does not match. */
  startTicks: string;
  acquiredAt: string;
}

const LockSchema = z.object({
  pid: z.number().int().positive(),
  role: z.enum(['daemon', 'cli']),
  startTicks: z.string(),
  acquiredAt: z.string(),
});

async function processStartTicks(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

async function isAlive(lock: LockInfo): Promise<boolean> {
  const ticks = await processStartTicks(lock.pid);
  return ticks !== undefined && ticks === lock.startTicks;
}

export class SpoolLock {
  readonly path: string;
  /** The spool folder, for messages. */
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, 'lock');
  }

  /** The live process holding the spool, if any; a lock left by a dead process counts as none. */
  async holder(): Promise<LockInfo | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = LockSchema.safeParse(readJsonObject(text));
    if (!parsed.success) return undefined;
    return (await isAlive(parsed.data)) ? parsed.data : undefined;
  }

  /**
   * Takes the spool for this process. Waits up to `waitMs` for a holder to
   * let go (a `pcapd spool cull` finishing); a lock whose process is gone is
   * taken over. Two daemons on one spool would deliver everything twice, so
   * a live holder is an error (PCAPD_ERR_SPOOL_LOCKED).
   */
  async acquire(role: LockInfo['role'], waitMs = 0): Promise<void> {
    const deadline = Date.now() + waitMs;
    const startTicks = (await processStartTicks(process.pid)) ?? '';
    const info: LockInfo = { pid: process.pid, role, startTicks, acquiredAt: new Date().toISOString() };
    for (;;) {
      try {
        const handle = await open(this.path, 'wx', CONTROL_FILE_MODE);
        try {
          await handle.writeFile(JSON.stringify(info));
          await handle.sync();
        } finally {
          await handle.close();
        }
        return;
      } catch (err: unknown) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const holder = await this.holder();
      if (holder === undefined) {
        // Stale: its process is gone. unlink then retry the exclusive create, so two takers cannot both win.
        await unlink(this.path).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new PcapdError(
          'PCAPD_ERR_SPOOL_LOCKED',
          `the spool ${this.dir} is held by ${holder.role === 'daemon' ? 'a running pcapd' : 'a pcapd spool command'} (pid ${holder.pid})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async release(): Promise<void> {
    const holder = await this.holder();
    if (holder?.pid === process.pid) await unlink(this.path).catch(() => undefined);
  }
}
