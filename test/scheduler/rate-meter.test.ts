import { describe, expect, it } from 'vitest';

import { RateMeter } from '../../src/scheduler/rate-meter.js';

describe('RateMeter', () => {
  it('gives packets/s and bits/s since arming until a reading is a second old', () => {
    const meter = new RateMeter(1000);
    expect(meter.read(1500, 50, 10_000)).toEqual({ packetsPerSecond: 100, bitsPerSecond: 160_000, intervalSeconds: 0.5 });
  });

  it('measures over the interval since the previous reading at least a second old, however often it is read', () => {
    const meter = new RateMeter(0);
    meter.read(1000, 100, 100_000); // 100 packets/s in the first second
    expect(meter.read(2000, 1100, 200_000)).toEqual({ packetsPerSecond: 1000, bitsPerSecond: 800_000, intervalSeconds: 1 });
    // Read again 100 ms later: over the 1.1 s since the reading at 1 s, not over 100 ms of noise (which would say 0).
    expect(meter.read(2100, 1100, 200_000)).toEqual({ packetsPerSecond: 909.1, bitsPerSecond: 727_273, intervalSeconds: 1.1 });
  });

  it('says zero over no time at all', () => {
    expect(new RateMeter(5000).read(5000, 0, 0)).toEqual({ packetsPerSecond: 0, bitsPerSecond: 0, intervalSeconds: 0 });
  });
});
