/**
 * Warm interfaces: interfaces the config marks `warm`, opened once at startup
 * (one handle, one kernel ring, one native reader thread and a lookback ring
 * each) so that a capture on them attaches in well under a millisecond
 * instead of building a ring, and can start with the packets from before its
 * request (`lookback`).
 *
 * The native reader does not reopen itself: when its interface goes down or
 * away it ends the captures attached (reason `error`, packets kept), reports
 * `down` and stops. This class logs and counts that, and opens a new reader
 * with backoff until the interface is back. `reconcile()` applies a config
 * (at start and on SIGHUP): new warm interfaces open, removed ones close,
 * changed ones reopen.
 */
import { knownCode, type ErrorCode } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { nativeAddon, type NativeAddon, type NativeWarmEvent, type NativeWarmInterface, type NativeWarmStats } from './native.js';

export interface WarmInterfaceSettings {
  name: string;
  /** Snap length of the shared handle; each capture cuts to its own. */
  snaplenBytes: number;
  promiscuous: boolean;
  /** Kernel ring (TPACKET_V3). */
  bufferBytes: number;
  /** Lookback ring: allocated at once when the interface opens; 0 keeps none. */
  lookbackBytes: number;
  lookbackSeconds: number;
  /** BPF of what the lookback ring keeps; empty: everything. */
  lookbackFilter: string;
}

export type WarmState = 'opening' | 'up' | 'down' | 'closed';

export interface WarmInterfaceStatus {
  name: string;
  state: WarmState;
  /** When the state last changed (ISO 8601). */
  since: string;
  /** Why it is down (the last failure), while it is. */
  error?: { code: ErrorCode; message: string };
  /** Failed opens since it was last up. */
  reopenAttempts: number;
  lookbackSeconds: number;
  ring: { capacityBytes: number; usedBytes: number; packets: number; oldestPacketAt: string | null };
  kernel: { received: number; dropped: number; ifDropped: number };
  packetsRead: number;
  capturesAttached: number;
  readerCpuSeconds: number;
}

export interface WarmInterfacesDeps {
  log: Log;
  metrics: Metrics;
  /** Delay before reopen attempt number `attempt` (1 for the first). */
  reopenDelayMs(attempt: number): number;
  addon?: () => NativeAddon;
}

/** One configured warm interface and its current native reader. */
class WarmInterface {
  state: WarmState = 'opening';
  sinceMs = Date.now();
  error: { code: ErrorCode; message: string } | undefined;
  reopenAttempts = 0;
  reader: NativeWarmInterface | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> = Promise.resolve();

  constructor(
    readonly settings: WarmInterfaceSettings,
    private readonly deps: Required<WarmInterfacesDeps>,
    private readonly log: Log,
  ) {}

  open(): void {
    if (this.closing) return;
    this.setState('opening');
    let resolveClosed!: () => void;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    const { settings } = this;
    let reader: NativeWarmInterface;
    const onEvent = (name: NativeWarmEvent['name'], payload: NativeWarmEvent['payload']): void => {
      const event = { name, payload } as NativeWarmEvent;
      switch (event.name) {
        case 'up':
          this.reopenAttempts = 0;
          this.error = undefined;
          this.setState('up');
          this.log.info({ linktype: event.payload.linktype, snaplen: event.payload.snaplen }, 'warm interface open');
          return;
        case 'down':
          this.error = { code: knownCode(event.payload.code, 'PCAPD_ERR_CAPTURE_FAILED'), message: event.payload.message };
          this.deps.metrics.warmInterfaceFailures.inc({ interface: settings.name });
          this.log.warn({ code: event.payload.code, reason: event.payload.message }, 'warm interface down; captures attached to it ended');
          return;
        case 'closed':
          if (this.reader === reader) this.reader = undefined;
          resolveClosed();
          if (this.closing) {
            this.setState('closed');
          } else {
            this.setState('down');
            this.scheduleReopen();
          }
          return;
        default: {
          const unreachable: never = event;
          throw new Error(`unknown warm interface event ${JSON.stringify(unreachable)}`);
        }
      }
    };
    reader = new (this.deps.addon().WarmInterface)(
      {
        name: settings.name,
        snaplen: settings.snaplenBytes,
        promisc: settings.promiscuous,
        bufferBytes: settings.bufferBytes,
        lookbackBytes: settings.lookbackBytes,
        lookbackMs: settings.lookbackSeconds * 1000,
        lookbackFilter: settings.lookbackFilter,
      },
      onEvent,
    );
    this.reader = reader;
    reader.start();
  }

  private scheduleReopen(): void {
    this.reopenAttempts += 1;
    const delayMs = this.deps.reopenDelayMs(this.reopenAttempts);
    this.log.info({ attempt: this.reopenAttempts, delayMs }, 'warm interface: reopening after a delay');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, delayMs);
    this.timer.unref();
  }

  /** Stops the reader (attached captures end with reason shutdown); resolves once its thread ended. */
  close(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.setState('closed');
    }
    this.reader?.stop();
    return this.closed;
  }

  private setState(state: WarmState): void {
    this.state = state;
    this.sinceMs = Date.now();
    this.deps.metrics.warmInterfaceUp.set({ interface: this.settings.name }, state === 'up' ? 1 : 0);
  }

  status(): WarmInterfaceStatus {
    const stats: NativeWarmStats | undefined = this.reader?.stats();
    const status: WarmInterfaceStatus = {
      name: this.settings.name,
      state: this.state,
      since: new Date(this.sinceMs).toISOString(),
      reopenAttempts: this.reopenAttempts,
      lookbackSeconds: this.settings.lookbackSeconds,
      ring: {
        capacityBytes: stats?.ringCapacityBytes ?? 0,
        usedBytes: stats?.ringUsedBytes ?? 0,
        packets: stats?.ringPackets ?? 0,
        oldestPacketAt: stats !== undefined && stats.ringOldestNs !== 0n ? new Date(Number(stats.ringOldestNs / 1_000_000n)).toISOString() : null,
      },
      kernel: { received: stats?.received ?? 0, dropped: stats?.dropped ?? 0, ifDropped: stats?.ifDropped ?? 0 },
      packetsRead: stats?.packetsRead ?? 0,
      capturesAttached: stats?.attached ?? 0,
      readerCpuSeconds: (stats?.cpuNs ?? 0) / 1e9,
    };
    if (this.error !== undefined && this.state !== 'up') status.error = this.error;
    return status;
  }
}

export class WarmInterfaces {
  private readonly deps: Required<WarmInterfacesDeps>;
  private readonly interfaces = new Map<string, WarmInterface>();

  constructor(deps: WarmInterfacesDeps) {
    this.deps = { addon: nativeAddon, ...deps };
  }

  /** Opens what is new, closes what is gone, reopens what changed. */
  async reconcile(wanted: readonly WarmInterfaceSettings[]): Promise<void> {
    const next = new Map(wanted.map((settings) => [settings.name, settings]));
    const closing: Promise<void>[] = [];
    for (const [name, current] of this.interfaces) {
      const settings = next.get(name);
      if (settings !== undefined && JSON.stringify(settings) === JSON.stringify(current.settings)) continue;
      this.interfaces.delete(name);
      this.deps.log.info({ interface: name, reason: settings === undefined ? 'removed' : 'changed' }, 'warm interface closing');
      closing.push(current.close());
      this.updateRingGauge(name, 0);
    }
    await Promise.all(closing);
    for (const settings of wanted) {
      if (this.interfaces.has(settings.name)) continue;
      const warm = new WarmInterface(settings, this.deps, this.deps.log.child({ interface: settings.name }));
      this.interfaces.set(settings.name, warm);
      warm.open();
      this.updateRingGauge(settings.name, settings.lookbackBytes);
    }
  }

  /** Configured warm (whatever its state). */
  isWarm(name: string): boolean {
    return this.interfaces.has(name);
  }

  /** The reader to attach a capture to, when the interface is warm and up. */
  readerFor(name: string): NativeWarmInterface | undefined {
    const warm = this.interfaces.get(name);
    return warm?.state === 'up' ? warm.reader : undefined;
  }

  lookbackSeconds(name: string): number {
    return this.interfaces.get(name)?.settings.lookbackSeconds ?? 0;
  }

  /** Memory the lookback rings hold, allocated once whatever the traffic. */
  ringBytes(): number {
    let total = 0;
    for (const warm of this.interfaces.values()) total += warm.settings.lookbackBytes;
    return total;
  }

  status(): WarmInterfaceStatus[] {
    return [...this.interfaces.values()].map((warm) => warm.status());
  }

  async close(): Promise<void> {
    const all = [...this.interfaces.values()];
    this.interfaces.clear();
    await Promise.all(all.map((warm) => warm.close()));
  }

  private updateRingGauge(name: string, bytes: number): void {
    this.deps.metrics.lookbackRingBytes.set({ interface: name }, bytes);
  }
}
