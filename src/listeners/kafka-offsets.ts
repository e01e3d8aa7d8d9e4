/**
 * The Kafka listener's bookkeeping of offsets in flight, per partition.
 * Captures run concurrently and end in any order, but a Kafka commit means
 * "everything below this offset is done": so each partition commits only up
 * to its oldest request still in flight.
 */

/**
 * One partition's offsets in flight. `floor` is the next offset to commit:
 * every offset below it has been handled. Offsets arrive in increasing order.
 */
export class PartitionLedger {
  floor: bigint | undefined;
  /** The commits in progress; settles when the newest offset asked for is sent. */
  committing: Promise<void> = Promise.resolve();
  /** The newest offset waiting to be committed while a commit is in flight. */
  private nextCommit: bigint | undefined;
  private commitLoop = false;
  /** Offset → handled; in arrival (= offset) order. */
  private readonly entries = new Map<bigint, boolean>();
  private confirmedOffset: bigint | undefined;

  has(offset: bigint): boolean {
    return (this.floor !== undefined && offset < this.floor) || this.entries.has(offset);
  }

  add(offset: bigint): void {
    this.entries.set(offset, false);
  }

  /** Marks an offset handled; returns the new floor when it moved. */
  done(offset: bigint): bigint | undefined {
    if (!this.entries.has(offset)) return undefined;
    this.entries.set(offset, true);
    let moved = false;
    for (const [pending, handled] of this.entries) {
      if (!handled) break;
      this.entries.delete(pending);
      this.floor = pending + 1n;
      moved = true;
    }
    return moved ? this.floor : undefined;
  }

  /**
   * Commits `offset` through `send`, one commit at a time: offsets asked for
   * while one is in flight collapse into the newest. At hundreds of requests a
   * second a commit per request would queue on the broker connection the
   * fetches use (Kafka answers a connection's requests in order).
   */
  commit(offset: bigint, send: (offset: bigint) => Promise<void>): void {
    if (this.nextCommit === undefined || offset > this.nextCommit) this.nextCommit = offset;
    if (this.commitLoop) return;
    this.commitLoop = true;
    this.committing = (async () => {
      try {
        while (this.nextCommit !== undefined) {
          const next = this.nextCommit;
          this.nextCommit = undefined;
          if (this.wants(next)) await send(next);
        }
      } finally {
        this.commitLoop = false;
      }
    })();
  }

  /** A commit is only sent when it moves forward. */
  wants(offset: bigint): boolean {
    return this.confirmedOffset === undefined || offset > this.confirmedOffset;
  }

  needsCommit(): boolean {
    return this.floor !== undefined && this.wants(this.floor);
  }

  confirmed(offset: bigint): void {
    if (this.confirmedOffset === undefined || offset > this.confirmedOffset) this.confirmedOffset = offset;
  }
}
