/**
 * Giving a finished capture's memory back to the system.
 *
 * A capture's file lives in native chunks (mmap) handed to JavaScript as
 * external Buffers, unmapped when V8 collects them. V8 collects when the JS
 * heap asks for it, and an idle daemon's heap asks for nothing: measured here,
 * after a 77 MB capture was delivered and dropped, RSS stayed ~80 MB higher
 * until the next capture's allocations forced a collection. So once pcapd
 * lets go of a large capture it asks for one full collection itself.
 *
 * That needs V8's `gc` function: bin/pcapd starts node with --expose-gc for
 * this. Without it (pcapd's modules run in a test process) nothing is done.
 */

/** Smaller captures are left to V8's own pace: their memory is not worth a full collection. */
export const COLLECT_AFTER_BYTES = 8 * 1024 * 1024;
/** Lets the stack that dropped the last reference unwind, and batches captures ending together into one collection. */
const COLLECT_DELAY_MS = 200;

let released = 0;
let timer: NodeJS.Timeout | undefined;

function collect(): void {
  timer = undefined;
  released = 0;
  (globalThis as { gc?: () => void }).gc?.();
}

/** pcapd no longer holds `bytes` of capture files: collect them once enough has piled up. */
export function captureMemoryReleased(bytes: number): void {
  released += bytes;
  if (released < COLLECT_AFTER_BYTES || timer !== undefined) return;
  timer = setTimeout(collect, COLLECT_DELAY_MS);
  timer.unref();
}
