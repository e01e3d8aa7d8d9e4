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

// A port no other test uses: these captures listen on the shared loopback.
const PORT = 9318;
const CAPTURES = 120;
const AT_ONCE = 6;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Polls until `done`, collecting garbage between polls only when asked to. */
async function settle<T>(probe: () => T, done: (value: T) => boolean, options: { collect: boolean; timeoutMs: number }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let value = probe();
  while (!done(value) && Date.now() < deadline) {
    if (options.collect) gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = probe();
  }
  return value;
}

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
  const joined = await settle(captureResources, (now) => now.captureThreads <= before.captureThreads, { collect: false, timeoutMs: 2_000 });
  expect(joined.captureThreads).toBe(before.captureThreads);
  const collected = await settle(captureResources, (now) => now.captureObjects <= before.captureObjects, { collect: true, timeoutMs: 10_000 });
  expect(collected.captureObjects).toBe(before.captureObjects);
});
