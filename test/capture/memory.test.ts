/**
 * captureMemoryReleased asks V8 for one full collection once enough capture
 * memory has been let go, batching captures that end together.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

import { captureMemoryReleased, COLLECT_AFTER_BYTES } from '../../src/capture/memory.js';

const calls: unknown[] = [];
const global = globalThis as { gc?: (() => void) | undefined };
let saved: (() => void) | undefined;

beforeEach(() => {
  vi.useFakeTimers();
  saved = global.gc;
  global.gc = () => calls.push('gc');
  calls.length = 0;
});

afterEach(() => {
  vi.runAllTimers();
  vi.useRealTimers();
  global.gc = saved;
});

it('collects once after a large capture is released, and once for several released together', () => {
  captureMemoryReleased(COLLECT_AFTER_BYTES);
  captureMemoryReleased(COLLECT_AFTER_BYTES * 3);
  expect(calls).toEqual([]);
  vi.runAllTimers();
  expect(calls).toEqual(['gc']);
});

it('leaves small captures to V8 until together they are worth a collection', () => {
  captureMemoryReleased(COLLECT_AFTER_BYTES / 4);
  vi.runAllTimers();
  expect(calls).toEqual([]);
  for (let i = 0; i < 3; i++) captureMemoryReleased(COLLECT_AFTER_BYTES / 4);
  vi.runAllTimers();
  expect(calls).toEqual(['gc']);
});
