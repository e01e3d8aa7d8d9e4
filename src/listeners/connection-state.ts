/**
 * A broker listener's connection as operators see it: pcapd_listener_up,
 * one warning and one pcapd_listener_disconnects_total per lost connection,
 * one line when it is back. Repeated failed attempts while already down add
 * no further disconnects (each attempt is logged at debug by its listener).
 */
import { errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';

export class ConnectionState {
  private readonly metrics: Metrics;
  private readonly listener: string;
  private readonly log: Log;
  private state: 'never' | 'up' | 'down' = 'never';
  private downSinceMs = 0;

  constructor(listener: string, log: Log, metrics: Metrics) {
    this.listener = listener;
    this.log = log;
    this.metrics = metrics;
    metrics.listenerUp.set({ listener }, 0);
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  up(fields: Record<string, unknown>, message: string): void {
    if (this.state === 'up') return;
    const downMs = this.state === 'down' ? Date.now() - this.downSinceMs : undefined;
    this.state = 'up';
    this.metrics.listenerUp.set({ listener: this.listener }, 1);
    this.log.info({ ...fields, ...(downMs === undefined ? {} : { downMs }) }, downMs === undefined ? message : `${message} (reconnected)`);
  }

  /** Counts a disconnect (or a first connection that failed) once per outage. */
  down(err: unknown, message: string): void {
    if (this.state === 'down') return;
    const first = this.state === 'never';
    this.state = 'down';
    this.downSinceMs = Date.now();
    this.metrics.listenerUp.set({ listener: this.listener }, 0);
    this.metrics.listenerDisconnects.inc({ listener: this.listener });
    this.metrics.listenerErrors.inc({ listener: this.listener, reason: 'PCAPD_ERR_BROKER_CONNECTION' });
    this.log.warn({ code: 'PCAPD_ERR_BROKER_CONNECTION', err: errorMessage(err), firstConnection: first }, `${message}; reconnecting with backoff`);
  }

  /** A deliberate stop: no more counting. */
  stopped(): void {
    this.state = 'never';
    this.metrics.listenerUp.set({ listener: this.listener }, 0);
  }
}
