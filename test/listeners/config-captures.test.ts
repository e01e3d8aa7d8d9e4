import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Clock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { ConfigCaptures, requestOfBlock } from '../../src/listeners/config-captures.js';
import { createLogger } from '../../src/log/logger.js';
import type { FinalOutcome } from '../../src/model/outcome.js';
import type { RequestHandler } from '../../src/requests/intake-contract.js';
import { validateRequest } from '../../src/requests/validate-request.js';
import { makeSpooledOutcome } from '../helpers/job.js';

function blocks(capture: unknown[]) {
  return ConfigSchema.parse({ capture }).capture;
}

describe('[[capture]] blocks', () => {
  it('become requests the request schema accepts, every key carried over', () => {
    const [block] = blocks([
      {
        name: 'sip',
        alias: ['voice'],
        bpf: 'udp port 5060',
        snap: 1500,
        format: 'pcap',
        folder: '{name}/%Y',
        duration: 60,
        segmentseconds: 3600,
        segmentbytes: 10_000,
        segmentalign: true,
        ringfiles: 24,
        ringbytes: 1_000_000,
      },
    ]);
    expect(validateRequest(requestOfBlock(block!))).toEqual({
      node: 'any',
      name: 'sip',
      alias: ['voice'],
      bpf: 'udp port 5060',
      snap: 1500,
      format: 'pcap',
      folder: '{name}/%Y',
      duration: 60,
      segment: { seconds: 3600, bytes: 10_000, align: true },
      ring: { files: 24, bytes: 1_000_000 },
    });
  });

  it('leaves defaults out, so the request takes the configured ones', () => {
    const [block] = blocks([{ name: 'ctl', interface: ['eth1'], segmentbytes: 4096 }]);
    expect(requestOfBlock(block!)).toEqual({ node: 'any', name: 'ctl', bpf: '', interface: ['eth1'], segment: { bytes: 4096 } });
  });

  it('refuses a block without segments and two blocks of one name', () => {
    expect(() => blocks([{ name: 'a', interface: ['eth1'] }])).toThrow(/segmentseconds or segmentbytes/u);
    expect(() =>
      blocks([
        { name: 'a', segmentseconds: 1 },
        { name: 'a', segmentseconds: 2 },
      ]),
    ).toThrow(/same name/u);
    for (const name of ['../x', 'a..b', '.hidden', 'a/b', '']) expect(() => blocks([{ name, segmentseconds: 1 }]), name).toThrow();
  });
});

/**
 * One [[capture]] block whose captures the test ends by hand, on a fake
 * monotonic clock and fake timers: `starts` counts the captures the block
 * started, `end()` ends the newest after it ran `ranMs`.
 */
function blockWithFakeCaptures() {
  let monotonicMs = 0;
  const clock: Clock = { nowMs: () => monotonicMs, monotonicMs: () => monotonicMs };
  const ends: Array<(outcome: FinalOutcome) => void> = [];
  const onRequest: RequestHandler = async () => {
    const outcome = new Promise<FinalOutcome>((resolve) => ends.push(resolve));
    return { kind: 'accepted', id: `run-${ends.length}`, queued: false, outcome, armed: outcome };
  };
  const config = ConfigSchema.parse({ capture: [{ name: 'ctl', interface: ['eth1'], segmentseconds: 60 }] });
  const captures = new ConfigCaptures({ config: () => config, cancel: () => false, log: createLogger({ level: 'silent' }).log, clock });
  return {
    captures,
    onRequest,
    starts: () => ends.length,
    /** Ends the running capture on its own (not cancelled) after it ran `ranMs`. */
    async end(ranMs: number): Promise<void> {
      monotonicMs += ranMs;
      ends.at(-1)?.(makeSpooledOutcome(`run-${ends.length}`));
      await vi.advanceTimersByTimeAsync(0);
    },
    async wait(ms: number): Promise<void> {
      monotonicMs += ms;
      await vi.advanceTimersByTimeAsync(ms);
    },
  };
}

describe('[[capture]] restarts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Eight captures that each fail at once: the backoff has grown to its cap (30 to 60 s). */
  async function failEightTimes(block: ReturnType<typeof blockWithFakeCaptures>): Promise<void> {
    await block.captures.start(block.onRequest);
    for (let failure = 1; failure <= 8; failure++) {
      await block.end(10);
      await block.wait(60_000);
      expect(block.starts()).toBe(failure + 1);
    }
  }

  it('backs off up to a minute while the capture keeps failing at once', async () => {
    const block = blockWithFakeCaptures();
    await failEightTimes(block);
    await block.end(10);
    await block.wait(29_000);
    expect(block.starts()).toBe(9);
    await block.wait(31_000);
    expect(block.starts()).toBe(10);
    block.captures.stop();
  });

  it('starts again within a second after a capture that ran longer than the longest backoff, however many failures came before', async () => {
    const block = blockWithFakeCaptures();
    await failEightTimes(block);
    await block.end(10 * 60_000);
    await block.wait(1_000);
    expect(block.starts()).toBe(10);
    // The run after it fails at once: the backoff grows again from its start.
    await block.end(10);
    await block.wait(2_000);
    expect(block.starts()).toBe(11);
    block.captures.stop();
  });
});
