/**
 * A daemon runs for months and starts a capture per request: whatever a
 * capture holds natively must go when it ends. Its thread is joined as soon
 * as its last event is delivered (not when the garbage collector happens to
 * run), and its JavaScript object is collectable once the caller lets go.
 */
import { createSocket } from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { expect, it } from 'vitest';

import { captureResources, startCapture, type CaptureHandle } from '../../src/capture/capture.js';
import { waitFor } from '../helpers/wait.js';

// A port no other test uses: these captures listen on the shared loopback.
const PORT = 9318;
const CAPTURES = 120;
const AT_ONCE = 6;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

it('releases every capture thread when its capture ends, and every capture object once dropped', { timeout: 120_000 }, async () => {
  const before = captureResources();
  const trickle = createSocket('udp4');
  const timer = setInterval(() => trickle.send(Buffer.from([1]), PORT, '127.0.0.1'), 2);
  let finished = 0;
  try {
    const run = async (): Promise<void> => {
      while (finished < CAPTURES) {
        finished += 1;
        const handle: CaptureHandle = startCapture({
          interfaces: [{ name: 'lo' }],
          filter: `udp dst port ${PORT}`,
          snaplenBytes: 128,
          format: 'pcapng',
          bufferBytes: 1024 * 1024,
          limits: { packets: 1, bytes: 0, durationMs: 2_000, idleMs: 0 },
        });
        const result = await handle.done;
        expect(result.packets).toBe(1);
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, run));
  } finally {
    clearInterval(timer);
    trickle.close();
  }

  // Joined right after the last event (no garbage collection needed).
  const seen = (): string => `now ${JSON.stringify(captureResources())}, before ${JSON.stringify(before)}`;
  await waitFor('every capture thread joined', () => captureResources().captureThreads <= before.captureThreads, {
    timeoutMs: 2_000,
    intervalMs: 20,
    detail: seen,
  });
  expect(captureResources().captureThreads).toBe(before.captureThreads);
  // Collecting garbage between probes: a dropped capture object goes only when the collector runs.
  const collected = (): boolean => {
    gc();
    return captureResources().captureObjects <= before.captureObjects;
  };
  await waitFor('every dropped capture object collected', collected, { timeoutMs: 10_000, intervalMs: 20, detail: seen });
  expect(captureResources().captureObjects).toBe(before.captureObjects);
});
