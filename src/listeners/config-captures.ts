/**
 * The named captures declared in the config ([[capture]] blocks): a source
 * of requests like any listener, except that its requests come from the
 * config. Each block becomes a request with its name, checked by the same
 * intake as every other (source "config"), started when pcapd starts and so
 * again after every restart, and reconciled on SIGHUP: a block added starts,
 * one removed stops (reason cancelled, its last segment delivered), one
 * changed (a new BPF, interface, segment or ring) is stopped and started
 * again under its name.
 *
 * A capture of a block that ends on its own (its interface went away, a
 * duration ran out) or is refused (an interface not there yet) is started
 * again with backoff, as long as the block stays in the config. One stopped
 * by DELETE stays stopped until the next SIGHUP or restart: the operator's
 * stop wins over the config until the config is read again.
 */
import { backoffDelayMs, type BackoffOptions } from '../backoff.js';
import type { Clock } from '../clock.js';
import type { CaptureBlock, Config } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import type { IntakeResult, RequestHandler } from '../requests/intake-contract.js';
import { raceTimeout } from '../timers.js';

export const CONFIG_SOURCE = 'config';

/** A failed or ended block capture is started again after 1 s, 2 s, … at most 60 s. */
const RESTART_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 60_000 };
/**
 * A capture that ran longer than the longest restart wait was healthy: its
 * end starts the backoff afresh. Without this, a block whose capture failed
 * a few times at boot waited a full minute after each end for the rest of
 * pcapd's life, an hour-long healthy run not mattering.
 */
const HEALTHY_RUN_MS = RESTART_BACKOFF.capMs;
/** How long a reload waits for a changed capture to end before starting it anew. */
const STOP_WAIT_MS = 30_000;

export interface ConfigCapturesDeps {
  config(): Config;
  /** Stops the running capture of that name (DELETE /captures/:name). */
  cancel(name: string): boolean;
  log: Log;
  clock: Clock;
}

interface Held {
  /** The block as it was started: a different one restarts the capture. */
  key: string;
  /** Settles with the stop reason when the capture ends (delivered), or at once (undefined) when it was refused. */
  ended: Promise<string | undefined>;
  restartTimer?: NodeJS.Timeout;
  /** Restarts since the capture last ran healthily (0: started by a reconcile). */
  attempts: number;
  /** Monotonic: how long the capture ran decides whether its end is one more failure in a row. */
  startedAtMs: number;
}

/** The request a [[capture]] block stands for. */
export function requestOfBlock(block: CaptureBlock): Record<string, unknown> {
  const request: Record<string, unknown> = { node: 'any', name: block.name, bpf: block.bpf };
  if (block.interface.length > 0) request['interface'] = block.interface;
  if (block.alias.length > 0) request['alias'] = block.alias;
  if (block.snap > 0) request['snap'] = block.snap;
  if (block.duration > 0) request['duration'] = block.duration;
  if (block.format !== undefined) request['format'] = block.format;
  if (block.folder !== undefined) request['folder'] = block.folder;
  request['segment'] = {
    ...(block.segmentseconds === undefined ? {} : { seconds: block.segmentseconds }),
    ...(block.segmentbytes === undefined ? {} : { bytes: block.segmentbytes }),
    ...(block.segmentalign ? { align: true } : {}),
  };
  if (block.ringfiles > 0 || block.ringbytes > 0) {
    request['ring'] = { ...(block.ringfiles > 0 ? { files: block.ringfiles } : {}), ...(block.ringbytes > 0 ? { bytes: block.ringbytes } : {}) };
  }
  return request;
}

export class ConfigCaptures {
  private readonly deps: ConfigCapturesDeps;
  private readonly held = new Map<string, Held>();
  private onRequest: RequestHandler | undefined;
  private stopped = false;

  constructor(deps: ConfigCapturesDeps) {
    this.deps = deps;
  }

  async start(onRequest: RequestHandler): Promise<void> {
    this.onRequest = onRequest;
    await this.reconcile();
  }

  /** Brings the running block captures in line with the config (start, and every SIGHUP). */
  async reconcile(): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map(this.deps.config().capture.map((block) => [block.name, block]));
    const changed: Array<Promise<void>> = [];
    for (const [name, held] of this.held) {
      const block = wanted.get(name);
      if (block !== undefined && keyOf(block) === held.key) continue;
      changed.push(this.stopHeld(name, held, block === undefined ? 'removed from the config' : 'changed in the config'));
    }
    await Promise.all(changed);
    for (const block of wanted.values()) if (!this.held.has(block.name)) await this.submit(block);
  }

  /** pcapd is stopping: no restart; the scheduler's drain ends the captures (reason shutdown). */
  stop(): void {
    this.stopped = true;
    for (const held of this.held.values()) clearTimeout(held.restartTimer);
  }

  private async stopHeld(name: string, held: Held, why: string): Promise<void> {
    clearTimeout(held.restartTimer);
    this.held.delete(name);
    this.deps.log.info({ name, why }, 'configured capture stopping');
    this.deps.cancel(name);
    // The name is free once the capture has ended and been delivered.
    await raceTimeout(held.ended, STOP_WAIT_MS);
  }

  private async submit(block: CaptureBlock, attempts = 0): Promise<void> {
    const onRequest = this.onRequest;
    if (onRequest === undefined || this.stopped) return;
    const key = keyOf(block);
    const result = await onRequest({ body: JSON.stringify(requestOfBlock(block)), source: CONFIG_SOURCE });
    const held: Held = { key, ended: endedOf(result), attempts, startedAtMs: this.deps.clock.monotonicMs() };
    this.held.set(block.name, held);
    if (result.kind === 'accepted') {
      this.deps.log.info({ name: block.name, id: result.id }, 'configured capture started');
    } else {
      this.deps.log.error({ name: block.name, result }, 'configured capture not started; trying again with backoff');
    }
    void held.ended.then((reason) => this.restartLater(block.name, held, reason));
  }

  /** The block's capture ended on its own (or was refused): start it again while the block stays. */
  private restartLater(name: string, held: Held, reason: string | undefined): void {
    if (this.stopped || this.held.get(name) !== held) return;
    if (reason === 'cancelled') {
      // Not stopHeld's own cancel (that forgets the capture first): a DELETE. The next reconcile starts it again.
      this.held.delete(name);
      this.deps.log.warn({ name }, 'configured capture stopped by DELETE; it starts again on SIGHUP or restart');
      return;
    }
    const ranMs = this.deps.clock.monotonicMs() - held.startedAtMs;
    const attempt = ranMs > HEALTHY_RUN_MS ? 1 : held.attempts + 1;
    const delayMs = backoffDelayMs(attempt, RESTART_BACKOFF);
    this.deps.log.warn({ name, attempt, ranSeconds: Math.round(ranMs / 1000), delayMs }, 'configured capture ended; starting it again');
    held.restartTimer = setTimeout(() => {
      const block = this.deps.config().capture.find((candidate) => candidate.name === name);
      if (this.stopped || this.held.get(name) !== held || block === undefined || keyOf(block) !== held.key) return;
      this.held.delete(name);
      void this.submit(block, attempt);
    }, delayMs);
    held.restartTimer.unref();
  }
}

function keyOf(block: CaptureBlock): string {
  return JSON.stringify(requestOfBlock(block));
}

function endedOf(result: IntakeResult): Promise<string | undefined> {
  return result.kind === 'accepted' ? result.outcome.then((outcome) => outcome.reason) : Promise.resolve(undefined);
}
