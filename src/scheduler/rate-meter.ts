/**
 * Packet and bit rates of a running capture over its last interval, for
 * GET /captures/:id: the counters are sampled when read, and a rate is the
 * change since the previous sample at least `intervalMs` old, so frequent
 * polling does not shrink the interval to noise and an idle API costs nothing.
 */
interface Sample {
  atMs: number;
  packets: number;
  bytes: number;
}

export interface Rates {
  packetsPerSecond: number;
  bitsPerSecond: number;
  /** The interval the rates are over. */
  intervalSeconds: number;
}

export class RateMeter {
  private previous: Sample;
  private latest: Sample;
  private readonly intervalMs: number;

  constructor(startMs: number, intervalMs = 1000) {
    this.previous = { atMs: startMs, packets: 0, bytes: 0 };
    this.latest = this.previous;
    this.intervalMs = intervalMs;
  }

  read(nowMs: number, packets: number, bytes: number): Rates {
    if (nowMs - this.latest.atMs >= this.intervalMs) {
      this.previous = this.latest;
      this.latest = { atMs: nowMs, packets, bytes };
    }
    const from = this.previous;
    const seconds = (nowMs - from.atMs) / 1000;
    if (seconds <= 0) return { packetsPerSecond: 0, bitsPerSecond: 0, intervalSeconds: 0 };
    return {
      packetsPerSecond: Math.round(((packets - from.packets) / seconds) * 10) / 10,
      bitsPerSecond: Math.round(((bytes - from.bytes) * 8) / seconds),
      intervalSeconds: Math.round(seconds * 1000) / 1000,
    };
  }
}
