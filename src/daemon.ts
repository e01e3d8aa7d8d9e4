/**
 * The daemon: wires config → listeners → intake → scheduler → capture →
 * sinks. This is the only module that knows which listener and sink adapters
 * exist.
 *
 * Signals: SIGTERM/SIGINT stop intake, end running captures early (reason
 * "shutdown"), deliver them and exit 0; SIGHUP reloads the config file (a bad
 * new config is rejected, logged and counted, and the old one kept).
 */

import { backoffDelayMs } from './backoff.js';
import { libpcapVersion, validateFilter } from './capture/devices.js';
import { capturePermission, permissionAdvice, type CapturePermission } from './capture/permission.js';
import { WarmInterfaces, type WarmInterfaceSettings } from './capture/warm-interfaces.js';
import { systemClock, type Clock } from './clock.js';
import type { ConfigOverrides } from './config/flags.js';
import { loadConfigFile, nodeName } from './config/load.js';
import type { Config } from './config/schema.js';
import { warmEntries } from './config/warm.js';
import { errorMessage, PcapdError } from './errors.js';
import { ConfigCaptures } from './listeners/config-captures.js';
import type { HttpListener } from './listeners/http.js';
import type { Listener } from './listeners/listener.js';
import type { RequestHandler } from './requests/intake-contract.js';
import { createLogger, type Log, type RootLogger } from './log/logger.js';
import { Metrics } from './metrics/metrics.js';
import { Intake } from './requests/intake.js';
import { ResultPublisher } from './results/publisher.js';
import { DeliveryService } from './delivery/delivery.js';
import { Scheduler } from './scheduler/scheduler.js';
import { createLocalRoot, LocalSink } from './sinks/local.js';
import { LocalRetention } from './sinks/local-retention.js';
import type { Sink } from './sinks/sink.js';
import { Spool } from './spool/spool.js';
import { VERSION } from './version.js';

export interface DaemonOptions {
  configPath: string;
  overrides?: ConfigOverrides;
  clock?: Clock;
}

/** A change in one of these sections restarts the listeners on SIGHUP. */
const LISTENER_SECTIONS = ['http', 'redis', 'kafka', 'sqs'] as const;

/** A warm interface that went away is reopened after 0.5 s, 1 s, 2 s, … at most 30 s (with jitter). */
const WARM_REOPEN_BACKOFF = { baseMs: 500, capMs: 30_000 };

/** What the config says each warm interface should be. */
function warmSettings(config: Config): WarmInterfaceSettings[] {
  return warmEntries(config).map((entry) => ({
    name: entry.name,
    snaplenBytes: config.general.maxsnaplength,
    promiscuous: config.general.promiscuous,
    bufferBytes: entry.bufferbytes,
    lookbackBytes: entry.lookbackbytes,
    lookbackSeconds: entry.lookbackseconds,
    lookbackFilter: entry.lookbackfilter,
  }));
}

/** A ring filter that does not compile would keep a warm interface from ever opening: refuse the config. */
function checkLookbackFilters(config: Config): void {
  for (const entry of warmEntries(config)) {
    try {
      validateFilter(entry.lookbackfilter);
    } catch (err: unknown) {
      throw new PcapdError('PCAPD_ERR_CONFIG_INVALID', `interface ${entry.name}: lookbackfilter: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** Lets go of the connection pools of sinks a reload replaced, once the uploads still running on them end. */
function closeSinks(sinks: readonly Sink[]): void {
  for (const sink of sinks) {
    void Promise.resolve()
      .then(() => sink.close?.())
      .catch(() => undefined);
  }
}

function isHttpListener(listener: Listener): listener is HttpListener {
  return listener.name === 'http';
}

export class Daemon {
  private config: Config;
  private sinks: Sink[] = [];
  private listeners: Listener[] = [];
  private readonly root: RootLogger;
  private readonly log: Log;
  private readonly metrics: Metrics;
  private readonly scheduler: Scheduler;
  private readonly intake: Intake;
  /** Sinks in parallel, the spool for what fails; `delivery.onDelivered` reports later arrivals. */
  private readonly delivery: DeliveryService;
  private readonly spool: Spool;
  private readonly results: ResultPublisher;
  private readonly warm: WarmInterfaces;
  /** The [[capture]] blocks' named captures. */
  private readonly configCaptures: ConfigCaptures;
  /** [retention]: removes the oldest files under general.localdir past its limits. */
  private readonly retention: LocalRetention;
  private readonly options: DaemonOptions;
  /** Read once at start: capabilities do not change under a running process. */
  private readonly permission: CapturePermission = capturePermission();
  private readonly startedAtMs = Date.now();
  private stopping: Promise<number> | undefined;

  private constructor(options: DaemonOptions, config: Config) {
    this.options = options;
    this.config = config;
    this.root = createLogger({ syslog: config.syslog });
    this.log = this.root.log.child({ component: 'daemon' });
    this.metrics = new Metrics({ version: VERSION, libpcap: libpcapVersion() });
    const clock = options.clock ?? systemClock;
    this.spool = new Spool({
      settings: () => this.config.spool,
      sinks: () => this.sinks,
      log: this.root.log,
      metrics: this.metrics,
      clock,
      // Called once the spool is open, by then delivery exists.
      onChange: (change) => this.delivery.applySpoolChange(change),
    });
    this.delivery = new DeliveryService({
      sinks: () => this.sinks,
      spool: this.spool,
      log: this.root.log.child({ component: 'delivery' }),
      metrics: this.metrics,
      amendOutcome: (id, change, fallback) => this.scheduler.amendOutcome(id, change, fallback),
    });
    this.warm = new WarmInterfaces({
      log: this.root.log.child({ component: 'warm' }),
      metrics: this.metrics,
      reopenDelayMs: (attempt) => backoffDelayMs(attempt, WARM_REOPEN_BACKOFF),
    });
    this.scheduler = new Scheduler({
      warm: this.warm,
      config: () => this.config,
      log: this.root.log.child({ component: 'scheduler' }),
      metrics: this.metrics,
      clock,
      deliver: (capture, outcome, log) => this.delivery.deliver(capture, outcome, log),
    });
    this.intake = new Intake({
      config: () => this.config,
      node: () => nodeName(this.config),
      scheduler: this.scheduler,
      log: this.root.log.child({ component: 'intake' }),
      metrics: this.metrics,
      clock,
    });
    this.results = new ResultPublisher({
      config: () => this.config,
      node: () => nodeName(this.config),
      log: this.root.log.child({ component: 'results' }),
      metrics: this.metrics,
      clock,
    });
    this.delivery.onDelivered((outcome, context) => this.results.lateOutcome(outcome, context));
    this.configCaptures = new ConfigCaptures({
      config: () => this.config,
      cancel: (name) => this.scheduler.cancel(name),
      log: this.root.log.child({ component: 'config-captures' }),
      clock,
    });
    this.retention = new LocalRetention({ config: () => this.config, log: this.root.log, metrics: this.metrics, clock });
  }

  /** What every listener calls: the intake's decision, and the result event once there is one. */
  private readonly handleRequest: RequestHandler = async (raw) => {
    const result = await this.intake.handle(raw);
    this.results.track(raw, result);
    return result;
  };

  static async create(options: DaemonOptions): Promise<Daemon> {
    return new Daemon(options, await loadConfigFile(options.configPath, options.overrides));
  }

  async start(): Promise<void> {
    checkLookbackFilters(this.config);
    this.sinks = await this.buildSinks(this.config);
    // Before any listener: captures spooled before a restart resume, and a
    // second pcapd on the same spool is refused before it takes requests.
    await this.spool.open();
    // Opening is asynchronous (each reader opens on its own thread): requests
    // arriving before a warm interface is up take the cold path.
    await this.warm.reconcile(warmSettings(this.config));
    this.retention.start();
    this.listeners = await this.buildListeners(this.config);
    for (const listener of this.listeners) await listener.start(this.handleRequest);
    await this.configCaptures.start(this.handleRequest);
    if (this.listeners.length === 0 && this.config.capture.length === 0) this.log.warn('no listener enabled: pcapd will receive no request');
    if (this.sinks.length === 0) this.log.warn('no sink enabled: captures are only kept for GET /captures/:id/pcap');
    if (!this.permission.permitted) {
      this.log.error({ code: 'PCAPD_ERR_PERMISSION_DENIED', missing: this.permission.missing }, permissionAdvice(this.permission.missing));
    }
    this.log.info(
      {
        version: VERSION,
        node: nodeName(this.config),
        config: this.options.configPath,
        listeners: this.listeners.map((l) => l.name),
        sinks: this.sinks.map((s) => s.name),
        warm: warmEntries(this.config).map((entry) => entry.name),
        captures: this.config.capture.map((block) => block.name),
        http: this.httpAddress(),
      },
      'pcapd started',
    );
  }

  /** Where the HTTP API listens, once started. */
  httpAddress(): { host: string; port: number } | undefined {
    const http = this.listeners.find(isHttpListener);
    return http?.address();
  }

  /** SIGHUP: validate the file again; apply it only when valid. */
  async reload(): Promise<boolean> {
    let next: Config;
    try {
      next = await loadConfigFile(this.options.configPath, this.options.overrides);
      checkLookbackFilters(next);
    } catch (err: unknown) {
      this.metrics.configReloads.inc({ outcome: 'rejected' });
      this.log.error({ err: errorMessage(err) }, 'config reload rejected; keeping the running config');
      return false;
    }
    const previous = this.config;
    this.config = next;
    const previousSinks = this.sinks;
    this.sinks = await this.buildSinks(next);
    closeSinks(previousSinks);
    // The new config may be the fix (credentials, a bucket): spooled captures, failed ones too, are tried now.
    this.spool.retryNow();
    // Warm interfaces added open, removed ones close (their captures end with reason shutdown), changed ones reopen.
    await this.warm.reconcile(warmSettings(next));
    // [[capture]] blocks added start, removed ones stop, changed ones restart under their name.
    await this.configCaptures.reconcile();
    // Only listeners whose section changed are restarted (all of them when the
    // node name, which names their consumer groups, changed): a restart
    // waits for the captures its listener is to acknowledge.
    const nodeChanged = nodeName(previous) !== nodeName(next);
    const changed = LISTENER_SECTIONS.filter((section) => nodeChanged || JSON.stringify(previous[section]) !== JSON.stringify(next[section]));
    if (changed.length > 0) await this.restartListeners(new Set(changed));
    this.metrics.configReloads.inc({ outcome: 'ok' });
    this.log.info({ sinks: this.sinks.map((s) => s.name) }, 'config reloaded');
    return true;
  }

  /** Stops intake, ends and delivers running captures, returns the exit code. */
  shutdown(signal: string): Promise<number> {
    this.stopping ??= this.doShutdown(signal);
    return this.stopping;
  }

  private async doShutdown(signal: string): Promise<number> {
    this.log.info({ signal }, 'shutting down: no new requests; ending running captures');
    // Listeners stop reading while the scheduler ends running captures: each
    // listener's stop() waits for its captures to be delivered so it can
    // acknowledge them (a Kafka commit, an SQS delete, an XACK), and an HTTP
    // request waiting for its outcome returns once the capture ends. Run one
    // after the other, each would wait for the other.
    this.configCaptures.stop();
    const drainMs = this.config.scheduler.drainseconds * 1000;
    const [{ unfinished }] = await Promise.all([this.scheduler.drain(drainMs), Promise.allSettled(this.listeners.map((listener) => listener.stop()))]);
    await this.results.close();
    await this.retention.stop();
    await this.warm.close();
    // A sink still busy after drainseconds must not cost the capture: it waits in the spool for the restart.
    const spooled = unfinished > 0 ? await this.delivery.spoolUnfinished(this.log) : 0;
    await this.spool.close();
    if (unfinished > 0) this.log.error({ unfinished, spooled }, 'shutdown: captures still undelivered after scheduler.drainseconds (spooled for the restart)');
    this.log.info('pcapd stopped');
    await this.root.close();
    return unfinished > 0 ? 1 : 0;
  }

  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    const stop = (signal: NodeJS.Signals): void => {
      void this.shutdown(signal).then(exit);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => void this.reload());
    process.on('uncaughtException', (err) => {
      this.log.fatal({ err }, 'uncaught exception; exiting so the supervisor restarts pcapd');
      exit(1);
    });
  }

  /**
   * The enabled sinks. Remote sinks' modules (the AWS SDK, undici) are
   * imported only when their section is enabled, at start or by the reload
   * that enables them: loaded unused they cost an idle pcapd tens of MB.
   */
  private async buildSinks(config: Config): Promise<Sink[]> {
    const sinks: Sink[] = [];
    if (config.general.writelocal) {
      await createLocalRoot(config.general.localdir);
      sinks.push(new LocalSink({ rootDir: config.general.localdir, log: this.root.log }));
    }
    if (config.s3.upload) {
      const { S3Sink } = await import('./sinks/s3.js');
      sinks.push(new S3Sink({ settings: config.s3, log: this.root.log }));
    }
    if (config.cloudshark.upload) {
      const { CloudsharkSink } = await import('./sinks/cloudshark.js');
      sinks.push(new CloudsharkSink({ settings: config.cloudshark, log: this.root.log }));
    }
    return sinks;
  }

  /** The enabled listeners, or only those named in `only`; each adapter's module (and its client library) is imported only when enabled. */
  private async buildListeners(config: Config, only?: ReadonlySet<string>): Promise<Listener[]> {
    const listeners: Listener[] = [];
    const wanted = (name: string): boolean => only === undefined || only.has(name);
    if (config.http.listen && wanted('http')) {
      const { HttpListener } = await import('./listeners/http.js');
      listeners.push(
        new HttpListener({
          config: () => this.config,
          scheduler: this.scheduler,
          metrics: this.metrics,
          log: this.root.log.child({ component: 'listener', listener: 'http' }),
          version: VERSION,
          startedAtMs: this.startedAtMs,
          warmInterfaces: () => this.warm.status(),
          capturePermission: () => this.permission,
        }),
      );
    }
    const brokerDeps = (name: string) => ({
      config: () => this.config,
      node: () => nodeName(this.config),
      log: this.root.log.child({ component: 'listener', listener: name }),
      metrics: this.metrics,
    });
    if (config.redis.listen && wanted('redis')) {
      const { RedisListener } = await import('./listeners/redis.js');
      listeners.push(new RedisListener(brokerDeps('redis')));
    }
    if (config.kafka.listen && wanted('kafka')) {
      const { KafkaListener } = await import('./listeners/kafka.js');
      listeners.push(new KafkaListener(brokerDeps('kafka')));
    }
    if (config.sqs.listen && wanted('sqs')) {
      const { SqsListener } = await import('./listeners/sqs.js');
      listeners.push(new SqsListener(brokerDeps('sqs')));
    }
    return listeners;
  }

  /** Listener names are their config sections' names. */
  private async restartListeners(sections: ReadonlySet<string>): Promise<void> {
    const kept = this.listeners.filter((listener) => !sections.has(listener.name));
    await Promise.allSettled(this.listeners.filter((listener) => sections.has(listener.name)).map((listener) => listener.stop()));
    const started = await this.buildListeners(this.config, sections);
    for (const listener of started) await listener.start(this.handleRequest);
    this.listeners = [...kept, ...started];
  }
}
