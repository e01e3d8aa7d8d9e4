/**
 * The contract every sink implements (local disk, S3, Cloudshark). A sink
 * receives a finished capture (or one closed segment of it) and either stores
 * every file or throws; it never half-succeeds silently.
 */
import type { Delivery, FinishedCapture } from '../model/finished-capture.js';

/**
 * A sink throws a SinkError (src/errors.ts) when it fails, with `retriable`
 * set; any other error counts as retriable. A sink must be safe to call again
 * with the same capture after a failure or a crash: it never leaves half a
 * delivery that a retry would duplicate.
 */
export interface Sink {
  readonly name: string;
  /**
   * True for a sink that only writes to this host's disk: its first try is as
   * quick and as durable as a spool write, so it gets no write-ahead copy.
   */
  readonly writesLocally?: boolean;
  deliver(capture: FinishedCapture): Promise<Delivery>;
  /** A reload replaced this sink: let go of its connections once the deliveries still running on them end. */
  close?(): void | Promise<void>;
}
