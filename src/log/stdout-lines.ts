/**
 * stdout for log lines, written in batches: info and debug lines wait up to
 * FLUSH_WITHIN_MS and go out together in one write(2). Each write to
 * journald's socket or a pipe wakes its reader and can wait on it; on a VM
 * that cost as much as everything else a warm capture's two lines ("armed",
 * "ended") cost (0.4 ms of a 2.7 ms request, measured). Under load the
 * timer fires once per FLUSH_WITHIN_MS whatever the rate; idle, never.
 * Lines keep their order. A warning or worse is written at once with
 * everything before it, and what is buffered is written when the process
 * exits, so only a SIGKILL or a crash of the process itself can lose info
 * lines, those of its last FLUSH_WITHIN_MS.
 */
import { writeSync } from 'node:fs';

/** How long an info line may wait for others. */
export const FLUSH_WITHIN_MS = 50;
/** Written at once past this many buffered characters. */
const MAX_BUFFERED = 65_536;
/** pino writes the level first: `{"level":40` and up is warn, error, fatal. */
const URGENT = /^\{"level":(?:[4-9]\d|\d{3,})\D/;
/** A full non-blocking pipe (EAGAIN): wait this long, then try again; losing lines is worse. */
const FULL_PIPE_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** The flush of every open writer, run by one exit handler (one listener, however many loggers a process makes). */
const flushAtExit = new Set<() => void>();
let exitHooked = false;

export interface StdoutLines {
  write(line: string): boolean;
  /** Writes what is buffered now; lines written after it are written at once. */
  close(): void;
}

export function stdoutLines(fd = 1): StdoutLines {
  let buffered = '';
  let scheduled: NodeJS.Timeout | undefined;
  let closed = false;

  const flush = (): void => {
    clearTimeout(scheduled);
    scheduled = undefined;
    if (buffered === '') return;
    let rest = Buffer.from(buffered, 'utf8');
    buffered = '';
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (err: unknown) {
        // Nobody reads stdout any more (EPIPE and the like): the lines have nowhere to go.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        Atomics.wait(sleeper, 0, 0, FULL_PIPE_WAIT_MS);
      }
    }
  };
  flushAtExit.add(flush);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const pending of flushAtExit) pending();
    });
  }

  return {
    write(line: string): boolean {
      buffered += line;
      if (closed || buffered.length >= MAX_BUFFERED || URGENT.test(line)) flush();
      else if (scheduled === undefined) {
        scheduled = setTimeout(flush, FLUSH_WITHIN_MS);
        // The exit handler writes what the timer would have: it must not keep pcapd running.
        scheduled.unref();
      }
      return true;
    },
    close() {
      closed = true;
      flush();
      flushAtExit.delete(flush);
    },
  };
}
