/**
 * One pino root logger. Components take `log.child({ component })`, each
 * request `log.child({ reqId })`. Lines are JSON on stdout (journald keeps
 * them under systemd); with a [syslog] section they also go to syslog through
 * util-linux `logger`, with the configured priority and tag.
 */
import { spawn } from 'node:child_process';

import pino, { type DestinationStream, type Logger } from 'pino';

export type Log = Logger;

export interface LoggerOptions {
  level?: string;
  syslog?: { priority: number; tag: string } | undefined;
  /** Tests pass a stream to read lines back. */
  destination?: DestinationStream;
}

export interface RootLogger {
  log: Log;
  close(): Promise<void>;
}

function syslogStream(priority: number, tag: string): { stream: NodeJS.WritableStream; close(): Promise<void> } | undefined {
  // `logger` turns each stdin line into one syslog message (RFC 3164 over
  // /dev/log); Node has no Unix datagram sockets of its own.
  const child = spawn('logger', ['-p', String(priority), '-t', tag], { stdio: ['pipe', 'ignore', 'ignore'] });
  const stdin = child.stdin;
  if (stdin === null) return undefined;
  // A logger that exits must never take pcapd down with an EPIPE.
  stdin.on('error', () => undefined);
  child.on('error', () => undefined);
  return {
    stream: stdin,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        stdin.end();
        setTimeout(resolve, 1000).unref();
      }),
  };
}

export function createLogger(options: LoggerOptions = {}): RootLogger {
  const level = options.level ?? process.env['PCAPD_LOG_LEVEL'] ?? 'info';
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  // Synchronous: lines stay in order and none is lost when the process exits
  // right after shutdown; pcapd logs per request, not per packet.
  const primary = options.destination ?? pino.destination({ dest: 1, sync: true });
  const syslog = options.syslog ? syslogStream(options.syslog.priority, options.syslog.tag) : undefined;
  const log = syslog
    ? pino(base, pino.multistream([{ stream: primary }, { stream: syslog.stream }]))
    : pino(base, primary);
  return {
    log,
    async close() {
      log.flush();
      await syslog?.close();
    },
  };
}
