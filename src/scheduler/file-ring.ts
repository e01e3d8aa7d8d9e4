/**
 * The ring of files of named captures (dumpcap's `-b files:N`): the files the
 * local sink wrote for a name, oldest first, and removal of the oldest once
 * there are more than `files` of them or they hold more than `bytes`. A ring
 * is kept per name, not per capture, so a capture restarted under its name
 * (a SIGHUP that changed its [[capture]]) goes on rolling the same files.
 *
 * Only files this process saw written are counted: files from before a
 * restart of pcapd are left alone (general.localdir retention covers them).
 */

import type { Log } from '../log/logger.js';
import type { JobRing } from '../model/job.js';
import { removeLocalFile } from '../sinks/local-meta.js';

export interface RingFile {
  path: string;
  bytes: number;
}

/** Names whose rings are remembered; beyond it the least recently written are forgotten (their files stay). */
const MAX_RINGS = 10_000;

export class FileRings {
  private readonly rings = new Map<string, RingFile[]>();

  /**
   * Adds the files just written for `name` and removes the oldest beyond
   * `ring`; returns the paths removed. A file already gone counts as removed.
   */
  async add(name: string, ring: JobRing, written: readonly RingFile[], log: Log): Promise<string[]> {
    const files = this.rings.get(name) ?? [];
    this.rings.delete(name);
    this.rings.set(name, files);
    for (const oldest of this.rings.keys()) {
      if (this.rings.size <= MAX_RINGS) break;
      this.rings.delete(oldest);
    }
    files.push(...written);
    const removed: RingFile[] = [];
    let bytes = files.reduce((sum, file) => sum + file.bytes, 0);
    // The newest file always stays, even when it alone is over `bytes`.
    while (files.length > 1 && ((ring.files > 0 && files.length > ring.files) || (ring.bytes > 0 && bytes > ring.bytes))) {
      const oldest = files.shift();
      if (oldest === undefined) break;
      bytes -= oldest.bytes;
      removed.push(oldest);
    }
    for (const file of removed) {
      // With its sidecar, so GET /files never lists a file that is gone.
      await removeLocalFile(file.path).catch((err: unknown) => log.error({ path: file.path, err }, 'ring: could not remove the oldest file'));
    }
    if (removed.length > 0) log.info({ name, removed: removed.map((file) => file.path), kept: files.length, keptBytes: bytes }, 'ring: oldest files removed');
    return removed.map((file) => file.path);
  }
}
