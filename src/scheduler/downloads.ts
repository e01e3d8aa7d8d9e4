/**
 * What GET /captures/:id/pcap serves once a capture is finished: the files
 * the local sink wrote, streamed from disk, or, for a capture with no local
 * copy, its files kept in memory for http.retainseconds (within
 * http.retainbytes). A capture is never held twice.
 */
import { captureMemoryReleased } from '../capture/memory.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { totalBytes, type DeliverableFile } from '../model/finished-capture.js';
import type { CaptureOutcome } from '../model/outcome.js';
import { LOCAL_SINK_NAME } from '../sinks/local.js';

export type CaptureDownload = { kind: 'local'; paths: readonly string[] } | { kind: 'memory'; files: readonly DeliverableFile[] };

/** The files the local sink wrote for a capture, every segment's, in delivery order. */
function localPaths(outcome: CaptureOutcome): string[] {
  return outcome.deliveries.filter((delivery) => delivery.sink === LOCAL_SINK_NAME).flatMap((delivery) => delivery.locations);
}

/** The local sink holds the whole capture: a second copy in memory would only double it. */
export function hasLocalCopy(outcome: CaptureOutcome): boolean {
  const missing = (item: { sink: string }): boolean => item.sink === LOCAL_SINK_NAME;
  return localPaths(outcome).length > 0 && !outcome.deliveryFailures.some(missing) && !(outcome.pending ?? []).some(missing);
}

/** The local files when the local sink wrote the capture, else the copy in memory, else nothing. */
export function downloadOf(outcome: CaptureOutcome | undefined, retained: readonly DeliverableFile[] | undefined): CaptureDownload | undefined {
  const paths = outcome === undefined ? [] : localPaths(outcome);
  if (paths.length > 0) return { kind: 'local', paths };
  return retained === undefined ? undefined : { kind: 'memory', files: retained };
}

interface Retained {
  files: readonly DeliverableFile[];
  bytes: number;
  untilMs: number;
}

/** Finished captures' files kept in memory for download, bounded in time and bytes. */
export class RetainedFiles {
  private readonly kept = new Map<string, Retained>();
  private readonly settings: () => Config['http'];
  private readonly clock: Clock;
  private keptBytes = 0;

  constructor(settings: () => Config['http'], clock: Clock) {
    this.settings = settings;
    this.clock = clock;
  }

  get bytes(): number {
    return this.keptBytes;
  }

  files(id: string): readonly DeliverableFile[] | undefined {
    this.expire();
    return this.kept.get(id)?.files;
  }

  /** Keeps a capture's files in memory for download; false when retention does not take them. */
  retain(id: string, files: readonly DeliverableFile[]): boolean {
    const { retainseconds, retainbytes } = this.settings();
    const bytes = totalBytes(files);
    if (files.length === 0 || retainseconds === 0 || bytes > retainbytes) return false;
    this.kept.set(id, { files, bytes, untilMs: this.clock.monotonicMs() + retainseconds * 1000 });
    this.keptBytes += bytes;
    this.expire();
    // Expiry is otherwise checked only when a download or another capture comes: an idle daemon would hold the files on.
    setTimeout(() => this.expire(), retainseconds * 1000 + 1).unref();
    return true;
  }

  private expire(): void {
    const now = this.clock.monotonicMs();
    const limit = this.settings().retainbytes;
    for (const [id, kept] of this.kept) {
      if (kept.untilMs > now && this.keptBytes <= limit) continue;
      this.kept.delete(id);
      this.keptBytes -= kept.bytes;
      captureMemoryReleased(kept.bytes);
    }
  }
}
